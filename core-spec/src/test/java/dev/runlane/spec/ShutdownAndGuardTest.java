package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.InvariantCheck;
import dev.runlane.RunlaneBuilder;
import dev.runlane.FailureReason;
import dev.runlane.RunHandle;
import dev.runlane.RunOutcome;
import dev.runlane.RunRuntime;
import dev.runlane.RunState;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.Result;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.RunlaneAssertions;
import dev.runlane.testkit.TextCodec;
import dev.runlane.transport.CloseReason;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Shutdown cancels running runtimes; the safety net rethrows Errors; run timeouts validate. */
class ShutdownAndGuardTest {
  final ManualTimeSource time = new ManualTimeSource();
  final AtomicInteger cancels = new AtomicInteger();
  final List<RunOutcome> ended = new CopyOnWriteArrayList<>();
  final RunRuntime runtime =
      new RunRuntime() {
        @Override
        public void run(RunHandle run, Object input) {}

        @Override
        public void cancel(RunHandle run) {
          cancels.incrementAndGet();
          assertEquals(PublishResultStatus.DROPPED, run.publish("late", "x").isOk() ? PublishResultStatus.RECORDED : PublishResultStatus.DROPPED);
        }
      };

  enum PublishResultStatus {
    RECORDED,
    DROPPED
  }

  Runlane build(Duration defaultTimeout) {
    return build(defaultTimeout, 0);
  }

  Runlane build(Duration defaultTimeout, int writeThreads) {
    RunlaneBuilder b =
        Runlane.builder()
            .writeThreads(writeThreads)
            .codec(new TextCodec())
            .timeSource(time)
            .runtime(runtime)
            .runTimeoutGrace(Duration.ZERO)
            .runListener(ended::add);
    if (!defaultTimeout.isZero()) {
      b.runTimeout(defaultTimeout);
    }
    return InvariantCheck.track(b.build());
  }

  @Test
  void closeCancelsEachRunningRunOnceAndEndsItWithShutdown() {
    Runlane rl = build(Duration.ZERO);
    InMemoryConnection a = new InMemoryTransport(rl).open("alice");
    RunHandle r1 = started(rl, StartRequest.of("s1", "alice").fromConnection(a.id()));
    RunHandle r2 = started(rl, StartRequest.of("s2", "alice"));
    r2.complete(null);
    rl.close();
    rl.close();
    assertEquals(1, cancels.get(), "only the running run is cancelled, once");
    assertEquals(RunState.FAILED, r1.state());
    assertEquals(FailureReason.SHUTDOWN, ended.stream().filter(o -> o.runId().equals(r1.runId())).findFirst().orElseThrow().failureReason());
    assertEquals(2, ended.size(), "each run's listener exactly once");
    RunlaneAssertions.assertSeqs(a, r1.runId(), 1, 2);
    assertEquals(CloseReason.GOING_AWAY, a.closeReason());
  }

  /**
   * With write threads (a batching transport), close and drain still deliver each run's last
   * frame before the connection is sent away: a push at shutdown is written by the thread that
   * ends the run, not left queued on a write thread while the close empties the outbox. Many
   * rounds, since a write thread racing the close would lose the frame only sometimes.
   */
  @Test
  void withWriteThreadsCloseAndDrainStillDeliverEachRunsLastFrame() {
    for (int round = 0; round < 100; round++) {
      boolean viaDrain = round % 2 == 0;
      Runlane rl = build(Duration.ZERO, 1);
      InMemoryConnection a =
          new InMemoryTransport(rl).open("alice", "c" + round, java.util.Set.of(dev.runlane.transport.Capability.BATCHING));
      RunHandle r = started(rl, StartRequest.of("s1", "alice").fromConnection(a.id()));
      // a second recipient (another tab): a push to several recipients always goes to the write
      // thread, where a lone recipient's push on a quiet node would be written inline
      InMemoryConnection b =
          new InMemoryTransport(rl).open("alice", "d" + round, java.util.Set.of(dev.runlane.transport.Capability.BATCHING));
      b.sendText("sub s1 1 " + r.epoch() + " " + r.runId());
      r.publish("delta", "x"); // seq 2, pushed through the write thread
      if (viaDrain) {
        rl.drain();
      } else {
        rl.close();
      }
      RunlaneAssertions.assertSeqs(a, r.runId(), 1, 2, 3);
      RunlaneAssertions.assertSeqs(b, r.runId(), 2, 3);
      assertEquals(CloseReason.GOING_AWAY, a.closeReason(), "round " + round);
      assertEquals(CloseReason.GOING_AWAY, b.closeReason(), "round " + round);
      rl.close();
    }
  }

