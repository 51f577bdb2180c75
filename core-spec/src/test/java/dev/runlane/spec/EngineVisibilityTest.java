package dev.runlane.spec;

import static org.junit.jupiter.api.Assumptions.assumeFalse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.EngineSnapshot;
import dev.runlane.ResumeStatus;
import dev.runlane.RunHandle;
import dev.runlane.RunlaneMetrics;
import dev.runlane.transport.CloseReason;
import dev.runlane.testkit.InMemoryConnection;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What hosts and tests can see (issue 12, items 10, 11, 13): every subscribe's status reaches the
 * metrics bridge, a run's recipient backlog is readable, and the engine snapshot counts what is
 * held — and drops to nothing once every client left and retention passed (P9).
 */
class EngineVisibilityTest {

  @Test
  void everySubscribeStatusReachesTheMetricsBridge() {
    List<String> seen = new ArrayList<>();
    RunlaneMetrics metrics =
        new RunlaneMetrics() {
          @Override
          public void subscribed(String connectionId, ResumeStatus status) {
            synchronized (seen) {
              seen.add(status.name());
            }
          }
        };
    try (LifecycleFixture f = new LifecycleFixture(b -> b.metrics(metrics).replayCapacity(2))) {
      InMemoryConnection a = f.open("alice");
      a.sendText("sub fresh 0"); // NO_RUN_YET
      RunHandle run = f.start("s1", "alice", a);
      for (int i = 0; i < 5; i++) {
        run.publish("delta", i);
      }
      InMemoryConnection b = f.open("alice");
      b.sendText("sub s1 " + run.headSeq() + " " + run.epoch()); // EXACT
      InMemoryConnection c = f.open("alice");
      c.sendText("sub s1 1 " + run.epoch()); // TRUNCATED
      InMemoryConnection d = f.open("alice");
      d.sendText("sub s1 3 not-this-epoch"); // EPOCH_CHANGED
      run.complete(null);
      InMemoryConnection e = f.open("alice");
      e.sendText("sub s1 0"); // FINISHED
      assertEquals(List.of("NO_RUN_YET", "EXACT", "TRUNCATED", "EPOCH_CHANGED", "FINISHED"), seen);
    }
  }

  @Test
  void theSnapshotCountsWhatIsHeldAndEmptiesWhenEveryoneLeft() {
    assumeFalse(SpecEngine.current().durable(), "counts the bytes held in this process; a store-backed engine holds a run's log in its store");
    try (LifecycleFixture f = new LifecycleFixture()) {
      InMemoryConnection a = f.open("alice");
      InMemoryConnection tab = f.open("alice");
      RunHandle run = f.start("s1", "alice", a);
      tab.sendText("sub s1 0");
      run.publish("delta", "x");
      run.requestApproval("tool", null, (ap, r, dd, p) -> {});
      EngineSnapshot s = f.rl.snapshot();
      assertEquals(2, s.connections());
      assertEquals(1, s.sessions());
      assertEquals(1, s.followers());
      assertEquals(1, s.runningRuns());
      assertEquals(0, s.retainedRuns());
      assertEquals(2, s.retainedEvents()); // run.started, delta
      assertTrue(s.retainedBytes() > 0);
      assertEquals(1, s.pendingApprovals());
      run.complete(null);
      a.clientClose(CloseReason.NORMAL);
      tab.clientClose(CloseReason.NORMAL);
      s = f.rl.snapshot();
      assertEquals(0, s.connections());
      assertEquals(0, s.followers());
      assertEquals(0, s.pendingApprovals());
      assertEquals(1, s.retainedRuns(), "retained for resume until its retention passes");
      f.time.advance(java.time.Duration.ofMinutes(6));
      assertEquals(new EngineSnapshot(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), f.rl.snapshot(), "something leaked");
    }
  }

  @Test
  void aRunsBacklogIsItsDeepestRecipientOutbox() {
    try (LifecycleFixture f = new LifecycleFixture()) {
      InMemoryConnection fast = f.open("alice");
      InMemoryConnection slow = f.open("alice").mode(InMemoryConnection.Mode.MANUAL);
      RunHandle run = f.start("s1", "alice", fast);
      slow.sendText("sub s1 0");
      int before = run.recipientBacklog();
      for (int i = 0; i < 200; i++) {
        run.publish("delta", i);
      }
      assertTrue(run.recipientBacklog() >= 100, "backlog " + run.recipientBacklog() + " (before " + before + ")");
      slow.completeAll();
      while (slow.completeAll() > 0) {
        // drain what the completions released
      }
      assertEquals(0, run.recipientBacklog());
    }
  }

  @Test
  void aProducerIsToldWhenTheBacklogDropsBelowItsMark() {
    try (LifecycleFixture f = new LifecycleFixture()) {
      InMemoryConnection slow = f.open("alice").mode(InMemoryConnection.Mode.MANUAL);
      RunHandle run = f.start("s1", "alice", slow);
      for (int i = 0; i < 100; i++) {
        run.publish("delta", i);
      }
      assertTrue(run.whenBacklogBelow(1_000).toCompletableFuture().isDone(), "already below: done at once");
      java.util.concurrent.CompletableFuture<Void> low = run.whenBacklogBelow(10).toCompletableFuture();
      assertTrue(!low.isDone(), "backlog " + run.recipientBacklog() + " is above 10");
      int rounds = 0;
      while (!low.isDone() && rounds++ < 100) {
        assertTrue(run.recipientBacklog() > 10, "below the mark but not told: " + run.recipientBacklog());
        slow.completeNext(); // one send completes: the drain moves the next frame
      }
      assertTrue(low.isDone(), "never told");
      assertTrue(run.recipientBacklog() <= 10, "told too early: " + run.recipientBacklog());
      java.util.concurrent.CompletableFuture<Void> never = run.whenBacklogBelow(0).toCompletableFuture();
      run.complete(null);
      assertTrue(never.isDone(), "the run's end releases every waiter");
      assertEquals(0, f.rl.snapshot().pendingApprovals());
    }
  }
}
