package dev.runlane.spec;

import dev.runlane.RunOutcome;
import static dev.runlane.spec.LifecycleFixture.assertOneTerminal;
import static dev.runlane.spec.LifecycleFixture.events;
import static dev.runlane.testkit.RunlaneAssertions.assertNoEvents;
import static dev.runlane.testkit.RunlaneAssertions.assertSeqRange;
import static dev.runlane.testkit.RunlaneAssertions.assertSeqs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.Result;
import dev.runlane.ErrorCode;
import dev.runlane.FailureReason;
import dev.runlane.RunHandle;
import dev.runlane.RunState;
import dev.runlane.StartRequest;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.WireMessage;
import dev.runlane.transport.CloseReason;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every run ends exactly once and only itself (P4 one end, P5 one active run per session): the safety
 * net, a late abort or an abort marker of one run never touch the next run of its session; abort
 * reaches only the run's recipients and ends the run even if the runtime never returns; a runtime
 * that dies at once or an executor that refuses still yields one failed terminal; a refused start
 * has no side effect; run ids are never reused; a disconnect never aborts. Each test fails on the
 * lifecycle bugs of the seed implementations (see docs/concepts/lifecycle.md).
 */
class OneEndPerRunTest {
  LifecycleFixture fx = new LifecycleFixture();

  @AfterEach
  void close() {
    fx.close();
  }

  /**
   * Seed 001: the safety net was keyed by session, so a runtime that returned after its run ended
   * and a new run had started in the same session ended the new run.
   */
  @Test
  void safetyNetOfAnOldRunNeverTouchesTheNextRunOfItsSession() {
    InMemoryConnection a = fx.open("alice");
    RunHandle r1 = fx.start("s1", "alice", a);
    AtomicReference<RunHandle> r2 = new AtomicReference<>();
    // r1's runtime completes, the client immediately starts the next turn, then r1's task returns
    Result<RunOutcome> net =
        fx.rl.runGuarded(
            r1,
            () -> {
              assertTrue(r1.complete("answer 1").isOk());
              r2.set(fx.start("s1", "alice", a));
            });
    assertFalse(net.isOk(), "the safety net must not end anything: r1 had ended");
    assertEquals(RunState.COMPLETED, r1.outcome().orElseThrow().state());
    assertEquals(ErrorCode.RUN_ENDED, net.refusalCode().orElseThrow());
    RunHandle next = r2.get();
    assertEquals(RunState.RUNNING, next.state());
    // a late guard (or a late failure report) for r1 still does not touch r2
    assertFalse(fx.rl.runGuarded(r1, () -> {}).isOk());
    assertFalse(
        fx.rl.runGuarded(
                r1,
                () -> {
                  throw new LifecycleFixture.Scripted("r1's runtime crashed late");
                })
            .isOk());
    assertFalse(fx.rl.runtimeDied(r1.runId(), "r1's worker died").isOk());
    assertEquals(RunState.RUNNING, next.state());
    assertTrue(next.publish("delta", "still streaming").isOk());
    assertSeqs(a, next.runId(), 1, 2);
    assertSeqRange(a, r1.runId(), 1, 2);
    assertEquals(1, fx.endedOf(r1).size());
    assertEquals(0, fx.endedOf(next).size());
    assertSame(next, fx.rl.currentRun("s1").orElseThrow());
  }

  /**
   * Seed 000: the /stop (abort) path still broadcast its "aborted" event to every socket. Here the
   * abort reaches the run's recipients and nobody else; a refused abort answers only the sender.
   */
  @Test
  void abortReachesOnlyTheRunsRecipients() {
    InMemoryConnection a1 = fx.open("alice");
    InMemoryConnection a2 = fx.open("alice"); // alice's second tab
    InMemoryConnection aOther = fx.open("alice"); // alice, but on another session
    InMemoryConnection b = fx.open("bob");
    InMemoryConnection idle = fx.open("carol");
    RunHandle r = fx.start("s1", "alice", a1);
    a2.sendText("sub s1 0");
    RunHandle rb = fx.start("s2", "bob", b);
    RunHandle ra2 = fx.start("s3", "alice", aOther);
    int bBefore = b.frames().size();
    int otherBefore = aOther.frames().size();
    int idleBefore = idle.frames().size();

    a1.sendText("abort s1");

    assertOneTerminal(a1, r.runId(), "run.aborted");
    assertOneTerminal(a2, r.runId(), "run.aborted");
    assertEquals(bBefore, b.frames().size(), "bob saw something of alice's abort: " + b.messages());
    assertEquals(otherBefore, aOther.frames().size(), "another session's tab saw the abort");
    assertEquals(idleBefore, idle.frames().size(), "an unrelated connection saw the abort");
    assertNoEvents(idle);
    assertEquals(RunState.RUNNING, rb.state());
    assertEquals(RunState.RUNNING, ra2.state());

    // bob's abort of bob's own session does not reach alice either
    int a1Before = a1.frames().size();
    b.sendText("abort s2");
    assertOneTerminal(b, rb.runId(), "run.aborted");
    assertEquals(a1Before, a1.frames().size());
    assertEquals(RunState.RUNNING, ra2.state());
  }

