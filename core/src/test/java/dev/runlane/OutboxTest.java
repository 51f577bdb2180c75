package dev.runlane;

import dev.runlane.engine.EncodedFrame;

import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Payload;
import dev.runlane.transport.SendCallback;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** Unit tests of the package-private {@link Outbox}: lanes, in-flight bound, limits, coalescing. */
class OutboxTest {

  /** What the fake transport does inside {@code send}. */
  enum Behaviour {
    /** Holds the callback until the test completes it. */
    HOLD,
    /** Completes successfully inside {@code send} (a synchronous completion). */
    SYNC,
    /** Completes successfully twice inside {@code send} (a broken transport, rule T2.2). */
    SYNC_TWICE,
    /** Throws from {@code send}. */
    THROW,
    /** Fails inside {@code send}. */
    FAIL
  }

  /** A tiny fake transport that records sends and counts concurrent / re-entrant sends. */
  static class FakeConnection implements Connection {
    final String id;
    volatile Behaviour behaviour;
    final List<String> sent = Collections.synchronizedList(new ArrayList<>());
    final ArrayDeque<SendCallback> held = new ArrayDeque<>(); // guarded by this
    final AtomicInteger inside = new AtomicInteger();
    final AtomicInteger maxInside = new AtomicInteger();

    FakeConnection(String id, Behaviour behaviour) {
      this.id = id;
      this.behaviour = behaviour;
    }

    @Override
    public String id() {
      return id;
    }

    @Override
    public String principal() {
      return "p";
    }

    @Override
    public void send(Frame frame, SendCallback callback) {
      int now = inside.incrementAndGet();
      maxInside.accumulateAndGet(now, Math::max);
      try {
        sent.add(((Payload.Text) frame.payload()).text());
        switch (behaviour) {
          case HOLD:
            synchronized (this) {
              held.addLast(callback);
            }
            break;
          case SYNC:
            callback.succeeded();
            break;
          case SYNC_TWICE:
            callback.succeeded();
            callback.succeeded();
            break;
          case THROW:
            throw new IllegalStateException("scripted throw");
          case FAIL:
            callback.failed(new java.io.IOException("scripted failure"));
            break;
        }
      } finally {
        inside.decrementAndGet();
      }
    }

    /** Completes the oldest held send; false if none. */
    boolean completeNext() {
      SendCallback cb;
      synchronized (this) {
        cb = held.pollFirst();
      }
      if (cb == null) {
        return false;
      }
      cb.succeeded();
      return true;
    }

    synchronized int heldCount() {
      return held.size();
    }

    @Override
    public void close(CloseReason reason) {}

    @Override
    public void terminate() {}

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public Set<Capability> capabilities() {
      return Set.of(Capability.STREAM_TRANSPORT);
    }
  }

  /** Records what the outbox reports to its connection. */
  static final class RecordingOwner implements OutboxOwner {
    final List<CloseReason> reasons = Collections.synchronizedList(new ArrayList<>());
    final List<@Nullable Throwable> causes = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void deliveryFailed(CloseReason reason, @Nullable Throwable cause) {
      reasons.add(reason);
      causes.add(cause);
    }
  }

  final RecordingOwner owner = new RecordingOwner();

  static EncodedFrame stream(String text) {
    return new EncodedFrame(Frame.stream(text), null);
  }

  static EncodedFrame control(String text) {
    return new EncodedFrame(Frame.control(text), null);
  }

  static EncodedFrame status(String key, String text) {
    return new EncodedFrame(Frame.stream(text), key);
  }

