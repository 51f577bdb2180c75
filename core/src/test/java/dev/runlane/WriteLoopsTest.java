package dev.runlane;

import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.OutboxTest.Behaviour;
import dev.runlane.OutboxTest.FakeConnection;
import dev.runlane.OutboxTest.RecordingOwner;
import dev.runlane.engine.EncodedFrame;
import dev.runlane.transport.Capability;
import dev.runlane.transport.Frame;
import dev.runlane.transport.SendCallback;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link WriteLoops}: outboxes drained by write threads lose, duplicate and reorder nothing, never
 * send concurrently on one transport, batch what piles up into one flush, and fall back to the
 * pushing thread when an outbox is far behind or a lone recipient's push comes on a quiet node.
 */
class WriteLoopsTest {
  final RecordingOwner owner = new RecordingOwner();
  WriteLoops loops;

  @AfterEach
  void stop() {
    if (loops != null) {
      loops.stop();
    }
  }

  static EncodedFrame frame(String text) {
    return new EncodedFrame(Frame.stream(text), null);
  }

  /** A fake transport that batches (rule T2.7) and records which thread sent and how often it flushed. */
  static final class BatchingConnection extends FakeConnection {
    final AtomicInteger flushes = new AtomicInteger();
    final List<String> senders = java.util.Collections.synchronizedList(new ArrayList<>());
    volatile CountDownLatch gate = new CountDownLatch(0);
    /** Run once inside the next {@link #flush()}, on the draining thread. */
    volatile @org.jspecify.annotations.Nullable Runnable onFlush;

    BatchingConnection(String id) {
      super(id, Behaviour.SYNC);
    }

    @Override
    public void send(Frame frame, SendCallback callback) {
      senders.add(Thread.currentThread().getName());
      try {
        gate.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      super.send(frame, callback);
    }

    @Override
    public void flush() {
      flushes.incrementAndGet();
      Runnable r = onFlush;
      if (r != null) {
        onFlush = null;
        r.run();
      }
    }

    @Override
    public Set<Capability> capabilities() {
      return Set.of(Capability.BATCHING);
    }
  }

  static void await(BooleanSupplier done, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!done.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
      Thread.sleep(1);
    }
  }