  /**
   * Seed 002 relied on the runtime to say "done": an aborted run whose runtime never returns left
   * the UI spinning. Abort ends the run on the runtime's behalf, at once, for every recipient.
   */
  @Test
  void abortEndsTheRunEvenIfTheRuntimeNeverReturns() throws Exception {
    ExecutorService exec = Executors.newSingleThreadExecutor();
    CountDownLatch running = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicReference<Result<RunOutcome>> lateComplete = new AtomicReference<>();
    AtomicReference<Result<Long>> latePublish = new AtomicReference<>();
    try (LifecycleFixture f = new LifecycleFixture(b -> b.runtimeExecutor(exec))) {
      f.body =
          (run, input) -> {
            run.publish("delta", "thinking");
            running.countDown();
            release.await(); // a runtime stuck on a model call, deaf to interruption
            latePublish.set(run.publish("delta", "too late"));
            lateComplete.set(run.complete("too late"));
          };
      InMemoryConnection tab1 = f.open("alice");
      InMemoryConnection tab2 = f.open("alice");
      tab1.sendText("start s1 hello");
      assertTrue(running.await(10, TimeUnit.SECONDS));
      RunHandle run = f.rl.currentRun("s1").orElseThrow();
      tab2.sendText("sub s1 0");
      assertSeqRange(tab2, run.runId(), 1, 2);

      tab2.sendText("abort s1");

      // the runtime is still blocked, yet the run has ended for everyone
      assertEquals(RunState.ABORTED, run.state());
      WireMessage t1 = assertOneTerminal(tab1, run.runId(), "run.aborted");
      WireMessage t2 = assertOneTerminal(tab2, run.runId(), "run.aborted");
      assertEquals("3", t1.get("seq"));
      assertEquals(t1, t2);
      assertEquals(1, f.cancelCalls(run));
      assertEquals(1, f.endedOf(run).size());
      assertEquals("alice", f.endedOf(run).get(0).abortedBy());

      release.countDown();
      exec.shutdown();
      assertTrue(exec.awaitTermination(10, TimeUnit.SECONDS));
      assertEquals(ErrorCode.RUN_ENDED, latePublish.get().refusalCode().orElseThrow());
      assertFalse(lateComplete.get().isOk());
      assertEquals(ErrorCode.RUN_ENDED, lateComplete.get().refusalCode().orElseThrow());
      assertSeqRange(tab1, run.runId(), 1, 3);
      assertSeqRange(tab2, run.runId(), 1, 3);
      assertEquals(1, f.endedOf(run).size(), "the safety net must not end it again");
      assertEquals(1, f.cancelCalls(run));
    } finally {
      release.countDown();
      exec.shutdownNow();
    }
  }

