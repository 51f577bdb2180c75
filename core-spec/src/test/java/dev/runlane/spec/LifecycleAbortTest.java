package dev.runlane.spec;

import dev.runlane.codec.SubscribeAck;
import static dev.runlane.spec.LifecycleFixture.assertOneTerminal;
import static dev.runlane.testkit.RunlaneAssertions.assertNoEvents;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.Result;
import dev.runlane.Action;
import dev.runlane.AttachMode;
import dev.runlane.Authorizer;
import dev.runlane.ErrorCode;
import dev.runlane.FailureReason;
import dev.runlane.RunHandle;
import dev.runlane.RunOutcome;
import dev.runlane.RunState;
import dev.runlane.StartRequest;
import dev.runlane.SubscribeTarget;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testsupport.CapturedLogs;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * Abort (issue 4): only an authorized principal, only while running; the host's cancel hook is
 * called exactly once and under no lock; the run is ended as aborted on the runtime's behalf and
 * whatever the runtime emits afterwards is dropped.
 */
class LifecycleAbortTest {
  LifecycleFixture fx = new LifecycleFixture();

  @AfterEach
  void close() {
    fx.close();
  }

  @Test
  void ownerAbortEndsTheRunAsAborted() {
    InMemoryConnection a = fx.open("alice");
    RunHandle run = fx.start("s1", "alice", a);
    run.publish("delta", "x");
    Result<RunOutcome> r = fx.rl.abort(run.runId(), "alice");
    assertTrue(r.isOk());
    assertNull(r.refusalCode().orElse(null));
    assertEquals(run.runId(), r.orElseThrow().runId());
    assertEquals(RunState.ABORTED, run.state());
    assertEquals("3", assertOneTerminal(a, run.runId(), "run.aborted").get("seq"));
    RunOutcome o = fx.endedOf(run).get(0);
    assertEquals(RunState.ABORTED, o.state());
    assertEquals(130, o.exitCode());
    assertEquals("alice", o.abortedBy());
    assertEquals(3, o.terminalSeq());
    assertNull(o.failureReason());
    assertEquals(1, fx.cancelCalls(run));
    // the runtime's later output is dropped without a seq
    assertEquals(ErrorCode.RUN_ENDED, run.publish("delta", "late").refusalCode().orElseThrow());
    Result<RunOutcome> late = run.complete("late");
    assertFalse(late.isOk());
    assertEquals(ErrorCode.RUN_ENDED, late.refusalCode().orElseThrow());
    assertEquals(RunState.ABORTED, run.outcome().orElseThrow().state());
    assertFalse(run.fail(FailureReason.RUNTIME_ERROR, 1, "late").isOk());
    assertEquals(3, run.headSeq());
    assertEquals(1, fx.endedOf(run).size());
  }

  @Test
  void otherPrincipalIsToldTheSessionIsNotFoundWithTheDefaultAuthorizer() {
    InMemoryConnection a = fx.open("alice");
    InMemoryConnection bob = fx.open("bob");
    RunHandle run = fx.start("s1", "alice", a);
    int aFrames = a.frames().size();

    // the default authorizer answers NOT_FOUND to strangers: the same answer as for an idle or a
    // missing session, so bob learns nothing of alice's activity
    Result<RunOutcome> r = fx.rl.abort(run.runId(), "bob");
    assertFalse(r.isOk());
    assertEquals(ErrorCode.SESSION_NOT_FOUND, r.refusalCode().orElse(null));
    assertEquals(ErrorCode.SESSION_NOT_FOUND, fx.rl.abortSession("s1", "bob").refusalCode().orElse(null));
    bob.sendText("abort s1");
    assertEquals("SESSION_NOT_FOUND", bob.last("error").get("code"));
    bob.sendText("abort s1 " + run.runId());
    assertEquals("SESSION_NOT_FOUND", bob.last("error").get("code"));

    assertEquals(RunState.RUNNING, run.state());
    assertEquals(1, run.headSeq());
    assertEquals(0, fx.cancelCalls(run));
    assertEquals(aFrames, a.frames().size(), "alice saw bob's refused abort");
    assertNoEvents(bob);
    assertTrue(fx.ended.isEmpty());
  }