  @Test
  void aPushedFrameIsWrittenByTheWriteThreadAndACommandReplyByTheCaller() throws Exception {
    loops = new WriteLoops(1, "wl-test-");
    BatchingConnection t = new BatchingConnection("c");
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 16, 1000, null, loops.loopFor("c"));
    o.enqueue(frame("pushed"));
    o.flushSoon(false);
    await(() -> t.sent.size() == 1, "the pushed frame");
    assertEquals("wl-test-0", t.senders.get(0));
    // the write thread may still hold the outbox's pipe just after its send: a flush() then leaves
    // the reply to it (by design), so let it finish its pass before the caller's turn
    loops.pauseAndSettle(5_000);
    loops.resume();
    o.enqueue(frame("reply"));
    o.flush();
    assertEquals(List.of("pushed", "reply"), t.sent, "flush() sends before it returns when no other thread drains");
    assertEquals(Thread.currentThread().getName(), t.senders.get(1));
  }

  /**
   * A run's lone recipient: while its loop's window has inline budget left, the pushing thread writes
   * (no wake-up); past it, the rest of the window's pushes go to the write thread, and so do the next
   * window's (the rate is high); after a quiet window the pusher writes again. Order holds across the
   * two paths.
   */
  @Test
  void aLoneRecipientsPushesAreWrittenInlineUpToTheWindowsBudgetThenByTheWriteThread() throws Exception {
    java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong(5L << 20);
    loops = new WriteLoops(1, "wl-test-", 2, now::get);
    BatchingConnection t = new BatchingConnection("c");
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 16, 1000, null, loops.loopFor("c"));
    String me = Thread.currentThread().getName();
    for (int i = 0; i < 3; i++) {
      o.enqueue(frame("a" + i));
      o.flushSoon(true);
    }
    await(() -> t.sent.size() == 3, "the third frame");
    assertEquals(List.of(me, me, "wl-test-0"), t.senders, "two inline, then the write thread");
    await(() -> t.flushes.get() == 3, "each drain to end with a flush, inline ones too");
    await(() -> loops.loopFor("c").idle(), "the write thread to finish its drain");
    now.addAndGet(1L << 20); // the next window: the one before was busy (3 pushes > 2)
    o.enqueue(frame("b"));
    o.flushSoon(true);
    await(() -> t.sent.size() == 4, "b");
    assertEquals("wl-test-0", t.senders.get(3), "right after a busy window, an idle write thread still takes it");
    await(() -> loops.loopFor("c").idle(), "the write thread to finish its drain");
    now.addAndGet(2L << 20); // a window with no push in between: quiet again
    o.enqueue(frame("c"));
    o.flushSoon(true);
    assertEquals(List.of("a0", "a1", "a2", "b", "c"), t.sent, "inline again: sent before flushSoon returns");
    assertEquals(me, t.senders.get(4));
  }

  /**
   * A stale clock reading (a pusher preempted after reading it) does not move the window back and
   * reopen the gate in a busy window: it is counted in the current one.
   */
  @Test
  void aStaleClockReadingDoesNotReopenABusyWindow() throws Exception {
    java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong(5L << 20);
    loops = new WriteLoops(1, "wl-test-", 2, now::get);
    BatchingConnection t = new BatchingConnection("c");
    Outbox o = new Outbox(owner, t, 100_000, Long.MAX_VALUE, 16, 100_000, null, loops.loopFor("c"));
    int sent = 0;
    for (int i = 0; i < 10; i++) { // window 5: busy
      o.enqueue(frame("w5-" + i));
      o.flushSoon(true);
    }
    sent += 10;
    now.set(6L << 20); // window 6: right after a busy one
    o.enqueue(frame("w6-a"));
    o.flushSoon(true);
    now.set(5L << 20); // a stale reading
    o.enqueue(frame("stale"));
    o.flushSoon(true);
    now.set(6L << 20);
    await(() -> t.sent.size() == 12 && loops.loopFor("c").idle(), "the write thread to be idle again");
    for (int i = 0; i < 10; i++) {
      o.enqueue(frame("w6-" + i));
      o.flushSoon(true);
    }
    sent += 12;
    int total = sent;
    await(() -> t.sent.size() == total, "every frame");
    String me = Thread.currentThread().getName();
    assertEquals(2, t.senders.stream().filter(me::equals).count(), "only window 5's budget was written inline: " + t.senders);
  }

  /** While the write thread is at work, a lone recipient's push joins it, budget or not. */
  @Test
  void aLoneRecipientsPushGoesToABusyWriteThread() throws Exception {
    loops = new WriteLoops(1, "wl-test-", 1_000, () -> 0L);
    BatchingConnection blocked = new BatchingConnection("x");
    Outbox blocker = new Outbox(owner, blocked, 1000, Long.MAX_VALUE, 16, 1000, null, loops.loopFor("x"));
    BatchingConnection t = new BatchingConnection("c");
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 16, 1000, null, loops.loopFor("c"));
    blocked.gate = new CountDownLatch(1);
    blocker.enqueue(frame("held"));
    blocker.flushSoon(false);
    await(() -> blocked.senders.size() == 1, "the write thread to be inside a send");
    o.enqueue(frame("lone"));
    o.flushSoon(true);
    assertTrue(t.sent.isEmpty(), "not written by the pusher");
    blocked.gate.countDown();
    await(() -> t.sent.size() == 1, "the frame");
    assertEquals(List.of("wl-test-0"), t.senders);
  }

  /** A push to several recipients (a fan-out) goes to the write thread even on a quiet node. */
  @Test
  void aPushToSeveralRecipientsGoesToTheWriteThreadEvenWhenQuiet() throws Exception {
    loops = new WriteLoops(1, "wl-test-", 1_000, () -> 0L);
    BatchingConnection t = new BatchingConnection("c");
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 16, 1000, null, loops.loopFor("c"));
    o.enqueue(frame("fan"));
    o.flushSoon(false);
    await(() -> t.sent.size() == 1, "the frame");
    assertEquals(List.of("wl-test-0"), t.senders);
  }

  /** With no inline budget (0), even a lone recipient's push goes to the write thread. */
  @Test
  void withNoInlineBudgetALoneRecipientsPushGoesToTheWriteThread() throws Exception {
    loops = new WriteLoops(1, "wl-test-", 0, () -> 0L);
    BatchingConnection t = new BatchingConnection("c");
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 16, 1000, null, loops.loopFor("c"));
    o.enqueue(frame("lone"));
    o.flushSoon(true);
    await(() -> t.sent.size() == 1, "the frame");
    assertEquals(List.of("wl-test-0"), t.senders);
  }

  /**
   * A frame pushed while the write thread finishes a drain (here: from another thread, inside the
   * transport's flush, after the drain's last look at the queue) is not stranded: the outbox is
   * unmarked before it is drained, so that push queues it again.
   */
  @Test
  void aFramePushedAtTheEndOfADrainIsNotStranded() throws Exception {
    loops = new WriteLoops(1, "wl-test-");
    BatchingConnection t = new BatchingConnection("c");
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 16, 1000, null, loops.loopFor("c"));
    t.onFlush =
        () -> {
          Thread other =
              new Thread(
                  () -> {
                    o.enqueue(frame("late"));
                    o.flushSoon(false);
                  });
          other.start();
          try {
            other.join(10_000);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        };
    o.enqueue(frame("first"));
    o.flushSoon(false);
    await(() -> t.sent.size() == 2, "the late frame");
    assertEquals(List.of("first", "late"), t.sent);
  }

  @Test
  void framesThatPileUpWhileTheWriterIsBusyLeaveInOneFlush() throws Exception {
    loops = new WriteLoops(1, "wl-test-");
    BatchingConnection busy = new BatchingConnection("busy");
    BatchingConnection t = new BatchingConnection("c");
    // both on the one loop: while it is stuck writing to "busy", frames for "c" pile up
    Outbox blocker = new Outbox(owner, busy, 1000, Long.MAX_VALUE, 16, 1000, null, loops.loopFor("busy"));
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 16, 1000, null, loops.loopFor("c"));
    busy.gate = new CountDownLatch(1);
    blocker.enqueue(frame("x"));
    blocker.flushSoon(false);
    await(() -> busy.senders.size() == 1, "the writer to block");
    int n = 50;
    for (int i = 0; i < n; i++) {
      o.enqueue(frame("f" + i));
      o.flushSoon(false);
    }
    assertEquals(0, t.sent.size(), "nothing is written by the pushing thread below the inline backlog");
    busy.gate.countDown();
    await(() -> t.sent.size() == n, "the batch");
    await(() -> loops.loopFor("c").idle(), "the drain to end"); // its flush comes after the sends
    assertEquals(1, t.flushes.get(), "the pile-up went out with one flush");
    for (int i = 0; i < n; i++) {
      assertEquals("f" + i, t.sent.get(i));
    }
  }

  @Test
  void anOutboxFarBehindIsDrainedByThePushingThread() throws Exception {
    loops = new WriteLoops(1, "wl-test-");
    BatchingConnection busy = new BatchingConnection("busy");
    BatchingConnection t = new BatchingConnection("c");
    Outbox blocker = new Outbox(owner, busy, 1000, Long.MAX_VALUE, 16, 1000, null, loops.loopFor("busy"));
    Outbox o = new Outbox(owner, t, 10_000, Long.MAX_VALUE, 10_000, 10_000, null, loops.loopFor("c"));
    busy.gate = new CountDownLatch(1);
    blocker.enqueue(frame("x"));
    blocker.flushSoon(false);
    await(() -> busy.senders.size() == 1, "the writer to block");
    for (int i = 0; i < WriteLoops.INLINE_BACKLOG; i++) {
      o.enqueue(frame("f" + i));
      o.flushSoon(false);
    }
    assertEquals(WriteLoops.INLINE_BACKLOG, t.sent.size(), "the push that reached the backlog drained it");
    assertEquals(Thread.currentThread().getName(), t.senders.get(0));
    busy.gate.countDown();
  }

  /**
   * With a small frame bound the pushing thread drains itself at half of it, not at {@link
   * WriteLoops#INLINE_BACKLOG}: a write thread stuck elsewhere cannot make the connection overflow
   * (and be closed as a slow consumer) while the pushing thread could have written.
   */
  @Test
  void withASmallFrameBoundThePushingThreadDrainsAtHalfOfIt() throws Exception {
    loops = new WriteLoops(1, "wl-test-");
    BatchingConnection busy = new BatchingConnection("busy");
    BatchingConnection t = new BatchingConnection("c");
    Outbox blocker = new Outbox(owner, busy, 1000, Long.MAX_VALUE, 16, 1000, null, loops.loopFor("busy"));
    Outbox o = new Outbox(owner, t, 20, Long.MAX_VALUE, 16, 20, null, loops.loopFor("c"));
    busy.gate = new CountDownLatch(1);
    blocker.enqueue(frame("x"));
    blocker.flushSoon(false);
    await(() -> busy.senders.size() == 1, "the writer to block");
    for (int i = 0; i < 100; i++) {
      assertTrue(o.enqueue(frame("f" + i)), "frame " + i + " queued: the outbox never overflows");
      o.flushSoon(false);
    }
    assertEquals(100, t.sent.size(), "the pushing thread wrote them");
    assertTrue(owner.reasons.isEmpty(), "no slow-consumer close: " + owner.reasons);
    busy.gate.countDown();
  }

  /**
   * Seeded interleavings: pushing threads, command replies flushed inline and asynchronous
   * completions on many outboxes over two write threads. Every frame arrives once, in each
   * producer's order, and no transport ever sees two sends at once (rule T2.5).
   */
  @Test
  void randomInterleavingsLoseDuplicateOrReorderNothing() throws Exception {
    long seed = Long.getLong("runlane.stress.seed", System.nanoTime());
    String seedInfo = "seed " + seed + " (rerun with -Drunlane.stress.seed=" + seed + ")";
    for (int round = 0; round < 6; round++) {
      Random rnd = new Random(seed + round);
      WriteLoops wl = new WriteLoops(2, "wl-stress-", rnd.nextInt(4), System::nanoTime);
      try {
        int conns = 2 + rnd.nextInt(8);
        List<FakeConnection> ts = new ArrayList<>();
        List<Outbox> os = new ArrayList<>();
        for (int c = 0; c < conns; c++) {
          FakeConnection t = new FakeConnection("c" + c, rnd.nextBoolean() ? Behaviour.SYNC : Behaviour.HOLD);
          ts.add(t);
          os.add(new Outbox(owner, t, 1_000_000, Long.MAX_VALUE, 1 + rnd.nextInt(16), 1_000_000, null, wl.loopFor(t.id)));
        }
        int producers = 3;
        int perProducer = 2_000;
        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
          int id = p;
          long pseed = rnd.nextLong();
          threads.add(
              new Thread(
                  () -> {
                    Random r = new Random(pseed);
                    try {
                      go.await();
                      for (int i = 0; i < perProducer; i++) {
                        Outbox o = os.get(r.nextInt(conns));
                        o.enqueue(frame(id + ":" + i));
                        if (r.nextInt(10) == 0) {
                          o.flush(); // a command reply, inline
                        } else {
                          o.flushSoon(r.nextBoolean()); // a lone recipient's push may be written here
                        }
                        if (r.nextInt(200) == 0) {
                          Thread.yield();
                        }
                      }
                    } catch (Throwable e) {
                      failure.compareAndSet(null, e);
                    }
                  }));
        }
        long total = (long) producers * perProducer;
        Thread completer =
            new Thread(
                () -> {
                  try {
                    go.await();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                    while (System.nanoTime() < deadline) {
                      boolean any = false;
                      for (FakeConnection t : ts) {
                        any |= t.completeNext();
                      }
                      long delivered = 0;
                      for (Outbox o : os) {
                        delivered += o.delivered();
                      }
                      if (delivered == total) {
                        return;
                      }
                      if (!any) {
                        Thread.onSpinWait();
                      }
                    }
                    throw new AssertionError("not every frame was delivered in time");
                  } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                  }
                });
        threads.add(completer);
        threads.forEach(Thread::start);
        go.countDown();
        for (Thread th : threads) {
          th.join(TimeUnit.SECONDS.toMillis(90));
          assertFalse(th.isAlive(), "a thread hung; " + seedInfo);
        }
        if (failure.get() != null) {
          throw new AssertionError(seedInfo, failure.get());
        }
        long sent = 0;
        for (FakeConnection t : ts) {
          assertEquals(1, t.maxInside.get(), "rule T2.5: concurrent sends on " + t.id + "; " + seedInfo);
          int[] next = new int[producers];
          java.util.Arrays.fill(next, -1);
          for (String s : t.sent) {
            int colon = s.indexOf(':');
            int p = Integer.parseInt(s.substring(0, colon));
            int i = Integer.parseInt(s.substring(colon + 1));
            assertTrue(i > next[p], "producer " + p + " reordered or duplicated on " + t.id + "; " + seedInfo);
            next[p] = i;
          }
          sent += t.sent.size();
        }
        assertEquals(total, sent, "frames lost or sent twice; " + seedInfo);
        assertEquals(List.of(), owner.reasons, seedInfo);
      } finally {
        wl.stop();
      }
    }
  }

  @Test
  void stopEndsTheThreads() throws Exception {
    loops = new WriteLoops(2, "wl-stop-");
    loops.stop();
    loops = null;
    await(
        () -> Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().startsWith("wl-stop-")),
        "the write threads to end");
  }
}
