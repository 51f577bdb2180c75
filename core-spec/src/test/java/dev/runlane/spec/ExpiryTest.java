package dev.runlane.spec;

import dev.runlane.ErrorCode;
import static dev.runlane.spec.LifecycleFixture.assertOneTerminal;
import static dev.runlane.testkit.RunlaneAssertions.assertSeqRange;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.Approval;
import dev.runlane.Result;
import dev.runlane.FailureReason;
import dev.runlane.RunHandle;
import dev.runlane.RunOutcome;
import dev.runlane.RunState;
import dev.runlane.StartRequest;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.WireMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Run expiry (issue 4): an optional per-run deadline of run timeout plus grace, clamped to 1 s – 24
 * h, on the injected clock. An expired running run gets exactly one terminal ({@code FAILED},
 * {@link FailureReason#TIMEOUT}, exit code 124) and the cancel hook once; an ended run's deadline
 * does nothing.
 */
class ExpiryTest {

  static RunHandle startWithTimeout(LifecycleFixture f, InMemoryConnection c, Duration timeout) {
    Result<RunHandle> r =
        f.rl.startRun(StartRequest.of("s1", c.principal()).fromConnection(c.id()).withTimeout(timeout));
    return r.orElseThrow();
  }

  @Test
  void timeoutFiresExactlyOneFailedTerminalAndTheCancelHookOnce() {
    try (LifecycleFixture f = new LifecycleFixture(b -> b.runTimeoutGrace(Duration.ofSeconds(5)))) {
      InMemoryConnection a = f.open("alice");
      InMemoryConnection tab2 = f.open("alice");
      AtomicReference<Result<Long>> publishInHook = new AtomicReference<>();
      AtomicReference<Result<RunOutcome>> completeInHook = new AtomicReference<>();
      f.onCancel =
          run -> {
            // the runtime reacts to the cancel by still publishing and completing: both dropped
            publishInHook.set(run.publish("delta", "after the deadline"));
            completeInHook.set(run.complete("late answer"));
          };
      RunHandle run = startWithTimeout(f, a, Duration.ofSeconds(10));
      tab2.sendText("sub s1 0");
      run.publish("delta", "working");

      f.time.advance(Duration.ofSeconds(15).minusNanos(1));
      assertEquals(RunState.RUNNING, run.state(), "fired before timeout + grace");
      assertEquals(0, f.cancelCalls(run));
      f.time.advance(Duration.ofNanos(1));

      assertEquals(RunState.FAILED, run.state());
      assertEquals(1, f.cancelCalls(run));
      assertEquals(ErrorCode.RUN_ENDED, publishInHook.get().refusalCode().orElseThrow());
      assertFalse(completeInHook.get().isOk());
      for (InMemoryConnection c : List.of(a, tab2)) {
        WireMessage t = assertOneTerminal(c, run.runId(), "run.failed");
        assertEquals("TIMEOUT", t.get("reason"));
        assertEquals("124", t.get("exit"));
        assertEquals("3", t.get("seq"));
      }
      List<RunOutcome> ended = f.endedOf(run);
      assertEquals(1, ended.size());
      assertEquals(FailureReason.TIMEOUT, ended.get(0).failureReason());
      assertEquals(124, ended.get(0).exitCode());
      assertNull(ended.get(0).abortedBy());

      f.time.advance(Duration.ofMinutes(1));
      assertEquals(1, f.cancelCalls(run));
      assertEquals(1, f.endedOf(run).size());
      assertSeqRange(a, run.runId(), 1, 3);
      assertFalse(run.complete(null).isOk());
    }
  }

  /** A request's timeout below 1 s is raised to 1 s; above 24 h it is lowered to 24 h. */
  @Test
  void tooSmallTimeoutIsClampedUp() {
    try (LifecycleFixture f = new LifecycleFixture(b -> b.runTimeoutGrace(Duration.ZERO))) {
      InMemoryConnection a = f.open("alice");
      RunHandle run = startWithTimeout(f, a, Duration.ofMillis(1));
      f.time.advance(Duration.ofMillis(999));
      assertEquals(RunState.RUNNING, run.state(), "a 1 ms timeout must be clamped up to 1 s");
      f.time.advance(Duration.ofMillis(1));
      assertEquals(RunState.FAILED, run.state());
      assertOneTerminal(a, run.runId(), "run.failed");
    }
  }

  @Test
  void tooLargeTimeoutIsClampedDown() {
    try (LifecycleFixture f =
        new LifecycleFixture(
            b ->
                b.runTimeoutGrace(Duration.ofSeconds(30))
                    .housekeepingInterval(Duration.ofHours(1))
                    .retention(Duration.ofDays(30)))) {
      InMemoryConnection a = f.open("alice");
      RunHandle run = startWithTimeout(f, a, Duration.ofDays(7));
      f.time.advance(Duration.ofHours(24).plusSeconds(30).minusNanos(1));
      assertEquals(RunState.RUNNING, run.state());
      f.time.advance(Duration.ofNanos(1));
      assertEquals(RunState.FAILED, run.state(), "a 7 day timeout must be clamped to 24 h (+ grace)");
      assertEquals(FailureReason.TIMEOUT, f.endedOf(run).get(0).failureReason());
    }
  }

  /** The builder's default timeout applies to runs without their own; a request's own wins. */
  @Test
  void builderDefaultAppliesAndRequestOverrides() {
    try (LifecycleFixture f =
        new LifecycleFixture(b -> b.runTimeout(Duration.ofSeconds(60)).runTimeoutGrace(Duration.ZERO))) {
      InMemoryConnection a = f.open("alice");
      RunHandle byDefault = f.start("s1", "alice", a);
      Result<RunHandle> r = f.rl.startRun(StartRequest.of("s2", "alice").withTimeout(Duration.ofSeconds(10)));
      RunHandle own = r.orElseThrow();
      f.time.advance(Duration.ofSeconds(10));
      assertEquals(RunState.FAILED, own.state());
      assertEquals(RunState.RUNNING, byDefault.state());
      f.time.advance(Duration.ofSeconds(50));
      assertEquals(RunState.FAILED, byDefault.state());
      assertEquals(1, f.cancelCalls(own));
      assertEquals(1, f.cancelCalls(byDefault));
    }
  }

  @Test
  void noTimeoutByDefault() {
    try (LifecycleFixture f = new LifecycleFixture()) {
      RunHandle run = f.start("s1", "alice", null);
      f.time.advance(Duration.ofDays(2));
      assertEquals(RunState.RUNNING, run.state());
    }
  }

  /** An ended run's deadline does nothing: no second terminal, no cancel hook, no listener call. */
  @Test
  void endedRunsDeadlineDoesNothing() {
    try (LifecycleFixture f = new LifecycleFixture(b -> b.runTimeoutGrace(Duration.ZERO))) {
      InMemoryConnection a = f.open("alice");
      RunHandle completed = startWithTimeout(f, a, Duration.ofSeconds(5));
      assertTrue(completed.complete("done").isOk());
      f.time.advance(Duration.ofSeconds(10));
      assertEquals(RunState.COMPLETED, completed.state());
      assertEquals(0, f.cancelCalls(completed));
      assertEquals(1, f.endedOf(completed).size());
      assertOneTerminal(a, completed.runId(), "run.completed");

      RunHandle aborted = startWithTimeout(f, a, Duration.ofSeconds(5));
      assertTrue(f.rl.abort(aborted.runId(), "alice").isOk());
      f.time.advance(Duration.ofSeconds(10));
      assertEquals(RunState.ABORTED, aborted.state());
      assertEquals(1, f.cancelCalls(aborted), "abort's cancel only, not a second one from expiry");
      assertEquals(1, f.endedOf(aborted).size());
      assertOneTerminal(a, aborted.runId(), "run.aborted");
    }
  }

  /** The deadline belongs to its run instance: it never ends the next run of the session. */
  @Test
  void deadlineOfAnEndedRunNeverEndsTheNextRun() {
    try (LifecycleFixture f = new LifecycleFixture(b -> b.runTimeoutGrace(Duration.ZERO))) {
      InMemoryConnection a = f.open("alice");
      RunHandle r1 = startWithTimeout(f, a, Duration.ofSeconds(5));
      r1.complete(null);
      RunHandle r2 = f.start("s1", "alice", a); // no timeout of its own
      f.time.advance(Duration.ofSeconds(6));
      assertEquals(RunState.RUNNING, r2.state());
      assertEquals(0, f.cancelCalls(r2));
    }
  }

  /** A cancel hook that throws does not stop the end; a pending approval is resolved by it. */
  @Test
  void throwingCancelHookStillEndsTheRunAndResolvesApprovals() {
    try (LifecycleFixture f = new LifecycleFixture(b -> b.runTimeoutGrace(Duration.ZERO))) {
      f.onCancel =
          run -> {
            throw new LifecycleFixture.Scripted("runtime's cancel failed");
          };
      InMemoryConnection a = f.open("alice");
      RunHandle run = startWithTimeout(f, a, Duration.ofSeconds(2));
      List<Approval.Resolution> resolutions = new ArrayList<>();
      run.requestApproval("x", null, (ap, res, d, by) -> resolutions.add(res));
      f.time.advance(Duration.ofSeconds(2));
      assertEquals(RunState.FAILED, run.state());
      assertEquals(List.of(Approval.Resolution.RUN_ENDED), resolutions);
      assertOneTerminal(a, run.runId(), "run.failed");
      assertEquals("RUN_ENDED", a.last("approval_resolved").get("resolution"));
    }
  }

  /** A runtime blocked forever still gets its run ended by the deadline (and told via cancel). */
  @Test
  void deadlineEndsRunOfABlockedRuntime() throws Exception {
    java.util.concurrent.ExecutorService exec = java.util.concurrent.Executors.newSingleThreadExecutor();
    java.util.concurrent.CountDownLatch stuck = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
    try (LifecycleFixture f =
        new LifecycleFixture(b -> b.runtimeExecutor(exec).runTimeout(Duration.ofSeconds(3)).runTimeoutGrace(Duration.ZERO))) {
      f.body =
          (run, input) -> {
            entered.countDown();
            stuck.await();
          };
      f.onCancel = run -> stuck.countDown();
      InMemoryConnection a = f.open("alice");
      a.sendText("start s1 go");
      assertTrue(entered.await(10, java.util.concurrent.TimeUnit.SECONDS));
      RunHandle run = f.rl.currentRun("s1").orElseThrow();
      f.time.advance(Duration.ofSeconds(3));
      assertEquals(RunState.FAILED, run.state());
      assertOneTerminal(a, run.runId(), "run.failed");
      exec.shutdown();
      assertTrue(exec.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS));
      assertEquals(1, f.endedOf(run).size());
      assertEquals(FailureReason.TIMEOUT, f.endedOf(run).get(0).failureReason());
    } finally {
      stuck.countDown();
      exec.shutdownNow();
    }
  }
}