  /**
   * Seed 003 sent "exited" only if the agent had reached running: a runtime that died while
   * starting left watchers waiting forever. Runlane's run is a recipient-visible run from its first
   * event, and a runtime death at any point yields exactly one failed terminal.
   */
  @Test
  void runtimeDeathRightAfterStartYieldsAFailedTerminal() {
    List<Runnable> neverRun = new java.util.ArrayList<>();
    try (LifecycleFixture f = new LifecycleFixture(b -> b.runtimeExecutor(neverRun::add))) {
      InMemoryConnection a = f.open("alice");
      InMemoryConnection watcher = f.open("alice");
      a.sendText("start s1 hello");
      RunHandle run = f.rl.currentRun("s1").orElseThrow();
      watcher.sendText("sub s1 0");
      assertEquals(1, neverRun.size(), "the runtime task was handed to the executor");

      Result<RunOutcome> died = f.rl.runtimeDied(run.runId(), "worker crashed before the agent ran");

      assertTrue(died.isOk());
      assertEquals(RunState.FAILED, died.orElseThrow().state());
      assertEquals(FailureReason.RUNTIME_DIED, died.orElseThrow().failureReason());
      WireMessage t = assertOneTerminal(a, run.runId(), "run.failed");
      assertEquals("RUNTIME_DIED", t.get("reason"));
      assertOneTerminal(watcher, run.runId(), "run.failed");
      assertSeqRange(a, run.runId(), 1, 2);
      assertEquals(1, f.endedOf(run).size());
      // the runtime task finally runs: it publishes into an ended run and the net loses
      neverRun.get(0).run();
      assertSeqRange(a, run.runId(), 1, 2);
      assertEquals(1, f.endedOf(run).size());
      // and a second death report is a no-op
      assertFalse(f.rl.runtimeDied(run.runId(), null).isOk());
    }
  }

  /** The executor refusing the runtime is also an end, not a run stuck in "running". */
  @Test
  void executorRejectionFailsTheRun() {
    try (LifecycleFixture f =
        new LifecycleFixture(
            b ->
                b.runtimeExecutor(
                    r -> {
                      throw new java.util.concurrent.RejectedExecutionException("full");
                    }))) {
      InMemoryConnection a = f.open("alice");
      a.sendText("start s1 hello");
      RunHandle run = f.rl.currentRun("s1").orElseThrow();
      assertEquals(RunState.FAILED, run.state());
      assertOneTerminal(a, run.runId(), "run.failed");
      assertEquals(1, f.endedOf(run).size());
    }
  }

  /**
   * A late abort (the user hits stop just as the answer finishes) must not turn the finished answer
   * into an error: it is refused with NO_ACTIVE_RUN, takes no seq and sends nothing to recipients.
   */
  @Test
  void lateAbortAfterCompletionIsANoOp() {
    InMemoryConnection a = fx.open("alice");
    InMemoryConnection tab2 = fx.open("alice");
    RunHandle run = fx.start("s1", "alice", a);
    tab2.sendText("sub s1 0");
    run.publish("delta", "the answer");
    assertTrue(run.complete("the answer").isOk());
    long head = run.headSeq();
    int tab2Before = tab2.frames().size();

    Result<RunOutcome> api = fx.rl.abort(run.runId(), "alice");
    assertFalse(api.isOk());
    assertEquals(ErrorCode.NO_ACTIVE_RUN, api.refusalCode().orElse(null));
    assertEquals(ErrorCode.NO_ACTIVE_RUN, fx.rl.abortSession("s1", "alice").refusalCode().orElse(null));
    a.sendText("abort s1");
    a.sendText("abort s1 " + run.runId());

    assertEquals(RunState.COMPLETED, run.state());
    assertEquals(head, run.headSeq(), "a late abort took a seq");
    assertOneTerminal(a, run.runId(), "run.completed");
    List<WireMessage> errors = a.messages("error");
    assertEquals(2, errors.size());
    for (WireMessage e : errors) {
      assertEquals("NO_ACTIVE_RUN", e.get("code"));
      assertEquals("s1", e.get("session"));
    }
    assertEquals(tab2Before, tab2.frames().size(), "the other tab saw the refused abort");
    assertEquals(0, fx.cancelCalls(run));
    assertEquals(1, fx.endedOf(run).size());
    assertEquals(RunState.COMPLETED, fx.endedOf(run).get(0).state());
  }

