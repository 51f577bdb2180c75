package dev.runlane.spec;

import static dev.runlane.testkit.RunlaneAssertions.assertNoEvents;
import static dev.runlane.testkit.RunlaneAssertions.seqsOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.InvariantCheck;
import dev.runlane.RunlaneBuilder;
import dev.runlane.Action;
import dev.runlane.AttachMode;
import dev.runlane.Result;
import dev.runlane.Authorizer;
import dev.runlane.ErrorCode;
import dev.runlane.FailureReason;
import dev.runlane.RunHandle;
import dev.runlane.RunState;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.SubscribeTarget;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.TextCodec;
import dev.runlane.transport.CloseReason;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Routing at its edges: who gets subscribed and authorized when a start, a reused connection id, a
 * retired session or a limit meets the routing rules (P1 isolation), a throwing runtime executor
 * still ends its run once (P4), and races between detach, reattach, takeover, follow and close
 * leave the registries in agreement (P9 no leaks). Each test failed on the engine before its fix
 * (they came from an adversarial review). Heartbeats and the idle timeout are off so the manual
 * clock fires only what a test asks for.
 */
class RoutingEdgeCasesTest {
  private final ManualTimeSource time = new ManualTimeSource();
  private Runlane rl = build(b -> b);
  private InMemoryTransport tx = new InMemoryTransport(rl);

  private Runlane build(UnaryOperator<RunlaneBuilder> custom) {
    return InvariantCheck.track(custom
        .apply(
            Runlane.builder()
                .codec(new TextCodec())
                .timeSource(time)
                .heartbeatInterval(Duration.ZERO)
                .idleTimeout(Duration.ZERO))
        .build());
  }

  private void rebuild(UnaryOperator<RunlaneBuilder> custom) {
    InvariantCheck.closeChecked(rl);
    rl = build(custom);
    tx = new InMemoryTransport(rl);
  }

  @AfterEach
  void closeRunlane() {
    rl.close();
  }

  private static RunHandle started(Result<RunHandle> r) {
    return r.orElseThrow();
  }

  private static void join(Thread t) throws InterruptedException {
    t.join(TimeUnit.SECONDS.toMillis(10));
    assertFalse(t.isAlive(), "thread " + t.getName() + " did not finish");
  }

  /**
   * Finding 1. The start's run.started event used to be flushed to the transport while the session
   * lock was held. A starter whose send failed synchronously was then closed on that thread, under
   * that lock, before the run was the session's current run: closing it unfollowed and retired the
   * (still idle) session, and the run was published into a dead session. The session then had no
   * current run and a second start in it succeeded: two running runs in one session (promise 5).
   */
  @Test
  void starterWhoseSendFailsSynchronouslyDoesNotUnhookTheRunFromItsSession() {
    InMemoryConnection a = tx.open("alice");
    a.mode(InMemoryConnection.Mode.FAIL);

    RunHandle first = started(rl.startRun(StartRequest.of("s", "alice").fromConnection(a.id()).following()));

    assertEquals(CloseReason.SEND_FAILED, a.closeReason(), "the starter's failed send closes it");
    assertSame(first, rl.currentRun("s").orElse(null), "the running run is the session's current run");
    Result<RunHandle> second = rl.startRun(StartRequest.of("s", "alice"));
    Result.Refused<?> no = assertInstanceOf(Result.Refused.class, second, "two running runs in one session");
    assertEquals(ErrorCode.RUN_IN_PROGRESS, no.code());
    assertEquals(1, rl.sessionCount());
  }

  /**
   * Finding 2. The starter exemption from the authorizer compared connection ids only. Ids are
   * unique among live connections (rule T1.1), so a later connection of another principal with the
   * starter's id (reused by the host, or chosen by a client) was taken for the starter: it
   * subscribed to, or was attached to, another user's run without being authorized (promise 1).
   */
  @Test
  void reusedConnectionIdOfAnotherPrincipalIsNotTakenForTheStarter() {
    InMemoryConnection a = tx.open("alice", "tab-1", Set.of());
    RunHandle run = started(rl.startRun(StartRequest.of("s", "alice").fromConnection(a.id())));
    run.publish("delta", "alice's secret");
    a.clientClose(CloseReason.NORMAL);

    InMemoryConnection m = tx.open("mallory", "tab-1", Set.of());
    m.sendText("sub s 0 - " + run.runId());

    assertNotNull(m.last("error"), "mallory's subscribe must be refused");
    assertEquals("SESSION_NOT_FOUND", m.last("error").get("code"));
    assertNoEvents(m);
    assertEquals(ErrorCode.UNKNOWN_RUN, rl.attach(run.runId(), m.id(), AttachMode.ADDITIVE).refusalCode().orElse(null));
    run.publish("delta", "more");
    assertNoEvents(m);
    assertTrue(rl.recipientsOf(run.runId()).isEmpty());
  }