  @Test
  void customAuthorizerMayAllowOthersToAbort() {
    Authorizer moderators =
        (principal, action, sessionId, owner) -> {
          if (principal.equals(owner) || owner == null && action == Action.START) {
            return Authorizer.Decision.ALLOW;
          }
          return principal.equals("mod") && action == Action.ABORT
              ? Authorizer.Decision.ALLOW
              : Authorizer.Decision.DENY;
        };
    try (LifecycleFixture f = new LifecycleFixture(b -> b.authorizer(moderators))) {
      InMemoryConnection a = f.open("alice");
      InMemoryConnection mod = f.open("mod");
      InMemoryConnection eve = f.open("eve");
      RunHandle run = f.start("s1", "alice", a);
      eve.sendText("abort s1");
      assertEquals("FORBIDDEN", eve.last("error").get("code"));
      assertEquals(RunState.RUNNING, run.state());

      mod.sendText("abort s1");

      assertNull(mod.last("error"));
      assertNoEvents(mod); // allowed to abort, not made a recipient
      assertEquals(RunState.ABORTED, run.state());
      assertOneTerminal(a, run.runId(), "run.aborted");
      assertEquals("mod", f.endedOf(run).get(0).abortedBy());
      assertEquals(1, f.cancelCalls(run));
    }
  }

  @Test
  void throwingAuthorizerDenies() {
    Authorizer broken =
        (principal, action, sessionId, owner) -> {
          if (action == Action.START) {
            return Authorizer.Decision.ALLOW;
          }
          throw new LifecycleFixture.Scripted("ACL service down");
        };
    try (LifecycleFixture f = new LifecycleFixture(b -> b.authorizer(broken))) {
      RunHandle run = f.start("s1", "alice", null);
      assertEquals(ErrorCode.FORBIDDEN, f.rl.abort(run.runId(), "bob").refusalCode().orElse(null));
      assertEquals(RunState.RUNNING, run.state());
      List<CapturedLogs.Entry> logged = CapturedLogs.matching(Level.WARN, "authorizer threw for bob ABORT on session s1");
      assertEquals(1, logged.size(), "the broken authorizer is logged once per call");
      assertEquals("ACL service down", logged.get(0).error().getMessage());
      // the owner is never asked about: owner aborts do not depend on the hook
      assertTrue(f.rl.abort(run.runId(), "alice").isOk());
    }
  }

  @Test
  void abortWithoutARunningRunIsNoActiveRun() {
    InMemoryConnection a = fx.open("alice");
    Result<RunOutcome> unknownSession = fx.rl.abortSession("nope", "alice");
    assertEquals(ErrorCode.NO_ACTIVE_RUN, unknownSession.refusalCode().orElse(null));
    Result<RunOutcome> unknownRun = fx.rl.abort("run_nope", "alice");
    assertEquals(ErrorCode.NO_ACTIVE_RUN, unknownRun.refusalCode().orElse(null));
    a.sendText("abort nope");
    assertEquals("NO_ACTIVE_RUN", a.last("error").get("code"));
    assertEquals("nope", a.last("error").get("session"));

    RunHandle ended = fx.start("s1", "alice", a);
    ended.complete(null);
    Result<RunOutcome> afterEnd = fx.rl.abortSession("s1", "alice");
    assertEquals(ErrorCode.NO_ACTIVE_RUN, afterEnd.refusalCode().orElse(null));
    // a stranger is answered by the authorizer first, the same as while the run was going
    assertEquals(ErrorCode.SESSION_NOT_FOUND, fx.rl.abort(ended.runId(), "bob").refusalCode().orElse(null));
  }