  /**
   * An abort marker kept per session silenced the next run's events. Here an abort belongs to one
   * run instance: the next run of the session publishes and ends normally, and the aborted run's
   * runtime is still silenced.
   */
  @Test
  void abortOfOneRunNeverSilencesTheNextRun() {
    InMemoryConnection a = fx.open("alice");
    RunHandle r1 = fx.start("s1", "alice", a);
    assertTrue(fx.rl.abort(r1.runId(), "alice").isOk());
    RunHandle r2 = fx.start("s1", "alice", a);

    assertTrue(r2.publish("delta", "new turn").isOk());
    assertFalse(r1.publish("delta", "old runtime, still talking").isOk());
    assertFalse(r1.complete(null).isOk());
    assertTrue(r2.publish("delta", "more").isOk());
    assertTrue(r2.complete(null).isOk());

    assertSeqRange(a, r2.runId(), 1, 4);
    assertOneTerminal(a, r2.runId(), "run.completed");
    assertOneTerminal(a, r1.runId(), "run.aborted");
    assertEquals(1, fx.cancelCalls(r1));
    assertEquals(0, fx.cancelCalls(r2));
    assertEquals(RunState.ABORTED, r1.state());
  }

  /**
   * RUN_IN_PROGRESS: starting while a run is running is refused with the typed reason and changes
   * nothing: no seq, no event, no recipient, no follower.
   */
  @Test
  void runInProgressRefusalHasNoSideEffect() {
    InMemoryConnection a = fx.open("alice");
    InMemoryConnection tab2 = fx.open("alice");
    RunHandle run = fx.start("s1", "alice", a);
    long head = run.headSeq();
    int runs = fx.rl.runCount();
    int sessions = fx.rl.sessionCount();
    int aFrames = a.frames().size();

    Result<RunHandle> r = fx.rl.startRun(StartRequest.of("s1", "alice").fromConnection(tab2.id()).following());
    assertEquals(ErrorCode.RUN_IN_PROGRESS, assertInstanceOf(Result.Refused.class, r).code());
    tab2.sendText("start s1 again");
    WireMessage err = tab2.last("error");
    assertNotNull(err);
    assertEquals("RUN_IN_PROGRESS", err.get("code"));
    assertEquals("s1", err.get("session"));

    assertEquals(head, run.headSeq());
    assertEquals(runs, fx.rl.runCount());
    assertEquals(sessions, fx.rl.sessionCount());
    assertEquals(java.util.Set.of(a.id()), fx.rl.recipientsOf(run.runId()));
    assertEquals(aFrames, a.frames().size());
    assertNoEvents(tab2);
    assertEquals(RunState.RUNNING, run.state());
    // tab2 was not made a follower by either refused start: the next run does not reach it
    run.complete(null);
    RunHandle next = fx.start("s1", "alice", null);
    next.publish("delta", "x");
    assertNoEvents(tab2);
    assertSeqRange(a, run.runId(), 1, 2);
    assertTrue(events(a, next.runId()).isEmpty(), "a started the run without following");
  }

  /** Run ids are never reused, also across ended and evicted runs of the same session. */
  @Test
  void runIdsAreNeverReused() {
    java.util.Set<String> ids = new java.util.HashSet<>();
    for (int i = 0; i < 50; i++) {
      RunHandle r = fx.start("s1", "alice", null);
      assertTrue(ids.add(r.runId()), "run id reused: " + r.runId());
      r.complete(null);
      if (i % 10 == 0) {
        fx.time.advance(java.time.Duration.ofHours(1)); // past retention: evicted
      }
    }
    assertNull(fx.rl.run("no-such-run").orElse(null));
  }

  /** Disconnecting never aborts: the run goes on and a reconnect resumes it. */
  @Test
  void disconnectNeverAborts() {
    InMemoryConnection a = fx.open("alice");
    RunHandle run = fx.start("s1", "alice", a);
    run.publish("delta", 1);
    a.clientClose(CloseReason.NORMAL);
    assertEquals(RunState.RUNNING, run.state());
    assertTrue(run.publish("delta", 2).isOk());
    InMemoryConnection other = fx.open("alice");
    fx.rl.subscribe(other.id(), dev.runlane.SubscribeTarget.session("s1", 0, null), dev.runlane.AttachMode.ADDITIVE);
    fx.rl.disconnect(other.id(), CloseReason.NORMAL); // a host-side close does not abort either
    assertEquals(RunState.RUNNING, run.state());
    assertEquals(0, fx.cancelCalls(run));
    assertTrue(fx.ended.isEmpty());
    InMemoryConnection back = fx.open("alice");
    back.sendText("sub s1 2 " + run.epoch());
    assertTrue(run.complete(null).isOk());
    assertSeqs(back, run.runId(), 3, 4);
    assertOneTerminal(back, run.runId(), "run.completed");
  }
}