  @Test
  void drainEndsRunsAndSendsClientsAwayLikeCloseButRunlaneServesAgain() {
    Runlane rl = build(Duration.ZERO);
    InMemoryTransport tx = new InMemoryTransport(rl);
    InMemoryConnection a = tx.open("alice");
    RunHandle r1 = started(rl, StartRequest.of("s1", "alice").fromConnection(a.id()));
    r1.publish("delta", "x"); // seq 2
    rl.drain();
    rl.drain();
    assertEquals(1, cancels.get(), "the running run is cancelled, once");
    assertEquals(FailureReason.SHUTDOWN, r1.outcome().orElseThrow().failureReason());
    assertEquals(List.of(r1.outcome().orElseThrow()), ended, "its listener once");
    RunlaneAssertions.assertSeqs(a, r1.runId(), 1, 2, 3);
    assertEquals(CloseReason.GOING_AWAY, a.closeReason(), "told to resume elsewhere or later");
    assertEquals(0, rl.connectionCount());

    InMemoryConnection b = tx.open("alice"); // serving again
    b.sendText("sub s1 2 " + r1.epoch() + " " + r1.runId());
    RunlaneAssertions.assertSeqs(b, r1.runId(), 3); // the ended run stays resumable: its terminal
    RunHandle r2 = started(rl, StartRequest.of("s1", "alice").fromConnection(b.id()));
    assertTrue(r2.publish("delta", "y").isOk());
    r2.complete(null);
    assertEquals(RunState.COMPLETED, r2.state());
    rl.close();
    assertEquals(1, cancels.get(), "close after drain has nothing left to cancel");
  }

  @Test
  void safetyNetFailsTheRunThenRethrowsAnError() {
    Runlane rl = build(Duration.ZERO);
    RunHandle r = started(rl, StartRequest.of("s1", "alice"));
    AssertionError boom = new AssertionError("boom");
    AssertionError thrown = assertThrows(AssertionError.class, () -> rl.runGuarded(r, () -> { throw boom; }));
    assertSame(boom, thrown);
    assertEquals(RunState.FAILED, r.state());
    assertEquals(FailureReason.RUNTIME_THREW, ended.get(0).failureReason());
    rl.close();
  }

  @Test
  void negativeTimeoutIsMisuseAndZeroMeansNoDeadlineForThatRun() {
    assertThrows(IllegalArgumentException.class, () -> StartRequest.of("s", "a").withTimeout(Duration.ofSeconds(-1)));
    Runlane rl = build(Duration.ofSeconds(10));
    RunHandle noDeadline = started(rl, StartRequest.of("s1", "alice").withTimeout(Duration.ZERO));
    RunHandle byDefault = started(rl, StartRequest.of("s2", "alice"));
    time.advance(Duration.ofSeconds(11));
    assertEquals(RunState.RUNNING, noDeadline.state());
    assertEquals(RunState.FAILED, byDefault.state());
    assertEquals(FailureReason.TIMEOUT, ended.get(0).failureReason());
    rl.close();
  }

  private static RunHandle started(Runlane rl, StartRequest req) {
    Result<RunHandle> r = rl.startRun(req);
    assertTrue(r.isOk(), r.toString());
    return r.orElseThrow();
  }
}