  /** Naming a run of another session in "abort SESSION RUN" never aborts that run. */
  @Test
  void abortNamingARunOfAnotherSessionIsRefused() {
    InMemoryConnection a = fx.open("alice");
    RunHandle s1 = fx.start("s1", "alice", a);
    RunHandle s2 = fx.start("s2", "alice", a);
    a.sendText("abort s2 " + s1.runId());
    assertEquals("NO_ACTIVE_RUN", a.last("error").get("code"));
    assertEquals(RunState.RUNNING, s1.state());
    assertEquals(RunState.RUNNING, s2.state());
    a.sendText("abort s2 " + s2.runId());
    assertEquals(RunState.ABORTED, s2.state());
    assertEquals(RunState.RUNNING, s1.state());
  }

  /**
   * The cancel hook is called once, on no lock: from inside it, another thread can take the run's
   * and the sessions' locks (it would time out if the hook held one), and the hook itself can call
   * back into Runlane. What the runtime publishes from the hook is dropped.
   */
  @Test
  void cancelHookIsCalledOnceAndUnderNoLock() throws Exception {
    InMemoryConnection a = fx.open("alice");
    InMemoryConnection watcher = fx.open("alice");
    RunHandle run = fx.start("s1", "alice", a);
    watcher.sendText("sub s1 0");
    ExecutorService other = Executors.newSingleThreadExecutor();
    AtomicReference<Result<Long>> published = new AtomicReference<>();
    AtomicReference<Result<RunHandle>> startedElsewhere = new AtomicReference<>();
    AtomicReference<Result<RunHandle>> startedHere = new AtomicReference<>();
    AtomicReference<Result<RunOutcome>> secondAbort = new AtomicReference<>();
    AtomicReference<Result<RunOutcome>> completeInHook = new AtomicReference<>();
    AtomicReference<Boolean> holdsRunLock = new AtomicReference<>();
    AtomicReference<Object> fromOtherThread = new AtomicReference<>();
    List<Throwable> problems = Collections.synchronizedList(new ArrayList<>());
    fx.onCancel =
        r -> {
          try {
            holdsRunLock.set(Thread.holdsLock(r));
            assertEquals(RunState.CANCELLING, r.state());
            published.set(r.publish("delta", "from the cancel hook"));
            startedElsewhere.set(fx.rl.startRun(StartRequest.of("s2", "alice").fromConnection(a.id())));
            startedHere.set(fx.rl.startRun(StartRequest.of("s1", "alice")));
            secondAbort.set(fx.rl.abort(r.runId(), "alice"));
            completeInHook.set(r.complete("runtime's own end"));
            // another thread takes the run's lock, the session's lock and the connection's state
            Future<Object> f =
                other.submit(
                    () -> {
                      long head = r.headSeq();
                      Result<SubscribeAck> sub =
                          fx.rl.subscribe(watcher.id(), SubscribeTarget.session("s1", 0, null), AttachMode.ADDITIVE);
                      Result<RunHandle> s3 = fx.rl.startRun(StartRequest.of("s3", "alice"));
                      return List.of(head, sub, s3, fx.rl.recipientsOf(r.runId()));
                    });
            fromOtherThread.set(f.get(10, TimeUnit.SECONDS));
          } catch (Throwable e) {
            problems.add(e);
          }
        };

    Result<RunOutcome> result = fx.rl.abort(run.runId(), "alice");

    other.shutdownNow();
    assertTrue(problems.isEmpty(), "cancel hook: " + problems);
    assertTrue(result.isOk());
    assertEquals(1, fx.cancelCalls(run));
    assertEquals(Boolean.FALSE, holdsRunLock.get());
    assertNotNull(fromOtherThread.get(), "another thread could not take Runlane's locks during the hook");
    assertEquals(ErrorCode.RUN_ENDED, published.get().refusalCode().orElseThrow());
    assertTrue(startedElsewhere.get().isOk());
    assertEquals(ErrorCode.RUN_IN_PROGRESS, startedHere.get().refusalCode().orElseThrow());
    assertFalse(secondAbort.get().isOk());
    assertEquals(ErrorCode.NO_ACTIVE_RUN, secondAbort.get().refusalCode().orElse(null));
    assertFalse(completeInHook.get().isOk());
    assertEquals(ErrorCode.RUN_ENDED, completeInHook.get().refusalCode().orElseThrow());
    assertEquals(RunState.ABORTED, run.state());
    assertEquals(2, run.headSeq(), "started + aborted only: the hook's publish took no seq");
    assertOneTerminal(a, run.runId(), "run.aborted");
    assertOneTerminal(watcher, run.runId(), "run.aborted");
    assertEquals(1, fx.endedOf(run).size());
  }