  /** The exemption itself still holds: the live starting connection resumes without the hook. */
  @Test
  void theStartingConnectionItselfStillSubscribesWithoutTheAuthorizer() {
    rebuild(b -> b.authorizer((p, action, s, owner) ->
        action == Action.START ? Authorizer.Decision.ALLOW : Authorizer.Decision.DENY));
    InMemoryConnection a = tx.open("alice");
    RunHandle run = started(rl.startRun(StartRequest.of("s", "alice").fromConnection(a.id())));
    rl.detach(run.runId(), a.id());
    run.publish("delta", 1);
    a.sendText("sub s 1 " + run.epoch() + " " + run.runId());
    assertEquals("EXACT", a.last("subscribed").get("status"));
    run.publish("delta", 2);
    assertEquals(List.of(1L, 2L, 3L), seqsOf(a, run.runId()));
  }

  /**
   * Finding 3. A start was authorized against the session's owner as read before the session lock
   * and never re-checked. If another principal claimed the session (and its run ended) in between,
   * the start went ahead in a session its principal may not use: the new run went to the owner's
   * followers and the starter followed the owner's session, receiving the owner's later runs.
   */
  @Test
  void startAuthorizedBeforeAnotherPrincipalClaimedTheSessionIsAskedAgain() throws Exception {
    CountDownLatch bobAsked = new CountDownLatch(1);
    CountDownLatch proceed = new CountDownLatch(1);
    AtomicBoolean first = new AtomicBoolean(true);
    Authorizer owner = Authorizer.ownerOnly();
    rebuild(b -> b.authorizer((p, action, s, o) -> {
      if (p.equals("bob") && action == Action.START && first.compareAndSet(true, false)) {
        bobAsked.countDown();
        await(proceed);
      }
      return owner.authorize(p, action, s, o);
    }));
    InMemoryConnection a = tx.open("alice");
    InMemoryConnection bob = tx.open("bob");
    AtomicReference<Result<RunHandle>> bobs = new AtomicReference<>();
    Thread t = new Thread(() -> bobs.set(rl.startRun(StartRequest.of("s", "bob")
        .fromConnection(bob.id()).following())), "bob-start");
    t.start();
    assertTrue(bobAsked.await(10, TimeUnit.SECONDS));
    RunHandle r1 = started(rl.startRun(StartRequest.of("s", "alice").fromConnection(a.id()).following()));
    r1.complete(null);
    proceed.countDown();
    join(t);

    Result.Refused<?> no = assertInstanceOf(Result.Refused.class, bobs.get(), "bob started in alice's session");
    assertEquals(ErrorCode.SESSION_NOT_FOUND, no.code());
    RunHandle r2 = started(rl.startRun(StartRequest.of("s", "alice").fromConnection(a.id())));
    r2.publish("delta", "alice's secret");
    assertNoEvents(bob);
    assertEquals(List.of(1L, 2L), seqsOf(a, r1.runId()));
    assertEquals(List.of(1L, 2L), seqsOf(a, r2.runId()));
  }

