package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.AttachMode;
import dev.runlane.InvariantCheck;
import dev.runlane.ResumeStatus;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.Result;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.SubscribeTarget;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.TextCodec;
import dev.runlane.testkit.WireMessage;
import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Promise 3 under real concurrency: one thread publishes tens of thousands of events on a run while
 * other threads keep opening a connection, subscribing with a random {@code lastSeq} (valid epoch)
 * and closing it after a random number of frames. Each subscriber must receive exactly {@code
 * lastSeq + 1 …} contiguously (or, if its ack says truncated, exactly {@code replayFrom …}, the
 * oldest held seq): the linearization point in {@code Run} is what makes this hold. Every other
 * subscriber speaks protocol 3 over a {@code JOINED_MESSAGES} connection, so its replay and any
 * backlog arrive as compact events joined several to a frame: the same promise, split back.
 *
 * <p>Real threads and the system clock; the in-memory connections complete sends on whichever
 * thread drains (often the publisher's), as a fast socket would. Scale with {@code
 * -Drunlane.stress.scale=N}.
 */
@Tag("stress")
class ResumeStressTest {
  private static final int CAPACITY = 256;
  private static final AtomicInteger joinedConnections = new AtomicInteger();
  private static final AtomicInteger compactEvents = new AtomicInteger();

  @Test
  void everySubscriberGetsExactlyTheContiguousRangeItAskedFor() throws Exception {
    int scale = Integer.getInteger("runlane.stress.scale", 1);
    int rounds = 4 * scale;
    int eventsPerRound = 12_000;
    int subscribers = 3;
    long seed = Long.getLong("runlane.seed", 77L);
    Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
    AtomicInteger cycles = new AtomicInteger();
    AtomicInteger truncated = new AtomicInteger();
    AtomicInteger exact = new AtomicInteger();
    AtomicInteger liveFrames = new AtomicInteger();

    try (Runlane rl =
        InvariantCheck.track(SpecEngine.builder()
            .codec(new TextCodec())
            .idleTimeout(Duration.ZERO)
            .replayCapacity(CAPACITY)
            .build())) {
      InMemoryTransport tx = new InMemoryTransport(rl);
      for (int round = 0; round < rounds; round++) {
        RunHandle run =
            rl.startRun(StartRequest.of("stress-" + round, "alice")).orElseThrow();
        AtomicReference<Boolean> publishing = new AtomicReference<>(true);
        CountDownLatch ready = new CountDownLatch(subscribers);
        CountDownLatch done = new CountDownLatch(subscribers);
        int r = round;
        for (int t = 0; t < subscribers; t++) {
          long threadSeed = seed * 1_000 + round * 10L + t;
          int tn = t;
          Thread th =
              new Thread(
                  () -> {
                    Random rnd = new Random(threadSeed);
                    ready.countDown();
                    int cycle = 0;
                    try {
                      while (publishing.get() && failures.isEmpty()) {
                        String id = "r" + r + "-t" + tn + "-" + cycle++;
                        subscribeOnce(rl, tx, run, id, rnd, threadSeed, cycles, exact, truncated, liveFrames);
                      }
                    } catch (Throwable e) {
                      failures.add(e);
                    } finally {
                      done.countDown();
                    }
                  },
                  "subscriber-" + t);
          th.setDaemon(true);
          th.start();
        }
        assertTrue(ready.await(30, TimeUnit.SECONDS));
        for (int i = 0; i < eventsPerRound && failures.isEmpty(); i++) {
          assertTrue(run.publish("delta", i).isOk());
          if ((i & 63) == 0) {
            Thread.yield(); // give the subscribers a chance on small machines
          }
        }
        run.complete(null);
        publishing.set(false);
        assertTrue(done.await(60, TimeUnit.SECONDS), "subscribers finished");
        if (!failures.isEmpty()) {
          AssertionError e = new AssertionError("a subscriber failed (base seed " + seed + ", -Drunlane.seed=" + seed + ")");
          failures.forEach(e::addSuppressed);
          throw e;
        }
        assertEquals(eventsPerRound + 2, run.headSeq());
        assertTrue(rl.recipientsOf(run.runId()).isEmpty(), "closed subscribers left the run");
      }
      assertEquals(0, rl.connectionCount(), "every connection left the registry");
    }
    assertTrue(cycles.get() >= rounds * subscribers, "too few subscribe cycles: " + cycles);
    assertTrue(exact.get() > 0 && truncated.get() > 0, "both exact and truncated resumes happened: exact " + exact + ", truncated " + truncated);
    assertTrue(liveFrames.get() > 0, "some frames came live, after the replay");
    assertTrue(joinedConnections.get() > 0 && compactEvents.get() > 0,
        "protocol-3 subscribers got joined frames: " + joinedConnections + " connections, " + compactEvents + " compact events");
  }