  @Test
  void controlOvertakesALongStreamBacklog() {
    FakeConnection t = new FakeConnection("c", Behaviour.HOLD);
    Outbox o = new Outbox(owner, t, 100_000, Long.MAX_VALUE, 2);
    for (int i = 0; i < 10_000; i++) {
      assertTrue(o.enqueue(stream("s" + i)));
    }
    o.flush();
    assertEquals(List.of("s0", "s1"), t.sent, "only maxInFlight sends go out");
    assertTrue(o.enqueue(control("ack")));
    o.flush(); // nothing may go: the in-flight limit is reached
    assertEquals(2, t.sent.size());
    assertTrue(t.completeNext());
    assertEquals("ack", t.sent.get(2), "the control frame is the next send after a completion");
    assertTrue(t.completeNext());
    assertEquals("s2", t.sent.get(3), "then the stream backlog continues in order");
    while (t.completeNext()) {
      // drain everything
    }
    assertEquals(10_001, t.sent.size());
    for (int i = 2; i < 10_000; i++) {
      assertEquals("s" + i, t.sent.get(i + 1), "stream order kept at " + i);
    }
    assertEquals(0, o.queuedFrames());
    assertEquals(0, o.inFlight());
    assertEquals(10_001, o.delivered());
    assertTrue(owner.reasons.isEmpty());
  }