  private static void await(CountDownLatch l) {
    try {
      if (!l.await(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("latch timed out");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * Finding 4. A start with {@code followSession} (every client start command) made the starting
   * connection follow the session without the {@code maxSessionsPerConnection} bound that
   * subscribe enforces: one connection starting runs in ever new sessions kept every one of them
   * alive for its lifetime (promise 9: memory bounded by configuration, not by traffic).
   */
  @Test
  void startsThatFollowRespectMaxSessionsPerConnection() {
    rebuild(b -> b.maxSessionsPerConnection(2)
        .runtime((run, input) -> run.complete(null))
        .runtimeExecutor(Runnable::run));
    InMemoryConnection a = tx.open("alice");
    RunHandle s1 = null;
    for (int i = 0; i < 2; i++) {
      s1 = started(rl.startRun(StartRequest.of("s" + i, "alice").fromConnection(a.id()).following()));
      s1.complete(null);
    }
    a.sendText("start s2");
    assertNotNull(a.last("error"), "the third followed session is refused");
    assertEquals("TOO_MANY_SUBSCRIPTIONS", a.last("error").get("code"));
    assertEquals(2, rl.connectionStats(a.id()).orElseThrow().sessions());
    assertTrue(rl.currentRun("s2").isEmpty(), "a refused start has no side effect");
    // a session it already follows can still be started in
    int errors = a.messages("error").size();
    a.sendText("start s1");
    assertEquals(errors, a.messages("error").size(), "a start in a followed session is not refused");
    assertNotSame(s1, rl.currentRun("s1").orElseThrow());
    assertEquals(2, rl.connectionStats(a.id()).orElseThrow().sessions());
    // and after unfollowing one, a new one
    a.sendText("unsub s0");
    a.sendText("start s2");
    assertEquals(errors, a.messages("error").size());
    assertTrue(rl.currentRun("s2").isPresent());
    assertEquals(2, rl.connectionStats(a.id()).orElseThrow().sessions());
  }

  /**
   * Finding 5. A subscribe naming a run was authorized against the owner of whatever session
   * object held the session id at that moment. A newer run's eviction can outrun an older run's
   * (its end is still calling approval callbacks, so its retention timer is not set yet): the
   * session was then retired while the older run was still held, and a subscribe to it was
   * authorized against no owner (or a new claimant), replaying another user's run (promise 1).
   */
  @Test
  void runHeldAfterItsSessionWasRetiredIsStillAuthorizedAgainstItsOwner() throws Exception {
    rebuild(b -> b.retention(Duration.ofMinutes(1)));
    RunHandle r1 = started(rl.startRun(StartRequest.of("s", "alice")));
    r1.publish("delta", "alice's secret");
    CountDownLatch inCallback = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    r1.requestApproval("p", null, (ap, res, d, by) -> {
      inCallback.countDown();
      await(release);
    });
    Thread ender = new Thread(() -> r1.complete(null), "r1-end");
    ender.start();
    try {
      assertTrue(inCallback.await(10, TimeUnit.SECONDS));
      RunHandle r2 = started(rl.startRun(StartRequest.of("s", "alice")));
      r2.complete(null);
      time.advance(Duration.ofMinutes(2)); // r2 evicted; the session is retired; r1 is still held
      assertTrue(rl.run(r1.runId()).isPresent());

      InMemoryConnection m = tx.open("mallory");
      m.sendText("sub s 0 - " + r1.runId());
      assertNoEvents(m);
      assertNotNull(m.last("error"), "mallory's subscribe must be refused");
      assertEquals("SESSION_NOT_FOUND", m.last("error").get("code"));

      // nor may a principal who claims the recreated session id read the old run
      RunHandle mine = started(rl.startRun(StartRequest.of("s", "mallory").fromConnection(m.id())));
      m.sendText("sub s 0 - " + r1.runId());
      assertEquals(List.of(), seqsOf(m, r1.runId()));
      mine.complete(null);
    } finally {
      release.countDown();
      join(ender);
    }
  }

  /**
   * Finding 6. Only a {@code RejectedExecutionException} from the runtime executor was turned into
   * a failed run. Any other exception escaped {@code startAndRun} and left the run running with no
   * runtime: nothing would ever end it (promise 4), and the session refused every later start.
   */
  @Test
  void runtimeExecutorThrowingAnythingFailsTheRun() {
    rebuild(b -> b.runtime((run, input) -> run.complete(null))
        .runtimeExecutor(task -> { throw new IllegalStateException("pool is shut down"); }));
    InMemoryConnection a = tx.open("alice");
    a.sendText("start s");

    RunHandle run = rl.currentRun("s").orElseThrow();
    assertEquals(RunState.FAILED, run.state(), "the run must not stay running without a runtime");
    List<Long> seqs = seqsOf(a, run.runId());
    assertEquals(List.of(1L, 2L), seqs);
    assertEquals("run.failed", a.messages("event").get(1).get("kind"));
    assertEquals(FailureReason.RUNTIME_ERROR.name(), a.messages("event").get(1).get("reason"));
    assertTrue(a.isOpen());
  }

  // ---------------------------------------------------------------- races (stress)

  private static final int SCALE = Integer.getInteger("runlane.stress.scale", 1);

  /** What to check after one iteration of {@link #race}. */
  @FunctionalInterface
  private interface Check {
    void after(int iteration);
  }

  /**
   * Runs {@code mine} on this thread and {@code theirs} on a partner thread at the same moment,
   * {@code n} times, with {@code before} and {@code check} around each pair. The partner spins
   * rather than blocks so the two calls overlap closely.
   */
  private static void race(int n, Runnable before, Runnable mine, Runnable theirs, Check check)
      throws InterruptedException {
    AtomicInteger go = new AtomicInteger();
    AtomicInteger done = new AtomicInteger();
    AtomicBoolean stop = new AtomicBoolean();
    Thread partner = new Thread(() -> {
      for (int i = 1; i <= n; i++) {
        while (go.get() < i) {
          if (stop.get()) {
            return;
          }
          Thread.onSpinWait();
        }
        theirs.run();
        done.set(i);
      }
    }, "review-race-partner");
    partner.setDaemon(true);
    partner.start();
    try {
      for (int i = 1; i <= n; i++) {
        before.run();
        go.set(i);
        mine.run();
        while (done.get() < i) {
          Thread.onSpinWait();
        }
        check.after(i);
      }
    } finally {
      stop.set(true);
      join(partner);
    }
  }

  /**
   * Finding 7. {@code Run.detach} (and a takeover's displacement) removed the run from the
   * connection's run set after releasing the run lock. A re-attach of the same connection landing
   * in between was undone in that set only: the connection stayed a recipient that its own close
   * or unsubscribe no longer detached (it kept receiving after unsubscribing, and its closed state
   * stayed referenced by the run until the run ended).
   */
  @Tag("stress")
  @Test
  void detachRacingAReattachKeepsRecipientsAndTheConnectionsRunsInAgreement() throws Exception {
    RunHandle r = started(rl.startRun(StartRequest.of("s", "alice")));
    InMemoryConnection y = tx.open("alice");
    race(
        10_000 * SCALE,
        () -> rl.attach(r.runId(), y.id(), AttachMode.ADDITIVE),
        () -> rl.detach(r.runId(), y.id()),
        () -> rl.attach(r.runId(), y.id(), AttachMode.ADDITIVE),
        i -> assertAgree(r, y, "detach vs attach, iteration " + i));
  }

  /** Finding 7, the takeover path: the displaced connection re-attaching as it is displaced. */
  @Tag("stress")
  @Test
  void takeoverRacingTheDisplacedConnectionsReattachKeepsThemInAgreement() throws Exception {
    RunHandle r = started(rl.startRun(StartRequest.of("s", "alice")));
    InMemoryConnection x = tx.open("alice");
    InMemoryConnection y = tx.open("alice");
    race(
        10_000 * SCALE,
        () -> {
          rl.detach(r.runId(), x.id());
          rl.attach(r.runId(), y.id(), AttachMode.ADDITIVE);
        },
        () -> rl.attach(r.runId(), x.id(), AttachMode.TAKEOVER),
        () -> rl.attach(r.runId(), y.id(), AttachMode.ADDITIVE),
        i -> assertAgree(r, y, "takeover vs attach, iteration " + i));
  }

  private void assertAgree(RunHandle r, InMemoryConnection y, String where) {
    boolean recipient = rl.recipientsOf(r.runId()).contains(y.id());
    int runs = rl.connectionStats(y.id()).orElseThrow().runs();
    assertEquals(recipient ? 1 : 0, runs, where + ": recipient=" + recipient + " but the connection lists " + runs + " runs");
  }

  /**
   * Finding 8. A follow-subscribe racing the connection's close could add the session after the
   * close had already walked the connection's sessions; the follow then undid itself (the
   * connection was closed) but left the new, idle session registered forever (promise 9).
   */
  @Tag("stress")
  @Test
  void followRacingTheConnectionsCloseLeavesNoSessionBehind() throws Exception {
    InMemoryConnection[] c = new InMemoryConnection[1];
    int[] i = new int[1];
    race(
        3_000 * SCALE,
        () -> {
          i[0]++;
          c[0] = tx.open("alice");
        },
        () -> rl.subscribe(c[0].id(), SubscribeTarget.session("s" + i[0], 0, null), AttachMode.ADDITIVE),
        () -> rl.disconnect(c[0].id(), CloseReason.NORMAL),
        n -> {
          assertEquals(0, rl.connectionCount(), "iteration " + n);
          assertEquals(0, rl.sessionCount(), "an idle session was left registered, iteration " + n);
        });
  }
}
