package dev.runlane.spec;

import static org.junit.jupiter.api.Assumptions.assumeFalse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.AttachMode;
import dev.runlane.EngineSnapshot;
import dev.runlane.ResumeStatus;
import dev.runlane.RunHandle;
import dev.runlane.SubscribeTarget;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.testkit.InMemoryConnection;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * P9: the process-wide retention budget (issue 17). After a publish returns, the logs hold at most
 * {@code maxRetainedBytes} (plus the newest event of each run, which is always kept); ended runs go
 * first, oldest end first, then the oldest events of running runs; every eviction a later resume
 * crosses is announced ({@code UNKNOWN_RUN} or {@code TRUNCATED}), never a silent gap.
 */
class RetentionBudgetTest {
  private static final long BUDGET = 64 * 1024;

  @Test
  void endedRunsAreEvictedFirstOldestEndFirst() {
    assumeFalse(SpecEngine.current().durable(), "counts the bytes held in this process; a store-backed engine holds a run's log in its store");
    try (LifecycleFixture f = new LifecycleFixture(b -> b.maxRetainedBytes(BUDGET))) {
      String kib = "k".repeat(1024);
      List<RunHandle> ended = new ArrayList<>();
      for (int s = 0; s < 5; s++) { // 5 ended runs of ~10 KiB each: 50 KiB, under the budget
        RunHandle r = f.start("s" + s, "alice", null);
        for (int i = 0; i < 10; i++) {
          r.publish("delta", kib);
        }
        r.complete(null);
        ended.add(r);
      }
      assertEquals(5, f.rl.snapshot().retainedRuns());
      RunHandle live = f.start("live", "alice", null);
      for (int i = 0; i < 30; i++) { // 30 KiB more: over the budget
        live.publish("delta", kib);
        assertTrue(f.rl.snapshot().retainedBytes() <= BUDGET + 2048, "over the budget after a publish: " + f.rl.snapshot());
      }
      EngineSnapshot s = f.rl.snapshot();
      assertTrue(s.budgetEvictedRuns() >= 1, s.toString());
      assertEquals(0, s.budgetTrimmedRuns(), "ended runs were enough: the running run keeps its history");
      assertFalse(f.rl.run(ended.get(0).runId()).isPresent(), "the oldest ended run goes first");
      assertTrue(f.rl.run(ended.get(4).runId()).isPresent(), "the newest ended run is kept");
      InMemoryConnection late = f.open("alice");
      late.sendText("sub s0 3 " + ended.get(0).epoch() + " " + ended.get(0).runId());
      assertEquals("UNKNOWN_RUN", late.last("subscribed").get("status"), "announced, as after retention");
      assertEquals(1, live.publish("delta", "x").isOk() ? 1 : 0);
    }
  }

  @Test
  void thenTheOldestEventsOfRunningRunsAreTrimmedAndResumesAreTruncated() {
    assumeFalse(SpecEngine.current().durable(), "counts the bytes held in this process; a store-backed engine holds a run's log in its store");
    try (LifecycleFixture f = new LifecycleFixture(b -> b.maxRetainedBytes(BUDGET))) {
      RunHandle run = f.start("s1", "alice", null);
      String kib = "k".repeat(1024);
      for (int i = 0; i < 200; i++) {
        run.publish("delta", kib);
      }
      EngineSnapshot s = f.rl.snapshot();
      assertTrue(s.retainedBytes() <= BUDGET + 2048, s.toString());
      assertTrue(s.budgetTrimmedRuns() >= 1, s.toString());
      InMemoryConnection c = f.open("alice");
      SubscribeAck ack = f.rl.subscribe(c.id(), SubscribeTarget.session("s1", 0, run.epoch()), AttachMode.ADDITIVE).orElseThrow();
      assertEquals(ResumeStatus.TRUNCATED, ack.status());
      assertTrue(ack.truncated());
      assertEquals(run.headSeq(), ack.replayTo(), "the newest events are kept");
    }
  }

  /** Random churn: the budget holds after every publish, and no resume sees a silent gap. */
  @Test
  void randomChurnStaysWithinTheBudgetAndAnnouncesEveryGap() {
    assumeFalse(SpecEngine.current().durable(), "counts the bytes held in this process; a store-backed engine holds a run's log in its store");
    for (long seed = 1; seed <= 30; seed++) {
      Random rnd = new Random(seed);
      try (LifecycleFixture f = new LifecycleFixture(b -> b.maxRetainedBytes(BUDGET).maxEventBytes(4096))) {
        List<RunHandle> runs = new ArrayList<>();
        for (int step = 0; step < 400; step++) {
          int op = rnd.nextInt(10);
          String session = "s" + rnd.nextInt(6);
          RunHandle cur = f.rl.currentRun(session).orElse(null);
          if (op < 2 && (cur == null || cur.isEnded())) {
            runs.add(f.start(session, "alice", null));
          } else if (op < 8 && cur != null && !cur.isEnded()) {
            cur.publish("delta", "p".repeat(50 + rnd.nextInt(3000)));
            long held = f.rl.snapshot().retainedBytes();
            assertTrue(held <= BUDGET + 4096 * 6, "seed " + seed + " step " + step + ": " + held + " bytes held");
          } else if (op < 9 && cur != null && !cur.isEnded()) {
            cur.complete(null);
          } else if (!runs.isEmpty()) {
            RunHandle r = runs.get(rnd.nextInt(runs.size()));
            InMemoryConnection c = f.open("alice");
            SubscribeAck ack =
                f.rl.subscribe(c.id(), new SubscribeTarget(r.sessionId(), r.runId(), 0, r.epoch()), AttachMode.ADDITIVE)
                    .orElseThrow();
            if (ack.status() != ResumeStatus.UNKNOWN_RUN) {
              boolean gap = ack.replayFrom() > 1;
              assertEquals(gap, ack.truncated(), "seed " + seed + " step " + step + ": a silent gap " + ack);
            }
            c.clientClose(dev.runlane.transport.CloseReason.NORMAL);
          }
        }
      }
    }
  }
}
