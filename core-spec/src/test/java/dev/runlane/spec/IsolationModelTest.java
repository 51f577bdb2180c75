package dev.runlane.spec;

import dev.runlane.InvariantCheck;
import dev.runlane.codec.SubscribeAck;
import static dev.runlane.testkit.RunlaneAssertions.assertNoEvents;
import static dev.runlane.testkit.RunlaneAssertions.assertSeqs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.Action;
import dev.runlane.AttachMode;
import dev.runlane.Result;
import dev.runlane.Authorizer;
import dev.runlane.Authorizer.Decision;
import dev.runlane.ErrorCode;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.SubscribeTarget;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.TextCodec;
import dev.runlane.testkit.WireMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Promise 1 (isolation) and 9 (nothing leaks), model-based: random sequences of open / start /
 * publish / attach (additive, takeover) / detach / subscribe / unsubscribe / close / end / abort /
 * notices / time passing, across four principals and six sessions. After every step {@link
 * ModelHarness} compares every connection's frames with the model exactly, checks that no
 * connection saw an event the authorizer does not allow it to see, and that closed connections
 * are in no registry.
 *
 * <p>Reproduce a failure with {@code -Drunlane.seed=SEED -Drunlane.model.sequences=1}; scale with
 * {@code -Drunlane.model.sequences=N -Drunlane.model.steps=M}.
 */
class IsolationModelTest {
  static final String[] PRINCIPALS = {"alice", "bob", "carol", "dave"};
  static final String[] SESSIONS = {"s0", "s1", "s2", "s3", "s4", "s5"};

  /** alice and bob share their sessions, carol and dave theirs; across teams: DENY. */
  static final Authorizer TEAMS =
      (principal, action, sessionId, owner) -> {
        if (owner == null) {
          return action == Action.START || action == Action.SUBSCRIBE ? Decision.ALLOW : Decision.NOT_FOUND;
        }
        return team(principal) == team(owner) ? Decision.ALLOW : Decision.DENY;
      };

  static int team(String principal) {
    return principal.equals("alice") || principal.equals("bob") ? 0 : 1;
  }