  @Test
  void atMostMaxInFlightSendsOutstanding() {
    FakeConnection t = new FakeConnection("c", Behaviour.HOLD);
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 3);
    for (int i = 0; i < 10; i++) {
      o.enqueue(stream("s" + i));
      o.flush();
      assertTrue(t.heldCount() <= 3, "in flight " + t.heldCount());
    }
    assertEquals(3, t.heldCount());
    assertEquals(3, o.inFlight());
    assertEquals(7, o.queuedFrames());
    assertTrue(t.completeNext());
    assertEquals(3, t.heldCount(), "a completion lets exactly one more go");
    assertEquals(4, t.sent.size());
    assertEquals(6, o.queuedFrames());
    assertEquals(1, o.delivered());
  }

  @Test
  void maxInFlightOfOneSendsStrictlyOneAtATime() {
    FakeConnection t = new FakeConnection("c", Behaviour.HOLD);
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 1);
    for (int i = 0; i < 5; i++) {
      o.enqueue(stream("s" + i));
    }
    o.flush();
    o.flush();
    assertEquals(1, t.sent.size());
    for (int i = 1; i < 5; i++) {
      assertTrue(t.completeNext());
      assertEquals(i + 1, t.sent.size());
      assertEquals(1, t.heldCount());
    }
  }

  @Test
  void synchronousCompletionDoesNotRecurseEvenWith100kFrames() {
    FakeConnection t = new FakeConnection("c", Behaviour.SYNC);
    Outbox o = new Outbox(owner, t, 200_000, Long.MAX_VALUE, 4);
    for (int i = 0; i < 100_000; i++) {
      o.enqueue(stream("s" + i));
    }
    o.flush(); // a recursive drain would overflow the stack here
    assertEquals(100_000, t.sent.size());
    assertEquals(1, t.maxInside.get(), "send re-entered from its own synchronous completion");
    assertEquals(100_000, o.delivered());
    assertEquals(0, o.inFlight());
    assertEquals(0, o.queuedFrames());
    for (int i = 0; i < 100_000; i += 9_999) {
      assertEquals("s" + i, t.sent.get(i));
    }
  }

  @Test
  void neverConcurrentSendsUnderConcurrentFlushesAndAsyncCompletions() throws Exception {
    FakeConnection t = new FakeConnection("c", Behaviour.HOLD);
    Outbox o = new Outbox(owner, t, 1_000_000, Long.MAX_VALUE, 8);
    int producers = 4;
    int perProducer = 5_000;
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int p = 0; p < producers; p++) {
      int id = p;
      threads.add(
          new Thread(
              () -> {
                awaitQuietly(start);
                for (int i = 0; i < perProducer; i++) {
                  o.enqueue(stream(id + ":" + i));
                  o.flush();
                }
              }));
    }
    int total = producers * perProducer;
    Thread completer =
        new Thread(
            () -> {
              awaitQuietly(start);
              long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
              while (o.delivered() < total && System.nanoTime() < deadline) {
                if (!t.completeNext()) {
                  Thread.onSpinWait();
                }
              }
            });
    threads.add(completer);
    threads.forEach(Thread::start);
    start.countDown();
    for (Thread th : threads) {
      th.join(TimeUnit.SECONDS.toMillis(60));
    }
    assertEquals(total, o.delivered());
    assertEquals(total, t.sent.size(), "no frame sent twice or lost");
    assertEquals(1, t.maxInside.get(), "rule T2.5: send was called concurrently");
    // per producer order is kept
    int[] next = new int[producers];
    for (String s : t.sent) {
      int colon = s.indexOf(':');
      int p = Integer.parseInt(s.substring(0, colon));
      int i = Integer.parseInt(s.substring(colon + 1));
      assertEquals(next[p], i, "order of producer " + p);
      next[p]++;
    }
  }

  @Test
  void aCallbackFiredTwiceCountsOnce() {
    FakeConnection t = new FakeConnection("c", Behaviour.SYNC_TWICE);
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 1);
    for (int i = 0; i < 5; i++) {
      o.enqueue(stream("s" + i));
    }
    o.flush();
    assertEquals(5, t.sent.size());
    assertEquals(5, o.delivered(), "each frame delivered once");
    assertEquals(0, o.inFlight(), "in-flight never went negative or stuck");
    assertEquals(1, t.maxInside.get());
    assertTrue(owner.reasons.isEmpty());
  }

  @Test
  void aHeldCallbackFiredTwiceDoesNotOpenASecondSlot() {
    FakeConnection t = new FakeConnection("c", Behaviour.HOLD);
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 1);
    for (int i = 0; i < 3; i++) {
      o.enqueue(stream("s" + i));
    }
    o.flush();
    SendCallback first;
    synchronized (t) {
      first = t.held.pollFirst();
    }
    assertNotNull(first);
    first.succeeded();
    first.succeeded(); // broken transport: would free a second slot if counted
    first.failed(new RuntimeException("late"));
    assertEquals(2, t.sent.size(), "only one more send after one real completion");
    assertEquals(1, o.inFlight());
    assertEquals(1, o.delivered());
    assertTrue(owner.reasons.isEmpty(), "a late failure after success is ignored");
  }

  @Test
  void aThrowingSendIsReportedOnceAsSendFailedAndNeverThrowsToTheFlusher() {
    FakeConnection t = new FakeConnection("c", Behaviour.THROW);
    Outbox[] self = new Outbox[1];
    Outbox o =
        new Outbox(
            (reason, cause) -> {
              owner.deliveryFailed(reason, cause);
              self[0].close(); // as ConnectionState does
            },
            t, 1000, Long.MAX_VALUE, 4);
    self[0] = o;
    o.enqueue(stream("a"));
    o.enqueue(stream("b"));
    o.enqueue(stream("c"));
    assertDoesNotThrow(o::flush);
    assertEquals(List.of("a"), t.sent, "no send after the failure");
    assertEquals(List.of(CloseReason.SEND_FAILED), owner.reasons);
    assertInstanceOf(IllegalStateException.class, owner.causes.get(0));
    assertEquals(0, o.inFlight(), "the thrown send's slot is released");
    assertEquals(0, o.delivered());
  }

  @Test
  void aFailedSendIsReportedAsSendFailedWithItsCause() {
    FakeConnection t = new FakeConnection("c", Behaviour.FAIL);
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 4);
    o.enqueue(stream("a"));
    o.flush();
    assertEquals(List.of(CloseReason.SEND_FAILED), owner.reasons);
    assertInstanceOf(java.io.IOException.class, owner.causes.get(0));
    assertEquals(0, o.delivered());
  }

  @Test
  void frameOverflowCountsInFlightFramesAndIsReportedOnce() {
    FakeConnection t = new FakeConnection("c", Behaviour.HOLD);
    Outbox o = new Outbox(owner, t, 5, Long.MAX_VALUE, 1);
    assertTrue(o.enqueue(stream("s0")));
    o.flush(); // s0 in flight: it still counts against the one limit (issue 12 item 8)
    for (int i = 1; i <= 4; i++) {
      assertTrue(o.enqueue(stream("s" + i)), "within the bound at " + i);
    }
    assertEquals(4, o.queuedFrames());
    assertEquals(1, o.inFlight());
    assertFalse(o.enqueue(stream("s5")), "in flight + queued would be six: overflow");
    assertTrue(owner.reasons.isEmpty(), "reported at flush, outside any lock");
    o.flush();
    o.flush();
    assertFalse(o.enqueue(stream("s7")));
    o.flush();
    assertEquals(List.of(CloseReason.SLOW_CONSUMER), owner.reasons, "reported exactly once");
    assertTrue(o.isClosed());
    assertEquals(0, o.queuedFrames());
    assertEquals(0, o.queuedBytes());
    assertTrue(t.completeNext());
    assertEquals(List.of("s0"), t.sent, "nothing is sent after the overflow");
  }

  @Test
  void byteOverflowIsReportedOnceAsSlowConsumer() {
    FakeConnection t = new FakeConnection("c", Behaviour.HOLD);
    Outbox o = new Outbox(owner, t, 1000, 100, 1);
    String thirty = "x".repeat(30);
    assertTrue(o.enqueue(stream(thirty)));
    o.flush(); // in flight: does not count against the queue bytes
    assertTrue(o.enqueue(stream(thirty)));
    assertTrue(o.enqueue(stream(thirty)));
    assertTrue(o.enqueue(stream(thirty)));
    assertEquals(90, o.queuedBytes());
    assertTrue(o.enqueue(stream("y".repeat(10))), "exactly at the byte bound is allowed");
    assertEquals(100, o.queuedBytes());
    assertFalse(o.enqueue(stream("z")));
    o.flush();
    assertFalse(o.enqueue(control("late")));
    o.flush();
    assertEquals(List.of(CloseReason.SLOW_CONSUMER), owner.reasons);
  }

  @Test
  void coalescingReplacesInPlaceAndKeepsPosition() {
    FakeConnection t = new FakeConnection("c", Behaviour.HOLD);
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 1);
    o.enqueue(stream("d0"));
    o.flush(); // d0 in flight
    o.enqueue(status("k", "k=1"));
    o.enqueue(stream("d1"));
    o.enqueue(status("k", "k=2"));
    o.enqueue(status("other", "o=1"));
    o.enqueue(stream("d2"));
    assertTrue(o.enqueue(status("k", "k=333")));
    assertEquals(4, o.queuedFrames(), "replacements do not add frames");
    assertEquals("k=333".length() + 2 + 3 + 2, o.queuedBytes(), "bytes follow the replacement");
    // once sent, a new status with the same key queues at the end
    assertTrue(t.completeNext()); // d0 done, the k status goes out now
    assertEquals("k=333", t.sent.get(1));
    o.enqueue(status("k", "k=4"));
    while (t.completeNext()) {
      // drain
    }
    assertEquals(List.of("d0", "k=333", "d1", "o=1", "d2", "k=4"), t.sent);
    assertEquals(0, o.queuedBytes());
  }

  @Test
  void pairStreamIsRefusedOnceStreamFramesWereQueued() {
    FakeConnection t = new FakeConnection("c", Behaviour.SYNC);
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 4);
    o.enqueue(control("welcome"));
    o.flush();
    o.enqueue(stream("s1"));
    o.flush();
    assertFalse(o.pairStream(new FakeConnection("late", Behaviour.SYNC)));
    assertNull(o.streamPipe());
  }

  @Test
  void pairedStreamTransportCarriesOnlyTheStreamLane() {
    FakeConnection primary = new FakeConnection("c", Behaviour.SYNC);
    FakeConnection streamT = new FakeConnection("c-s", Behaviour.HOLD);
    Outbox o = new Outbox(owner, primary, 1000, Long.MAX_VALUE, 2);
    o.enqueue(control("welcome"));
    o.flush();
    assertTrue(o.pairStream(streamT));
    assertFalse(o.pairStream(new FakeConnection("second", Behaviour.SYNC)), "only one pairing");
    for (int i = 0; i < 5; i++) {
      o.enqueue(stream("s" + i));
      o.enqueue(control("c" + i));
      o.flush();
    }
    assertEquals(List.of("welcome", "c0", "c1", "c2", "c3", "c4"), primary.sent);
    assertEquals(List.of("s0", "s1"), streamT.sent, "stream pipe has its own in-flight bound");
    assertEquals(2, o.inFlight());
    while (streamT.completeNext()) {
      // drain
    }
    assertEquals(List.of("s0", "s1", "s2", "s3", "s4"), streamT.sent);
  }

  @Test
  void afterCloseNothingIsQueuedOrSent() {
    FakeConnection t = new FakeConnection("c", Behaviour.HOLD);
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 1);
    o.enqueue(stream("a"));
    o.enqueue(stream("b"));
    o.flush();
    o.close();
    assertFalse(o.enqueue(stream("c")));
    assertFalse(o.pairStream(new FakeConnection("s", Behaviour.SYNC)));
    assertTrue(t.completeNext());
    o.flush();
    assertEquals(List.of("a"), t.sent);
    assertEquals(0, o.queuedFrames());
    assertTrue(owner.reasons.isEmpty(), "a close by the owner is not reported back");
  }

  @Test
  void replayedFramesDoNotCountAgainstTheLiveBounds() {
    FakeConnection t = new FakeConnection("c", Behaviour.HOLD);
    Outbox o = new Outbox(owner, t, 5, 1_000, 1, 100, null, null);
    for (int i = 1; i <= 50; i++) {
      assertTrue(o.enqueueReplay(stream("r" + i + "-" + "x".repeat(40))), "replay " + i);
    }
    for (int i = 0; i < 5; i++) {
      assertTrue(o.enqueue(stream("live" + i)), "live frames have their own bound: " + i);
    }
    assertEquals(55, o.queuedFrames(), "stats count everything queued");
    assertFalse(o.enqueue(stream("live5")), "the live bound still holds");
    o.flush();
    assertEquals(List.of(CloseReason.SLOW_CONSUMER), owner.reasons);
  }

  @Test
  void replayAndLiveFramesShareOneOrderedStreamLane() {
    FakeConnection t = new FakeConnection("c", Behaviour.SYNC);
    Outbox o = new Outbox(owner, t, 2, 1_000, 1, 10, null, null);
    o.enqueue(control("ack"));
    o.enqueueReplay(stream("r1"));
    o.enqueueReplay(stream("r2"));
    o.enqueue(stream("live"));
    o.enqueueReplay(stream("r3"));
    o.flush();
    assertEquals(List.of("ack", "r1", "r2", "live", "r3"), t.sent);
    assertEquals(0, o.queuedFrames());
    assertEquals(0, o.queuedBytes());
    // the counters went back to zero: the full live bound is available again
    assertTrue(o.enqueue(stream("a")) && o.enqueue(stream("b")));
  }

  @Test
  void theReplayBacklogIsBoundedToo() {
    FakeConnection t = new FakeConnection("c", Behaviour.HOLD);
    Outbox o = new Outbox(owner, t, 5, 1_000, 1, 3, null, null);
    assertTrue(o.enqueueReplay(stream("r1")));
    assertTrue(o.enqueueReplay(stream("r2")));
    assertTrue(o.enqueueReplay(stream("r3")));
    assertFalse(o.enqueueReplay(stream("r4")), "a client re-subscribing without reading is bounded");
    o.flush();
    assertEquals(List.of(CloseReason.SLOW_CONSUMER), owner.reasons);
    assertTrue(o.isClosed());
  }

  private static void awaitQuietly(CountDownLatch l) {
    try {
      l.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ------------------------------------------------------------------ write batching (rule T2.7)

  /** A transport that records sends and flushes in one log; it may batch, hold or throw. */
  static final class BatchingConnection implements Connection {
    final List<String> log = Collections.synchronizedList(new ArrayList<>());
    final ArrayDeque<SendCallback> held = new ArrayDeque<>(); // guarded by this
    final Set<Capability> caps;
    final boolean hold;
    volatile boolean throwOnFlush;
    /** Completes every held send inside flush(), as a stack that writes the batch at once may. */
    volatile boolean completeOnFlush;

    BatchingConnection(Set<Capability> caps, boolean hold) {
      this.caps = caps;
      this.hold = hold;
    }

    @Override
    public String id() {
      return "b";
    }

    @Override
    public String principal() {
      return "p";
    }

    @Override
    public void send(Frame frame, SendCallback callback) {
      log.add(((Payload.Text) frame.payload()).text());
      if (hold) {
        synchronized (this) {
          held.addLast(callback);
        }
      } else {
        callback.succeeded(); // as Jetty completes a frame once it is in the batch
      }
    }

    @Override
    public void flush() {
      log.add("flush");
      if (throwOnFlush) {
        throw new IllegalStateException("scripted flush failure");
      }
      if (completeOnFlush) {
        while (completeNext()) {
          // completed on the draining thread, inside flush (rule T2.3 allows it)
        }
      }
    }

    boolean completeNext() {
      SendCallback cb;
      synchronized (this) {
        cb = held.pollFirst();
      }
      if (cb == null) {
        return false;
      }
      cb.succeeded();
      return true;
    }

    @Override
    public void close(CloseReason reason) {}

    @Override
    public void terminate() {}

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public Set<Capability> capabilities() {
      return caps;
    }
  }

  @Test
  void aDrainEndsWithOneFlushOnABatchingTransport() {
    BatchingConnection t = new BatchingConnection(Set.of(Capability.BATCHING), false);
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 64);
    for (int i = 0; i < 5; i++) {
      o.enqueue(stream("s" + i));
    }
    o.enqueue(control("ack"));
    o.flush();
    assertEquals(List.of("ack", "s0", "s1", "s2", "s3", "s4", "flush"), t.log, "one flush, after the drain's last send");
    o.enqueue(stream("lone"));
    o.flush();
    assertEquals(List.of("lone", "flush"), t.log.subList(7, 9), "a lone frame is flushed at once");
    o.flush();
    assertEquals(9, t.log.size(), "nothing sent, nothing flushed");
    assertEquals(7, o.delivered());
    assertTrue(owner.reasons.isEmpty());
  }

  @Test
  void aDrainStoppedByTheInFlightLimitFlushesWhatItSent() {
    BatchingConnection t = new BatchingConnection(Set.of(Capability.BATCHING), true);
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 2);
    for (int i = 0; i < 5; i++) {
      o.enqueue(stream("s" + i));
    }
    o.flush();
    assertEquals(List.of("s0", "s1", "flush"), t.log);
    assertTrue(t.completeNext()); // the completion drains one more, and flushes it
    assertEquals(List.of("s0", "s1", "flush", "s2", "flush"), t.log);
    while (t.completeNext()) {
      // the rest, each drain flushed
    }
    assertEquals(List.of("s0", "s1", "flush", "s2", "flush", "s3", "flush", "s4", "flush"), t.log);
  }

  /**
   * Sends completed inside {@code flush()} on the draining thread: the pass that stopped at the
   * in-flight limit must come back for the rest (it used to count them as its own and stop, leaving
   * the backlog until the next enqueue; found by the session-5 review).
   */
  @Test
  void completionsInsideFlushDoNotStrandTheBacklog() {
    BatchingConnection t = new BatchingConnection(Set.of(Capability.BATCHING), true);
    t.completeOnFlush = true;
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 4);
    for (int i = 0; i < 10; i++) {
      o.enqueue(stream("s" + i));
    }
    o.flush();
    assertEquals(10, o.delivered(), "every frame sent without another enqueue: " + t.log);
    assertEquals(0, o.inFlight());
    assertEquals(0, o.queuedFrames());
  }

  @Test
  void aTransportWithoutBatchingIsNeverFlushed() {
    BatchingConnection t = new BatchingConnection(Set.of(), false);
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 64);
    for (int i = 0; i < 3; i++) {
      o.enqueue(stream("s" + i));
      o.flush();
    }
    assertEquals(List.of("s0", "s1", "s2"), t.log);
  }

  @Test
  void aThrowingFlushIsASendFailure() {
    BatchingConnection t = new BatchingConnection(Set.of(Capability.BATCHING), false);
    t.throwOnFlush = true;
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 64);
    o.enqueue(stream("s0"));
    o.flush();
    assertEquals(List.of(CloseReason.SEND_FAILED), owner.reasons);
  }
}
