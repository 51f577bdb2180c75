package dev.runlane.spec;

import static dev.runlane.spec.LifecycleFixture.terminals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.FailureReason;
import dev.runlane.RunHandle;
import dev.runlane.RunOutcome;
import dev.runlane.RunState;
import dev.runlane.StartRequest;
import dev.runlane.Result;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testsupport.CapturedLogs;
import dev.runlane.transport.CloseReason;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * The end-of-run hook (issue 4): {@link dev.runlane.RunListener} is called exactly once per run with
 * its outcome, with or without connections (seed 002 persisted the turn once per tab: twice with two
 * tabs, never once the tab was closed).
 */
class LifecycleListenerTest {

  @Test
  void calledOnceWithZeroOneOrTwoConnections() {
    try (LifecycleFixture f = new LifecycleFixture()) {
      RunHandle none = f.start("s0", "alice", null);
      none.publish("delta", "nobody listens");
      none.complete("persist me");

      InMemoryConnection tab1 = f.open("alice");
      InMemoryConnection tab2 = f.open("alice");
      RunHandle two = f.start("s2", "alice", tab1);
      tab2.sendText("sub s2 0");
      two.complete("persist me too");

      InMemoryConnection gone = f.open("alice");
      RunHandle closedTab = f.start("s3", "alice", gone);
      gone.clientClose(CloseReason.NORMAL);
      closedTab.complete("and me");

      assertEquals(3, f.ended.size(), f.ended.toString());
      for (RunHandle r : List.of(none, two, closedTab)) {
        List<RunOutcome> o = f.endedOf(r);
        assertEquals(1, o.size(), r.runId());
        assertEquals(RunState.COMPLETED, o.get(0).state());
        assertEquals(r.headSeq(), o.get(0).terminalSeq());
        assertEquals(r.sessionId(), o.get(0).sessionId());
        assertEquals(r.epoch(), o.get(0).epoch());
        assertEquals("alice", o.get(0).owner());
      }
      assertEquals("persist me", f.endedOf(none).get(0).result());
    }
  }

  @Test
  void calledForEveryKindOfEndIncludingShutdown() {
    LifecycleFixture f = new LifecycleFixture();
    RunHandle completed = f.start("a", "alice", null);
    RunHandle failed = f.start("b", "alice", null);
    RunHandle aborted = f.start("c", "alice", null);
    RunHandle netted = f.start("d", "alice", null);
    RunHandle running = f.start("e", "alice", null);
    completed.complete(null);
    failed.fail(FailureReason.RUNTIME_ERROR, 3, "tool failed");
    f.rl.abort(aborted.runId(), "alice");
    f.rl.runGuarded(netted, () -> {});
    f.close();
    assertEquals(RunState.COMPLETED, f.endedOf(completed).get(0).state());
    assertEquals(3, f.endedOf(failed).get(0).exitCode());
    assertEquals(RunState.ABORTED, f.endedOf(aborted).get(0).state());
    assertEquals(FailureReason.NO_END_REPORTED, f.endedOf(netted).get(0).failureReason());
    assertEquals(FailureReason.SHUTDOWN, f.endedOf(running).get(0).failureReason());
    assertEquals(5, f.ended.size());
    f.close(); // idempotent: no second call
    assertEquals(5, f.ended.size());
  }

  /** A throwing listener breaks nothing: later listeners run, the end stands, delivery happened. */
  @Test
  void throwingListenerBreaksNothing() {
    List<RunOutcome> second = Collections.synchronizedList(new ArrayList<>());
    try (LifecycleFixture f =
        new LifecycleFixture(
            b ->
                b.runListener(
                        o -> {
                          throw new LifecycleFixture.Scripted("persistence down");
                        })
                    .runListener(second::add))) {
      InMemoryConnection a = f.open("alice");
      RunHandle run = f.start("s1", "alice", a);
      assertTrue(run.complete(null).isOk());
      assertEquals(1, second.size());
      assertEquals(
          "persistence down",
          CapturedLogs.matching(Level.WARN, "run listener threw for run " + run.runId()).get(0).error().getMessage());
      assertEquals(1, f.endedOf(run).size());
      assertEquals(1, terminals(a, run.runId()).size());
      // Runlane carries on
      RunHandle next = f.start("s1", "alice", a);
      assertTrue(next.publish("delta", 1).isOk());
      assertTrue(f.rl.abort(next.runId(), "alice").isOk());
      assertEquals(2, second.size());
    }
  }

  /**
   * The listener is called after the terminal event reached the recipients' outboxes and under no
   * lock: it can start the session's next run (a queued turn) from inside.
   */
  @Test
  void listenerRunsAfterDeliveryAndMayStartTheNextRun() {
    AtomicReference<Integer> terminalsSeenInListener = new AtomicReference<>();
    AtomicReference<Result<RunHandle>> next = new AtomicReference<>();
    AtomicReference<InMemoryConnection> conn = new AtomicReference<>();
    AtomicReference<LifecycleFixture> self = new AtomicReference<>();
    try (LifecycleFixture f =
        new LifecycleFixture(
            b ->
                b.runListener(
                    o -> {
                      if (next.get() == null) {
                        terminalsSeenInListener.set(terminals(conn.get(), o.runId()).size());
                        next.set(self.get().rl.startRun(StartRequest.of(o.sessionId(), o.owner())));
                      }
                    }))) {
      self.set(f);
      InMemoryConnection a = f.open("alice");
      conn.set(a);
      RunHandle run = f.start("s1", "alice", a);
      run.complete(null);
      assertEquals(1, terminalsSeenInListener.get(), "listener ran before the terminal was delivered");
      RunHandle queued = next.get().orElseThrow();
      assertEquals(RunState.RUNNING, queued.state());
      assertEquals("s1", queued.sessionId());
    }
  }
}
