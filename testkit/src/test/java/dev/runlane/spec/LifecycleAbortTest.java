package dev.runlane.spec;

import static dev.runlane.spec.LifecycleFixture.assertOneTerminal;
import static dev.runlane.testkit.RunlaneAssertions.assertNoEvents;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.AbortResult;
import dev.runlane.Action;
import dev.runlane.AttachMode;
import dev.runlane.Authorizer;
import dev.runlane.EndResult;
import dev.runlane.ErrorCode;
import dev.runlane.FailureReason;
import dev.runlane.PublishResult;
import dev.runlane.RunHandle;
import dev.runlane.RunOutcome;
import dev.runlane.RunState;
import dev.runlane.StartRequest;
import dev.runlane.StartResult;
import dev.runlane.SubscribeResult;
import dev.runlane.SubscribeTarget;
import dev.runlane.testkit.InMemoryConnection;
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
    AbortResult r = fx.rl.abort(run.runId(), "alice");
    assertTrue(r.aborted());
    assertNull(r.refusal());
    assertEquals(run.runId(), r.runId());
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
    assertEquals(PublishResult.Status.DROPPED_RUN_ENDED, run.publish("delta", "late").status());
    EndResult late = run.complete("late");
    assertFalse(late.won());
    assertEquals(RunState.ABORTED, late.outcome().state());
    assertFalse(run.fail(FailureReason.RUNTIME_ERROR, 1, "late").won());
    assertEquals(3, run.headSeq());
    assertEquals(1, fx.endedOf(run).size());
  }

  @Test
  void otherPrincipalIsForbiddenWithTheDefaultAuthorizer() {
    InMemoryConnection a = fx.open("alice");
    InMemoryConnection bob = fx.open("bob");
    RunHandle run = fx.start("s1", "alice", a);
    int aFrames = a.frames().size();

    AbortResult r = fx.rl.abort(run.runId(), "bob");
    assertFalse(r.aborted());
    assertEquals(ErrorCode.FORBIDDEN, r.refusal());
    assertEquals(ErrorCode.FORBIDDEN, fx.rl.abortSession("s1", "bob").refusal());
    bob.sendText("abort s1");
    assertEquals("FORBIDDEN", bob.last("error").get("code"));
    bob.sendText("abort s1 " + run.runId());
    assertEquals("FORBIDDEN", bob.last("error").get("code"));

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
      assertEquals(ErrorCode.FORBIDDEN, f.rl.abort(run.runId(), "bob").refusal());
      assertEquals(RunState.RUNNING, run.state());
      // the owner is never asked about: owner aborts do not depend on the hook
      assertTrue(f.rl.abort(run.runId(), "alice").aborted());
    }
  }

  @Test
  void abortWithoutARunningRunIsNoActiveRun() {
    InMemoryConnection a = fx.open("alice");
    AbortResult unknownSession = fx.rl.abortSession("nope", "alice");
    assertEquals(ErrorCode.NO_ACTIVE_RUN, unknownSession.refusal());
    assertNull(unknownSession.runId());
    AbortResult unknownRun = fx.rl.abort("run_nope", "alice");
    assertEquals(ErrorCode.NO_ACTIVE_RUN, unknownRun.refusal());
    a.sendText("abort nope");
    assertEquals("NO_ACTIVE_RUN", a.last("error").get("code"));
    assertEquals("nope", a.last("error").get("session"));

    RunHandle ended = fx.start("s1", "alice", a);
    ended.complete(null);
    AbortResult afterEnd = fx.rl.abortSession("s1", "alice");
    assertEquals(ErrorCode.NO_ACTIVE_RUN, afterEnd.refusal());
    // also for a stranger: an ended run is not an active run for anybody
    assertEquals(ErrorCode.NO_ACTIVE_RUN, fx.rl.abort(ended.runId(), "bob").refusal());
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
    AtomicReference<PublishResult> published = new AtomicReference<>();
    AtomicReference<StartResult> startedElsewhere = new AtomicReference<>();
    AtomicReference<StartResult> startedHere = new AtomicReference<>();
    AtomicReference<AbortResult> secondAbort = new AtomicReference<>();
    AtomicReference<EndResult> completeInHook = new AtomicReference<>();
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
                      SubscribeResult sub =
                          fx.rl.subscribe(watcher.id(), SubscribeTarget.session("s1", 0, null), AttachMode.ADDITIVE);
                      StartResult s3 = fx.rl.startRun(StartRequest.of("s3", "alice"));
                      return List.of(head, sub, s3, fx.rl.recipientsOf(r.runId()));
                    });
            fromOtherThread.set(f.get(10, TimeUnit.SECONDS));
          } catch (Throwable e) {
            problems.add(e);
          }
        };

    AbortResult result = fx.rl.abort(run.runId(), "alice");

    other.shutdownNow();
    assertTrue(problems.isEmpty(), "cancel hook: " + problems);
    assertTrue(result.aborted());
    assertEquals(1, fx.cancelCalls(run));
    assertEquals(Boolean.FALSE, holdsRunLock.get());
    assertNotNull(fromOtherThread.get(), "another thread could not take Runlane's locks during the hook");
    assertEquals(PublishResult.Status.DROPPED_RUN_ENDED, published.get().status());
    assertInstanceOf(StartResult.Started.class, startedElsewhere.get());
    assertEquals(ErrorCode.RUN_IN_PROGRESS, ((StartResult.Refused) startedHere.get()).code());
    assertFalse(secondAbort.get().aborted());
    assertEquals(ErrorCode.NO_ACTIVE_RUN, secondAbort.get().refusal());
    assertFalse(completeInHook.get().won());
    assertNull(completeInHook.get().outcome());
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
    CompletableFuture<AbortResult> abort = CompletableFuture.supplyAsync(() -> fx.rl.abort(run.runId(), "alice"));
    try {
      assertTrue(inHook.await(10, TimeUnit.SECONDS));
      assertEquals(RunState.CANCELLING, run.state());
      assertFalse(run.isEnded());
      StartResult refused = fx.rl.startRun(StartRequest.of("s1", "alice"));
      assertEquals(ErrorCode.RUN_IN_PROGRESS, ((StartResult.Refused) refused).code());
      assertEquals(ErrorCode.NO_ACTIVE_RUN, fx.rl.abort(run.runId(), "alice").refusal());
      assertFalse(fx.rl.runtimeDied(run.runId(), "x").won());
      InMemoryConnection late = fx.open("alice");
      late.sendText("sub s1 0");
      assertEquals("true", late.last("subscribed").get("processing"));
      release.countDown();
      assertTrue(abort.get(10, TimeUnit.SECONDS).aborted());
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
                        if (fx.rl.abort(run.runId(), "alice").aborted()) {
                          wins.incrementAndGet();
                          aborts.incrementAndGet();
                        }
                      }
                      case 1 -> {
                        if (run.complete(id).won()) {
                          wins.incrementAndGet();
                        }
                      }
                      default -> {
                        if (run.fail(FailureReason.RUNTIME_ERROR, 1, "t" + id).won()) {
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
