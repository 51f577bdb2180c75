package dev.runlane.spec;

import dev.runlane.RunOutcome;
import static dev.runlane.spec.LifecycleFixture.assertOneTerminal;
import static dev.runlane.testkit.RunlaneAssertions.assertSeqRange;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.Result;
import dev.runlane.ErrorCode;
import dev.runlane.FailureReason;
import dev.runlane.RunHandle;
import dev.runlane.RunState;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.WireMessage;
import dev.runlane.testsupport.CapturedLogs;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * The safety net (issue 4): {@link dev.runlane.Runlane#runGuarded} guarantees that the run it
 * guards ends, and that only that run instance is touched; {@link
 * dev.runlane.Runlane#runtimeDied} does the same for a runtime that is gone.
 */
class SafetyNetTest {
  LifecycleFixture fx = new LifecycleFixture();

  @AfterEach
  void close() {
    fx.close();
  }

  @Test
  void taskReturningWithoutEndFailsTheRun() {
    InMemoryConnection a = fx.open("alice");
    RunHandle run = fx.start("s1", "alice", a);
    Result<RunOutcome> net = fx.rl.runGuarded(run, () -> run.publish("delta", "partial"));
    assertTrue(net.isOk());
    assertEquals(RunState.FAILED, net.orElseThrow().state());
    assertEquals(FailureReason.NO_END_REPORTED, net.orElseThrow().failureReason());
    assertEquals(3, net.orElseThrow().terminalSeq());
    WireMessage t = assertOneTerminal(a, run.runId(), "run.failed");
    assertEquals("NO_END_REPORTED", t.get("reason"));
    assertSeqRange(a, run.runId(), 1, 3);
    assertEquals(1, fx.endedOf(run).size());
    assertEquals(0, fx.cancelCalls(run), "the safety net is not an abort");
  }

  @Test
  void taskThrowingFailsTheRunWithItsMessage() {
    InMemoryConnection a = fx.open("alice");
    RunHandle run = fx.start("s1", "alice", a);
    Result<RunOutcome> net =
        fx.rl.runGuarded(
            run,
            () -> {
              throw new LifecycleFixture.Scripted("model API 500");
            });
    assertTrue(net.isOk());
    assertEquals(FailureReason.RUNTIME_THREW, net.orElseThrow().failureReason());
    assertEquals("model API 500", net.orElseThrow().message());
    CapturedLogs.Entry logged = CapturedLogs.matching(Level.WARN, "runtime of run " + run.runId()).get(0);
    assertEquals("model API 500", logged.error().getMessage());
    assertEquals(1, net.orElseThrow().exitCode());
    assertEquals("RUNTIME_THREW", assertOneTerminal(a, run.runId(), "run.failed").get("reason"));
  }

  @Test
  void checkedExceptionAndErrorAreCaughtToo() {
    RunHandle r1 = fx.start("s1", "alice", null);
    Result<RunOutcome> e1 =
        fx.rl.runGuarded(
            r1,
            () -> {
              throw new java.io.IOException("socket reset");
            });
    assertEquals(FailureReason.RUNTIME_THREW, e1.orElseThrow().failureReason());
    RunHandle r2 = fx.start("s2", "alice", null);
    try {
      Result<RunOutcome> e2 =
          fx.rl.runGuarded(
              r2,
              () -> {
                throw new StackOverflowError();
              });
      assertTrue(e2.isOk());
    } catch (StackOverflowError rethrown) {
      // rethrowing an Error after ending the run would keep the promise too
    }
    assertEquals(RunState.FAILED, r2.state());
    assertEquals(FailureReason.RUNTIME_THREW, fx.endedOf(r2).get(0).failureReason());
  }

  @Test
  void interruptedTaskKeepsTheInterruptFlag() {
    RunHandle run = fx.start("s1", "alice", null);
    try {
      Result<RunOutcome> net =
          fx.rl.runGuarded(
              run,
              () -> {
                throw new InterruptedException("shutting down");
              });
      assertTrue(net.isOk());
      assertTrue(Thread.currentThread().isInterrupted(), "the interrupt must be restored");
    } finally {
      Thread.interrupted();
    }
  }

  @Test
  void taskThatEndsItsRunIsLeftAlone() {
    InMemoryConnection a = fx.open("alice");
    RunHandle run = fx.start("s1", "alice", a);
    AtomicReference<Result<RunOutcome>> own = new AtomicReference<>();
    Result<RunOutcome> net = fx.rl.runGuarded(run, () -> own.set(run.complete("42")));
    assertTrue(own.get().isOk());
    assertFalse(net.isOk());
    assertEquals(RunState.COMPLETED, run.outcome().orElseThrow().state());
    assertSame(own.get().orElseThrow(), run.outcome().orElseThrow());
    assertEquals(ErrorCode.RUN_ENDED, net.refusalCode().orElseThrow());
    assertOneTerminal(a, run.runId(), "run.completed");
    assertEquals(1, fx.endedOf(run).size());

    // a task that ends its run and then throws: the run stays completed
    RunHandle r2 = fx.start("s1", "alice", a);
    Result<RunOutcome> net2 =
        fx.rl.runGuarded(
            r2,
            () -> {
              r2.fail(FailureReason.RUNTIME_ERROR, 7, "tool failed");
              throw new LifecycleFixture.Scripted("and then crashed");
            });
    assertFalse(net2.isOk());
    assertEquals(FailureReason.RUNTIME_ERROR, r2.isEnded() ? fx.endedOf(r2).get(0).failureReason() : null);
    assertEquals(7, fx.endedOf(r2).get(0).exitCode());
    assertOneTerminal(a, r2.runId(), "run.failed");
  }

  @Test
  void abortedRunsTaskReturningLaterChangesNothing() {
    InMemoryConnection a = fx.open("alice");
    RunHandle run = fx.start("s1", "alice", a);
    Result<RunOutcome> net =
        fx.rl.runGuarded(
            run,
            () -> {
              assertTrue(fx.rl.abort(run.runId(), "alice").isOk());
              run.publish("delta", "ignored");
            });
    assertFalse(net.isOk());
    assertEquals(RunState.ABORTED, run.outcome().orElseThrow().state());
    assertOneTerminal(a, run.runId(), "run.aborted");
    assertSeqRange(a, run.runId(), 1, 2);
  }

  /**
   * While an abort is between "accepted" and "ended" (its cancel hook running on another thread),
   * the safety net of the runtime returning must not end the run: the abort does, once.
   */
  @Test
  void safetyNetDuringCancellationLeavesTheEndToTheAbort() throws Exception {
    CountDownLatch inHook = new CountDownLatch(1);
    CountDownLatch releaseHook = new CountDownLatch(1);
    fx.onCancel =
        r -> {
          inHook.countDown();
          try {
            releaseHook.await(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        };
    InMemoryConnection a = fx.open("alice");
    RunHandle run = fx.start("s1", "alice", a);
    AtomicReference<dev.runlane.Result<RunOutcome>> abort = new AtomicReference<>();
    Thread aborter = new Thread(() -> abort.set(fx.rl.abort(run.runId(), "alice")));
    aborter.start();
    try {
      assertTrue(inHook.await(10, TimeUnit.SECONDS));
      assertEquals(RunState.CANCELLING, run.state());
      Result<RunOutcome> net = fx.rl.runGuarded(run, () -> {});
      assertFalse(net.isOk());
      assertTrue(run.outcome().isEmpty(), "still cancelling: no outcome yet");
      assertEquals(RunState.CANCELLING, run.state());
    } finally {
      releaseHook.countDown();
      aborter.join(10_000);
    }
    assertTrue(abort.get().isOk());
    assertEquals(RunState.ABORTED, run.state());
    assertOneTerminal(a, run.runId(), "run.aborted");
    assertEquals(1, fx.endedOf(run).size());
  }

  @Test
  void runtimeDiedOnUnknownOrEndedRunIsANoOp() {
    Result<RunOutcome> unknown = fx.rl.runtimeDied("run_does_not_exist", "gone");
    assertFalse(unknown.isOk());
    assertEquals(ErrorCode.UNKNOWN_RUN, unknown.refusalCode().orElseThrow());
    RunHandle run = fx.start("s1", "alice", null);
    run.complete("ok");
    Result<RunOutcome> late = fx.rl.runtimeDied(run.runId(), "gone");
    assertFalse(late.isOk());
    assertEquals(ErrorCode.RUN_ENDED, late.refusalCode().orElseThrow());
    assertEquals(RunState.COMPLETED, run.outcome().orElseThrow().state());
    assertEquals(1, fx.endedOf(run).size());
  }

  /** A runtime started by a client's start command is run under the safety net. */
  @Test
  void clientStartedRuntimeIsGuarded() {
    fx.body = (run, input) -> run.publish("delta", "echo " + input);
    InMemoryConnection a = fx.open("alice");
    a.sendText("start s1 hello");
    RunHandle run = fx.rl.currentRun("s1").orElseThrow();
    assertEquals(RunState.FAILED, run.state());
    assertEquals(FailureReason.NO_END_REPORTED, fx.endedOf(run).get(0).failureReason());
    assertEquals("echo hello", LifecycleFixture.events(a, run.runId()).get(1).get("data"));
    assertOneTerminal(a, run.runId(), "run.failed");

    fx.body =
        (r, input) -> {
          throw new LifecycleFixture.Scripted("boom");
        };
    a.sendText("start s1 again");
    RunHandle r2 = fx.rl.currentRun("s1").orElseThrow();
    assertEquals(FailureReason.RUNTIME_THREW, fx.endedOf(r2).get(0).failureReason());
    assertOneTerminal(a, r2.runId(), "run.failed");
  }
}