  /** While the cancel hook runs, the run is CANCELLING: processing for subscribers, refusing starts. */
  @Test
  void whileCancellingTheRunIsStillInProgress() throws Exception {
    java.util.concurrent.CountDownLatch inHook = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    fx.onCancel =
        r -> {
          inHook.countDown();
          try {
            release.await(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        };
    InMemoryConnection a = fx.open("alice");
    RunHandle run = fx.start("s1", "alice", a);
    CompletableFuture<Result<RunOutcome>> abort = CompletableFuture.supplyAsync(() -> fx.rl.abort(run.runId(), "alice"));
    try {
      assertTrue(inHook.await(10, TimeUnit.SECONDS));
      assertEquals(RunState.CANCELLING, run.state());
      assertFalse(run.isEnded());
      Result<RunHandle> refused = fx.rl.startRun(StartRequest.of("s1", "alice"));
      assertEquals(ErrorCode.RUN_IN_PROGRESS, refused.refusalCode().orElseThrow());
      assertEquals(ErrorCode.NO_ACTIVE_RUN, fx.rl.abort(run.runId(), "alice").refusalCode().orElse(null));
      assertFalse(fx.rl.runtimeDied(run.runId(), "x").isOk());
      InMemoryConnection late = fx.open("alice");
      late.sendText("sub s1 0");
      assertEquals("true", late.last("subscribed").get("processing"));
      release.countDown();
      assertTrue(abort.get(10, TimeUnit.SECONDS).isOk());
      assertOneTerminal(late, run.runId(), "run.aborted"); // attached while cancelling: gets the end
    } finally {
      release.countDown();
    }
    assertOneTerminal(a, run.runId(), "run.aborted");
    assertEquals(1, fx.endedOf(run).size());
  }

  /** Many racing aborts, completes and failures of one run: exactly one wins. */
  @Tag("stress")
  @Test
  void racingEndsHaveExactlyOneWinner() throws Exception {
    int rounds = 300 * Integer.getInteger("runlane.stress.scale", 1);
    int threads = 6;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      InMemoryConnection a = fx.open("alice");
      for (int round = 0; round < rounds; round++) {
        a.clearReceived();
        RunHandle run = fx.start("s1", "alice", a);
        CyclicBarrier go = new CyclicBarrier(threads);
        AtomicInteger wins = new AtomicInteger();
        AtomicInteger aborts = new AtomicInteger();
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          int id = t;
          fs.add(
              pool.submit(
                  () -> {
                    go.await(10, TimeUnit.SECONDS);
                    run.publish("delta", id);
                    switch (id % 3) {
                      case 0 -> {
                        if (fx.rl.abort(run.runId(), "alice").isOk()) {
                          wins.incrementAndGet();
                          aborts.incrementAndGet();
                        }
                      }
                      case 1 -> {
                        if (run.complete(id).isOk()) {
                          wins.incrementAndGet();
                        }
                      }
                      default -> {
                        if (run.fail(FailureReason.RUNTIME_ERROR, 1, "t" + id).isOk()) {
                          wins.incrementAndGet();
                        }
                      }
                    }
                    return null;
                  }));
        }
        for (Future<?> f : fs) {
          f.get(30, TimeUnit.SECONDS);
        }
        assertEquals(1, wins.get(), "round " + round);
        assertTrue(run.isEnded());
        assertEquals(aborts.get(), fx.cancelCalls(run), "round " + round);
        assertEquals(1, fx.endedOf(run).size());
        assertOneTerminal(
            a,
            run.runId(),
            switch (run.state()) {
              case COMPLETED -> "run.completed";
              case ABORTED -> "run.aborted";
              default -> "run.failed";
            });
        assertEquals(run.headSeq(), fx.endedOf(run).get(0).terminalSeq());
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