  static List<Long> seeds(long defaultBase) {
    Long one = Long.getLong("runlane.seed");
    int n = Integer.getInteger("runlane.model.sequences", 200);
    long base = one != null ? one : defaultBase;
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(base + i);
    }
    return out;
  }

  static int steps() {
    return Integer.getInteger("runlane.model.steps", 200);
  }

  @Test
  void ownerOnlyAuthorizerRandomSequences() {
    for (long seed : seeds(1_000)) {
      runSequence(seed, Authorizer.ownerOnly());
    }
  }

  @Test
  void sharingAuthorizerRandomSequences() {
    for (long seed : seeds(500_000)) {
      runSequence(seed, TEAMS);
    }
  }

  private static void runSequence(long seed, Authorizer auth) {
    Random rnd = new Random(seed);
    try (ModelHarness h = new ModelHarness(seed, auth, 1024, true)) {
      int steps = steps();
      for (int i = 0; i < steps; i++) {
        randomStep(h, rnd);
      }
    }
  }

  private static <T> T pick(Random rnd, List<T> l) {
    return l.get(rnd.nextInt(l.size()));
  }

  private static <T> T pick(Random rnd, T[] a) {
    return a[rnd.nextInt(a.length)];
  }

  private static List<String> running(ModelHarness h) {
    List<String> out = new ArrayList<>();
    for (RunlaneModel.MRun r : h.model.runs.values()) {
      if (!r.ended) {
        out.add(r.id);
      }
    }
    return out;
  }

  /** A connection: mostly open ones, sometimes a closed one (operations on it must be harmless). */
  private static String someConn(ModelHarness h, Random rnd) {
    List<String> open = h.openConnIds();
    if (!open.isEmpty() && rnd.nextInt(10) != 0) {
      return pick(rnd, open);
    }
    return pick(rnd, h.connIds());
  }

  private static String someRun(ModelHarness h, Random rnd) {
    List<String> live = running(h);
    if (!live.isEmpty() && rnd.nextInt(5) != 0) {
      return pick(rnd, live);
    }
    return pick(rnd, h.runIds());
  }

  private static void randomStep(ModelHarness h, Random rnd) {
    List<String> open = h.openConnIds();
    int w = rnd.nextInt(100);
    if (open.size() < 2 || (w < 8 && open.size() < 14)) {
      h.open(pick(rnd, PRINCIPALS));
      return;
    }
    if (w < 20 || h.runIds().isEmpty()) {
      String session = pick(rnd, SESSIONS);
      int who = rnd.nextInt(10);
      if (who < 8) {
        String c = someConn(h, rnd);
        h.start(session, h.principalOf(c), c, rnd.nextInt(3) == 0);
      } else {
        h.start(session, pick(rnd, PRINCIPALS), null, false);
      }
      return;
    }
    if (w < 46) {
      h.publish(someRun(h, rnd));
    } else if (w < 54) {
      h.attach(someRun(h, rnd), someConn(h, rnd), rnd.nextBoolean() ? AttachMode.ADDITIVE : AttachMode.TAKEOVER);
    } else if (w < 58) {
      h.detach(someRun(h, rnd), someConn(h, rnd));
    } else if (w < 67) {
      String session = pick(rnd, SESSIONS);
      h.subscribe(someConn(h, rnd), SubscribeTarget.session(session, lastSeq(rnd), epoch(h, rnd, session)), mode(rnd));
    } else if (w < 72) {
      String run = someRun(h, rnd);
      RunlaneModel.MRun r = h.modelRun(run);
      String session = rnd.nextInt(8) == 0 ? pick(rnd, SESSIONS) : r.session;
      String epoch = rnd.nextBoolean() ? r.epoch : rnd.nextBoolean() ? null : "0123456789abcdef";
      h.subscribe(someConn(h, rnd), new SubscribeTarget(session, run, lastSeq(rnd), epoch), mode(rnd));
    } else if (w < 75) {
      h.unsubscribe(someConn(h, rnd), pick(rnd, SESSIONS));
    } else if (w < 81) {
      String c = pick(rnd, open);
      if (rnd.nextInt(3) == 0) {
        h.serverClose(c);
      } else {
        h.clientClose(c);
      }
    } else if (w < 87) {
      String run = someRun(h, rnd);
      if (rnd.nextBoolean()) {
        h.complete(run);
      } else {
        h.fail(run);
      }
    } else if (w < 91) {
      h.abort(someRun(h, rnd), pick(rnd, PRINCIPALS));
    } else if (w < 95) {
      h.noticeSession(pick(rnd, SESSIONS), "model_changed");
    } else if (w < 96) {
      h.noticeAll("reload");
    } else {
      h.advance(Duration.ofSeconds(rnd.nextInt(45)));
    }
  }

  private static long lastSeq(Random rnd) {
    return rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(12);
  }

  private static AttachMode mode(Random rnd) {
    return rnd.nextInt(4) == 0 ? AttachMode.TAKEOVER : AttachMode.ADDITIVE;
  }

  private static String epoch(ModelHarness h, Random rnd, String session) {
    RunlaneModel.Sess s = h.model.sessions.get(session);
    if (s != null && s.current != null && rnd.nextBoolean()) {
      return s.current.epoch;
    }
    return rnd.nextBoolean() ? null : "fedcba9876543210";
  }

  // ------------------------------------------------------------------ pinned scenarios

  private final ManualTimeSource time = new ManualTimeSource();

  private Runlane runlane(Authorizer auth) {
    return InvariantCheck.track(SpecEngine.builder().codec(new TextCodec()).timeSource(time).authorizer(auth).build());
  }

  /**
   * Found by the model: a connection that follows a session before anyone owns it was attached to
   * the runs of whoever then claimed the session, although the authorizer allows only the owner.
   */
  @Test
  void followingAnOwnerlessSessionDoesNotLeakTheClaimantsRuns() {
    try (Runlane rl = runlane(Authorizer.ownerOnly())) {
      InMemoryTransport tx = new InMemoryTransport(rl);
      InMemoryConnection mallory = tx.open("mallory");
      InMemoryConnection alice = tx.open("alice");
      InMemoryConnection aliceTab = tx.open("alice");
      mallory.sendText("sub chat-42 0");
      aliceTab.sendText("sub chat-42 0");
      assertEquals("NO_RUN_YET", mallory.last("subscribed").get("status"), "an ownerless session may be followed");
      RunHandle run = rl.startRun(StartRequest.of("chat-42", "alice").fromConnection(alice.id())).orElseThrow();
      run.publish("delta", "secret");
      run.complete(null);
      assertNoEvents(mallory);
      WireMessage err = mallory.last("error");
      assertEquals("SESSION_NOT_FOUND", err.get("code"), "the follower is told it no longer follows");
      assertEquals("chat-42", err.get("session"));
      assertSeqs(alice, run.runId(), 1, 2, 3);
      assertSeqs(aliceTab, run.runId(), 1, 2, 3);
      assertEquals(1, rl.noticeSession("chat-42", "model_changed", null), "only aliceTab still follows");
      assertTrue(mallory.messages("notice").isEmpty());
    }
  }

  /**
   * The subscribe's authorizer call runs outside every lock; a start that claims the session in
   * that window must not let the follow through on an answer given for "no owner".
   */
  @Test
  void aFollowRacingTheStartThatClaimsTheSessionIsAuthorizedAgainstTheNewOwner() throws Exception {
    CountDownLatch inAuthorizer = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger bobAsked = new AtomicInteger();
    Authorizer slowForBob =
        (principal, action, sessionId, owner) -> {
          if (principal.equals("bob") && bobAsked.getAndIncrement() == 0) {
            inAuthorizer.countDown();
            try {
              release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          return Authorizer.ownerOnly().authorize(principal, action, sessionId, owner);
        };
    try (Runlane rl = runlane(slowForBob)) {
      InMemoryTransport tx = new InMemoryTransport(rl);
      InMemoryConnection alice = tx.open("alice");
      InMemoryConnection bob = tx.open("bob");
      AtomicReference<Result<SubscribeAck>> answer = new AtomicReference<>();
      Thread subscriber =
          new Thread(() -> answer.set(rl.subscribe(bob.id(), SubscribeTarget.session("s", 0, null), AttachMode.ADDITIVE)));
      subscriber.start();
      assertTrue(inAuthorizer.await(30, TimeUnit.SECONDS), "bob's subscribe is asking the authorizer (owner: none)");
      RunHandle run = rl.startRun(StartRequest.of("s", "alice").fromConnection(alice.id())).orElseThrow();
      release.countDown();
      subscriber.join(30_000);
      Result.Refused<?> no = assertInstanceOf(Result.Refused.class, answer.get());
      assertEquals(ErrorCode.SESSION_NOT_FOUND, no.code());
      assertEquals(2, bobAsked.get(), "asked again, now with alice as the owner");
      run.publish("delta", "secret");
      assertNoEvents(bob);
      assertEquals(java.util.Set.of(alice.id()), rl.recipientsOf(run.runId()));
      assertEquals(1, rl.noticeSession("s", "model_changed", null), "bob does not follow the session");
    }
  }

  @Test
  void aSharingAuthorizerKeepsAllowedEarlyFollowers() {
    try (Runlane rl = runlane(TEAMS)) {
      InMemoryTransport tx = new InMemoryTransport(rl);
      InMemoryConnection bob = tx.open("bob");
      InMemoryConnection carol = tx.open("carol");
      InMemoryConnection alice = tx.open("alice");
      bob.sendText("sub team 0");
      carol.sendText("sub team 0");
      RunHandle run = rl.startRun(StartRequest.of("team", "alice").fromConnection(alice.id())).orElseThrow();
      run.publish("delta", "hi");
      assertSeqs(bob, run.runId(), 1, 2);
      assertNoEvents(carol);
      assertEquals("FORBIDDEN", carol.last("error").get("code"));
    }
  }

  @Test
  void otherPrincipalsAreRefusedAndReceiveNothing() {
    try (Runlane rl = runlane(Authorizer.ownerOnly())) {
      InMemoryTransport tx = new InMemoryTransport(rl);
      InMemoryConnection alice = tx.open("alice");
      InMemoryConnection bob = tx.open("bob");
      RunHandle run = rl.startRun(StartRequest.of("s", "alice").fromConnection(alice.id())).orElseThrow();
      assertEquals(ErrorCode.UNKNOWN_RUN, rl.attach(run.runId(), bob.id(), AttachMode.TAKEOVER).refusalCode().orElse(null));
      Result.Refused<?> no =
          assertInstanceOf(Result.Refused.class, rl.subscribe(bob.id(), SubscribeTarget.session("s", 0, null), AttachMode.ADDITIVE));
      assertEquals(ErrorCode.SESSION_NOT_FOUND, no.code());
      assertInstanceOf(
          Result.Refused.class,
          rl.subscribe(bob.id(), new SubscribeTarget("s", run.runId(), 0, run.epoch()), AttachMode.ADDITIVE));
      assertEquals(ErrorCode.SESSION_NOT_FOUND, rl.abort(run.runId(), "bob").refusalCode().orElse(null));
      run.publish("delta", 1);
      run.complete(null);
      assertNoEvents(bob);
      assertSeqs(alice, run.runId(), 1, 2, 3);
    }
  }
}
