package dev.runlane.spec;

import static org.junit.jupiter.api.Assumptions.assumeFalse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.ErrorCode;
import dev.runlane.ResumeStatus;
import dev.runlane.Result;
import dev.runlane.RunHandle;
import dev.runlane.testkit.InMemoryConnection;
import org.junit.jupiter.api.Test;

/**
 * P9: memory is bounded by configuration by default (issue 17, first part): each run's log keeps at
 * most 4 MiB, and an event over {@code maxEventBytes} is refused before it takes a seq, so it cannot
 * evict a run's history.
 */
class RetentionLimitsTest {

  @Test
  void anEventOverTheLimitIsRefusedAndTakesNoSeq() {
    try (LifecycleFixture f = new LifecycleFixture(b -> b.maxEventBytes(1_000))) {
      InMemoryConnection a = f.open("alice");
      RunHandle run = f.start("s1", "alice", a);
      run.publish("delta", "small");
      Result<Long> big = run.publish("delta", "x".repeat(2_000));
      assertEquals(ErrorCode.EVENT_TOO_LARGE, big.refusalCode().orElseThrow());
      assertEquals(2, run.headSeq(), "the refused event took no seq");
      assertEquals(3L, run.publish("delta", "next").orElseThrow(), "seqs stay contiguous");
      InMemoryConnection late = f.open("alice");
      late.sendText("sub s1 0 " + run.epoch());
      assertEquals("EXACT", late.last("subscribed").get("status"), "nothing was evicted by the big event");
    }
  }

  @Test
  void aRunsLogIsBoundedInBytesByDefault() {
    assumeFalse(SpecEngine.current().durable(), "counts the bytes held in this process; a store-backed engine holds a run's log in its store");
    try (LifecycleFixture f = new LifecycleFixture()) {
      InMemoryConnection a = f.open("alice");
      RunHandle run = f.start("s1", "alice", a);
      String kib = "y".repeat(8 * 1024);
      for (int i = 0; i < 1_000; i++) { // ~8 MiB published, under the 1,024-event capacity
        assertTrue(run.publish("delta", kib).isOk());
      }
      long held = f.rl.snapshot().retainedBytes();
      assertTrue(held <= 4L * 1024 * 1024 + 16 * 1024, "held " + held + " bytes, over the default 4 MiB");
      assertTrue(held >= 3L * 1024 * 1024, "held " + held + " bytes: the budget evicts only what it must");
      InMemoryConnection late = f.open("alice");
      late.sendText("sub s1 0 " + run.epoch());
      assertEquals(ResumeStatus.TRUNCATED.name(), late.last("subscribed").get("status"), "the eviction is announced");
    }
  }
}