  private static long chooseLastSeq(Random rnd, long head) {
    switch (rnd.nextInt(5)) {
      case 0:
        return 0;
      case 1:
        return head;
      case 2:
        return (long) (rnd.nextDouble() * (head + 1));
      default: // around the truncation boundary
        return Math.max(0, head - rnd.nextInt(2 * CAPACITY + 2));
    }
  }

  private static void subscribeOnce(
      Runlane rl,
      InMemoryTransport tx,
      RunHandle run,
      String id,
      Random rnd,
      long seed,
      AtomicInteger cycles,
      AtomicInteger exact,
      AtomicInteger truncated,
      AtomicInteger liveFrames) {
    // every other subscriber speaks protocol 3: its replay and backlog arrive joined, compact
    boolean joins = rnd.nextBoolean();
    InMemoryConnection c = tx.open("alice", id, joins ? Set.of(Capability.JOINED_MESSAGES) : Set.of());
    if (joins) {
      c.sendText("hello 3");
    }
    long lastSeq = chooseLastSeq(rnd, run.headSeq());
    Result<SubscribeAck> res =
        rl.subscribe(id, new SubscribeTarget(run.sessionId(), run.runId(), lastSeq, run.epoch()), AttachMode.ADDITIVE);
    String where = "thread seed " + seed + ", connection " + id + ", lastSeq " + lastSeq + ": ";
    if (!(res.isOk())) {
      throw new AssertionError(where + "refused " + res);
    }
    SubscribeAck ack = res.orElseThrow();
    int want = 1 + rnd.nextInt(400);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); // a stuck delivery, not a timing
    while (c.sendCalls() < want + 2 && !run.isEnded()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError(where + "delivery stuck after " + c.sendCalls() + " sends");
      }
      Thread.yield();
    }
    c.clientClose(CloseReason.NORMAL);
    cycles.incrementAndGet();

    if (joins && c.messages().size() > c.frames().size()) {
      joinedConnections.incrementAndGet();
    }
    List<WireMessage> msgs = c.messages();
    int i = 0;
    if (i < msgs.size() && msgs.get(i).type().equals("welcome")) {
      i++;
    }
    if (joins && i < msgs.size() && msgs.get(i).type().equals("hello")) {
      check("3".equals(msgs.get(i).get("protocol")), where, "protocol 3 granted: " + msgs.get(i));
      i++;
    }
    if (i >= msgs.size() || !msgs.get(i).type().equals("subscribed")) {
      throw new AssertionError(where + "the ack must come first, got " + msgs.subList(0, Math.min(3, msgs.size())));
    }
    WireMessage wireAck = msgs.get(i++);
    check(wireAck.num("from") == ack.replayFrom() && wireAck.get("status").equals(ack.status().name()), where, "wire ack = returned ack");

    // the promise, stated from the client's side
    long expectedFirst;
    if (ack.truncated()) {
      check(ack.replayFrom() == ack.oldestSeq(), where, "a truncated replay starts at the oldest held seq: " + ack);
      check(lastSeq + 1 < ack.oldestSeq(), where, "truncated only when lastSeq+1 is gone: " + ack);
      check(ack.status() == ResumeStatus.TRUNCATED || ack.status() == ResumeStatus.FINISHED, where, "status " + ack);
      truncated.incrementAndGet();
    } else {
      check(ack.status() == ResumeStatus.EXACT || ack.status() == ResumeStatus.FINISHED, where, "status " + ack);
      check(ack.replayFrom() == lastSeq + 1, where, "an exact replay starts right after lastSeq: " + ack);
      check(lastSeq + 1 >= ack.oldestSeq(), where, "a gap not announced: " + ack);
      exact.incrementAndGet();
    }
    expectedFirst = ack.replayFrom();
    check(ack.replayTo() == ack.headSeq(), where, "replay runs to the head at the linearization point: " + ack);

    long next = expectedFirst;
    boolean sawTerminal = false;
    for (; i < msgs.size(); i++) {
      WireMessage m = msgs.get(i);
      boolean compact = m.type().equals("cevent"); // protocol 3's (and 2's) form of a host event
      if (!m.isEvent() && !compact) {
        continue;
      }
      check(compact ? run.runId().equals(m.get("run")) : m.isEventOf(run.runId()), where, "only this run's events: " + m);
      if (compact) {
        check(joins, where, "a compact event on a protocol-1 connection: " + m);
        compactEvents.incrementAndGet();
      }
      check(!sawTerminal, where, "nothing after the terminal event: " + m);
      long seq = m.num("seq");
      check(seq == next, where, "expected seq " + next + " but got " + seq + " (a gap or a duplicate)");
      check(compact || run.epoch().equals(m.get("epoch")), where, "epoch of " + m);
      if (seq > ack.replayTo()) {
        liveFrames.incrementAndGet();
      }
      sawTerminal = "run.completed".equals(m.get("kind"));
      next++;
    }
  }

  private static void check(boolean ok, String where, String what) {
    if (!ok) {
      throw new AssertionError(where + what);
    }
  }
}
