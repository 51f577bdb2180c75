package dev.runlane.tck;

import dev.runlane.RunOutcome;
import dev.runlane.RunlaneBuilder;
import dev.runlane.testkit.TextCodec;
import dev.runlane.testkit.WireMessage;
import dev.runlane.Result;
import dev.runlane.Approval;
import dev.runlane.FailureReason;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.RunlaneMetrics;
import dev.runlane.StartRequest;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.InboundHandler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * Runlane's end-to-end promises with the real core running over the adapter: isolation (P1),
 * order (P2), resume with {@code lastSeq} (P3), one end per run (P4), a slow consumer closed with
 * the resume code 4000 while the others continue (P6), and control frames overtaking a stream
 * backlog (P7). The numbers are those of the promises in Runlane's mission; each test is named by
 * its number ({@code P3_…}). The kit speaks its own line-based wire format, so it needs no JSON
 * library.
 *
 * <pre>{@code
 * class JettyPromisesTest extends TransportPromisesKit {
 *   @Override
 *   protected TransportFixture createFixture() {
 *     return new JettyFixture();
 *   }
 * }
 * }</pre>
 *
 * <p>A failure here with the SPI rules of {@link TransportRulesKit} passing is worth a bug report
 * against Runlane; with rules failing, fix those first: each failure names the rules to look at.
 *
 * <p><b>Thread safety:</b> JUnit creates one instance per test; tests of one instance never run
 * concurrently.
 */
public abstract class TransportPromisesKit {

  private static final int BIG_EVENT = 64 * 1024;
  private static final int MAX_BACKLOG_EVENTS = 2048;

  private @Nullable Stage stage;

  /** For subclasses: one per transport under test, instantiated by JUnit. */
  protected TransportPromisesKit() {}

  /** Creates the fixture for one test; the kit starts and closes it. */
  protected abstract TransportFixture createFixture() throws Exception;

  /** The timeout, seed and backlog size; default {@link TckSettings#fromSystemProperties()}. */
  protected TckSettings settings() {
    return TckSettings.fromSystemProperties();
  }

  /** Prepares the test; the fixture and Runlane start in the test, with its configuration. */
  @BeforeEach
  protected final void prepare(TestInfo info) {
    stage = new Stage(settings(), info);
  }

  /** Closes Runlane, the peers and the fixture. */
  @AfterEach
  protected final void closeStage() throws Exception {
    Stage s = stage;
    stage = null;
    if (s != null) {
      s.close();
    }
  }

  private Stage stage() {
    Stage s = stage;
    if (s == null) {
      throw new IllegalStateException("no stage: the kit's @BeforeEach did not run");
    }
    return s;
  }

  /** One test's Runlane over the fixture, its clients and what Runlane closed. */
  private final class Stage implements AutoCloseable {
    final Checks checks;
    final Random random;
    final String tag;
    final AtomicInteger count = new AtomicInteger();
    final Map<String, CloseReason> closedByRunlane = new ConcurrentHashMap<>();
    final List<ClientPeer> peers = new ArrayList<>();
    @Nullable Runlane runlane;
    @Nullable TransportFixture fixture;
    final java.util.concurrent.ExecutorService helpers;

    Stage(TckSettings settings, TestInfo info) {
      this.checks = new Checks(settings);
      String name = info.getTestMethod().map(m -> m.getName()).orElse(info.getDisplayName());
      this.random = new Random(settings.seed() ^ name.hashCode());
      this.tag = Long.toString(Math.abs(random.nextLong() % 1_000_000_000L), 36);
      AtomicInteger threads = new AtomicInteger();
      this.helpers =
          java.util.concurrent.Executors.newCachedThreadPool(
              r -> {
                Thread t = new Thread(r, "runlane-tck-publisher-" + threads.incrementAndGet());
                t.setDaemon(true);
                return t;
              });
    }

    /** Builds Runlane (tuned by {@code tune}) and starts the fixture with it as the sink. */
    void start(Consumer<RunlaneBuilder> tune) {
      RunlaneBuilder b =
          Runlane.builder()
              .codec(new TextCodec())
              .runtime(new TckRuntime())
              .heartbeatInterval(Duration.ZERO)
              .idleTimeout(Duration.ZERO)
              .sendStallTimeout(Duration.ZERO)
              .closeGrace(checks.timeout())
              .replayCapacity(4096)
              .metrics(
                  new RunlaneMetrics() {
                    @Override
                    public void connectionClosed(String connectionId, CloseReason reason) {
                      closedByRunlane.putIfAbsent(connectionId, reason);
                    }
                  });
      tune.accept(b);
      Runlane rl = b.build();
      runlane = rl;
      ServerRecorder recorder =
          new ServerRecorder(
              (c, pairedWith, generation) -> {
                InboundHandler h =
                    pairedWith == null ? rl.connect(c) : rl.connectStream(c, pairedWith, generation);
                return h;
              });
      TransportFixture f;
      try {
        f = createFixture();
        fixture = f;
        f.start(recorder);
      } catch (Exception e) {
        throw new IllegalStateException("the fixture could not start", e);
      }
    }

    void start() {
      start(b -> {});
    }

    Runlane runlane() {
      Runlane r = runlane;
      if (r == null) {
        throw new IllegalStateException("not started");
      }
      return r;
    }

    TransportFixture fixture() {
      TransportFixture f = fixture;
      if (f == null) {
        throw new IllegalStateException("not started");
      }
      return f;
    }

    String principal(String who) {
      return "tck-" + who + "-" + tag + "-" + count.incrementAndGet();
    }

    String session(String what) {
      return "s-" + what + "-" + tag + "-" + count.incrementAndGet();
    }

    /** Connects a client as {@code principal} and waits for its welcome. */
    WireClient connect(Rule rule, String principal) {
      ClientPeer peer;
      try {
        peer = fixture().connect(principal);
      } catch (Exception e) {
        throw new IllegalStateException("the fixture could not connect a peer as " + principal, e);
      }
      synchronized (peers) {
        peers.add(peer);
      }
      WireClient c = new WireClient(principal, peer, checks);
      int i = c.await(rule, "the welcome (Runlane's first frame on every connection)", m -> m.type().equals("welcome"));
      WireMessage w = c.messages().get(i);
      c.connectionId = w.require("connection");
      c.generation = w.num("generation");
      return c;
    }

    /** Opens the stream transport of {@code primary}. */
    WireClient connectStream(Rule rule, WireClient primary) {
      ClientPeer peer;
      try {
        peer = fixture().connectStream(primary.principal, primary.connectionId, primary.generation);
      } catch (Exception e) {
        throw checks.failure(rule, "the fixture could not open a stream transport", e);
      }
      synchronized (peers) {
        peers.add(peer);
      }
      return new WireClient(primary.principal, peer, checks);
    }

    RunHandle startRun(Rule rule, String session, String principal, @Nullable WireClient from) {
      StartRequest req = StartRequest.of(session, principal);
      if (from != null) {
        req = req.fromConnection(from.connectionId).following();
      }
      Result<RunHandle> r = runlane().startRun(req);
      if (!(r.isOk())) {
        throw checks.failure(rule, "Runlane refused to start a run: " + r);
      }
      return r.orElseThrow();
    }

    /** Subscribes {@code c} to {@code session} over the wire and waits for the ack. */
    WireMessage subscribe(Rule rule, WireClient c, String session, long lastSeq, @Nullable String epoch) {
      int from = c.messages().size();
      c.send(rule, "sub " + session + " " + lastSeq + " " + (epoch == null ? "-" : epoch));
      int i = c.await(rule, "the subscribe ack for " + session, from,
          m -> m.is("subscribed", "session", session) || m.is("error", "session", session));
      WireMessage ack = c.messages().get(i);
      checks.that(rule, ack.type().equals("subscribed"), () -> "subscribe to " + session + " was refused: " + ack);
      return ack;
    }

    /** Checks that {@code c} received exactly seqs {@code from..to} of {@code runId}, in order. */
    void assertSeqs(Rule rule, WireClient c, String runId, long from, long to) {
      List<Long> seqs = c.seqs(runId);
      List<Long> expected = new ArrayList<>();
      for (long s = from; s <= to; s++) {
        expected.add(s);
      }
      checks.that(rule, seqs.equals(expected),
          () -> c.principal + " received seqs " + abbreviate(seqs) + " of run " + runId + ", expected exactly "
              + from + ".." + to + " in order");
    }

    /** Publishes one big event and returns its seq. */
    long publishBig(RunHandle run, long i, String body) {
      Result<Long> r = run.publish("delta", i + ":" + body);
      if (!r.isOk()) {
        throw checks.failure(Rule.P6, "publishing failed: " + r);
      }
      return r.orElseThrow();
    }

    @Override
    public void close() throws Exception {
      Exception failure = null;
      Runlane r = runlane;
      if (r != null) {
        r.close();
      }
      List<ClientPeer> all;
      synchronized (peers) {
        all = new ArrayList<>(peers);
      }
      for (ClientPeer p : all) {
        try {
          p.close();
        } catch (RuntimeException e) {
          failure = failure == null ? e : failure;
        }
      }
      TransportFixture f = fixture;
      if (f != null) {
        try {
          f.close();
        } catch (Exception e) {
          failure = failure == null ? e : failure;
        }
      }
      helpers.shutdownNow();
      if (failure != null) {
        throw failure;
      }
    }
  }

  private static String abbreviate(List<Long> seqs) {
    if (seqs.size() <= 12) {
      return seqs.toString();
    }
    return seqs.subList(0, 6) + "…" + seqs.subList(seqs.size() - 6, seqs.size()) + " (" + seqs.size() + " events)";
  }

  private static void assumePause(WireClient c) {
    Assumptions.assumeTrue(
        c.peer.canPauseReading(),
        "skipped: the client peer cannot stop reading (ClientPeer.canPauseReading() is false), so"
            + " a slow client cannot be simulated");
  }

  // ================================================================================ P1

  /** Promise 1: isolation. */
  @Nested
  @DisplayName("P1 Isolation")
  class P1_Isolation {

    @Test
    @DisplayName("P1 a run's events, statuses, approvals and end reach only its recipients")
    void P1_eventsReachOnlyTheRunsRecipients() {
      Stage s = stage();
      s.start();
      String alice = s.principal("alice");
      String bob = s.principal("bob");
      WireClient a1 = s.connect(Rule.P1, alice);
      WireClient a2 = s.connect(Rule.P1, alice);
      WireClient b = s.connect(Rule.P1, bob);
      String sa = s.session("a");
      String sb = s.session("b");
      RunHandle ra = s.startRun(Rule.P1, sa, alice, a1);
      s.subscribe(Rule.P1, a2, sa, 0, null);
      int from = b.messages().size();
      b.send(Rule.P1, "sub " + sa + " 0 -");
      int refusal = b.await(Rule.P1, "a refusal of bob's subscribe to alice's session", from, m -> m.type().equals("error") || m.type().equals("subscribed"));
      WireMessage r = b.messages().get(refusal);
      s.checks.that(Rule.P1, r.type().equals("error"), () -> "bob was allowed to subscribe to alice's session: " + r);
      RunHandle rb = s.startRun(Rule.P1, sb, bob, b);
      for (int i = 1; i <= 20; i++) {
        if (s.random.nextBoolean()) {
          ra.publish("delta", "a" + i);
          rb.publish("delta", "b" + i);
        } else {
          rb.publish("delta", "b" + i);
          ra.publish("delta", "a" + i);
        }
      }
      ra.publishStatus("progress", "a-half");
      rb.publishStatus("progress", "b-half");
      Approval ap = ra.requestApproval("a-tool", null, (approval, resolution, decision, by) -> {});
      s.checks.that(Rule.P1, ap != null, () -> "no approval raised");
      Result<RunOutcome> aborted = s.runlane().abort(ra.runId(), alice);
      s.checks.that(Rule.P1, aborted.isOk(), () -> "abort refused: " + aborted);
      rb.complete("b-done");
      // Barriers: a later run of each session reaches its followers after everything above.
      RunHandle ra2 = s.startRun(Rule.P1, sa, alice, null);
      RunHandle rb2 = s.startRun(Rule.P1, sb, bob, null);
      for (WireClient c : List.of(a1, a2)) {
        c.awaitSeq(Rule.P1, ra2.runId(), 1);
      }
      b.awaitSeq(Rule.P1, rb2.runId(), 1);
      Set<String> aliceRuns = Set.of(ra.runId(), ra2.runId());
      Set<String> bobRuns = Set.of(rb.runId(), rb2.runId());
      for (WireClient c : List.of(a1, a2)) {
        for (WireMessage m : c.messages()) {
          String run = m.get("run");
          s.checks.that(Rule.P1, run == null || aliceRuns.contains(run),
              () -> "alice's connection received " + m + " of bob's run");
          String session = m.get("session");
          s.checks.that(Rule.P1, session == null || session.equals(sa),
              () -> "alice's connection received " + m + " of session " + session);
        }
        s.assertSeqs(Rule.P1, c, ra.runId(), 1, ra.headSeq());
        s.checks.that(Rule.P1, c.messages().stream().anyMatch(m -> m.is("approval", "run", ra.runId())),
            () -> c.principal + " did not receive its run's approval request");
        s.checks.that(Rule.P1, c.messages().stream().anyMatch(m -> m.is("status", "run", ra.runId())),
            () -> c.principal + " did not receive its run's status");
      }
      for (WireMessage m : b.messages()) {
        String run = m.get("run");
        s.checks.that(Rule.P1, run == null || bobRuns.contains(run), () -> "bob's connection received " + m + " of alice's run");
      }
      s.assertSeqs(Rule.P1, b, rb.runId(), 1, rb.headSeq());
    }
  }

  // ================================================================================ P2

  /** Promise 2: order and uniqueness. */
  @Nested
  @DisplayName("P2 Order")
  class P2_Order {

    @Test
    @DisplayName("P2 every recipient sees a run's events once each, in seq order, intact")
    void P2_eachRecipientSeesEveryEventOnceInOrder() throws Exception {
      Stage s = stage();
      s.start();
      String alice = s.principal("alice");
      WireClient c1 = s.connect(Rule.P2, alice);
      WireClient c2 = s.connect(Rule.P2, alice);
      WireClient c3 = s.connect(Rule.P2, alice);
      String session = s.session("order");
      RunHandle run = s.startRun(Rule.P2, session, alice, c1);
      s.subscribe(Rule.P2, c2, session, 0, null);
      s.subscribe(Rule.P2, c3, session, 0, null);
      Map<Long, String> published = new ConcurrentHashMap<>();
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> publishers = new ArrayList<>();
      for (int p = 0; p < 2; p++) {
        Random r = new Random(s.random.nextLong());
        int who = p;
        publishers.add(s.helpers.submit(() -> {
          go.await();
          for (int i = 0; i < 150; i++) {
            String data = who + "-" + i + "-" + Payloads.ascii(r, r.nextInt(2000));
            Result<Long> pr = run.publish("delta", data);
            if (pr.isOk()) {
              published.put(pr.orElseThrow(), data);
            }
          }
          return null;
        }));
      }
      go.countDown();
      for (Future<?> f : publishers) {
        f.get(s.checks.timeout().toMillis(), TimeUnit.MILLISECONDS);
      }
      run.complete("done");
      long head = run.headSeq();
      for (WireClient c : List.of(c1, c2, c3)) {
        c.awaitSeq(Rule.P2, run.runId(), head);
        s.assertSeqs(Rule.P2, c, run.runId(), 1, head);
        for (WireMessage m : c.messages()) {
          if (m.isEventOf(run.runId()) && "delta".equals(m.get("kind"))) {
            long seq = m.num("seq");
            s.checks.equal(Rule.P2, String.valueOf(published.get(seq)), String.valueOf(m.get("data")), "the data of seq " + seq + " at " + c.principal);
          }
        }
      }
    }
  }

  // ================================================================================ P3

  /** Promise 3: resume. */
  @Nested
  @DisplayName("P3 Resume")
  class P3_Resume {

    @Test
    @DisplayName("P3 resume with lastSeq: the ack, then exactly the missed events, then live, while publishing")
    void P3_resumeReplaysExactlyTheMissedEventsThenLive() throws Exception {
      Stage s = stage();
      s.start();
      String alice = s.principal("alice");
      WireClient first = s.connect(Rule.P3, alice);
      String session = s.session("resume");
      RunHandle run = s.startRun(Rule.P3, session, alice, first);
      int k = 5 + s.random.nextInt(25);
      for (int i = 1; i <= k; i++) {
        run.publish("delta", "before-" + i);
      }
      first.awaitSeq(Rule.P3, run.runId(), k + 1);
      long lastSeq = 1L + s.random.nextInt(k + 1); // what the client had processed when it dropped
      first.peer.abort();
      CountDownLatch go = new CountDownLatch(1);
      Future<?> publisher = s.helpers.submit(() -> {
        go.await();
        for (int i = 1; i <= 200; i++) {
          run.publish("delta", "during-" + i);
        }
        return null;
      });
      WireClient second = s.connect(Rule.P3, alice);
      go.countDown();
      WireMessage ack = s.subscribe(Rule.P3, second, session, lastSeq, run.epoch());
      publisher.get(s.checks.timeout().toMillis(), TimeUnit.MILLISECONDS);
      run.complete("done");
      long head = run.headSeq();
      second.awaitSeq(Rule.P3, run.runId(), head);
      s.checks.equal(Rule.P3, "EXACT", String.valueOf(ack.get("status")), "the resume status in " + ack);
      s.checks.equal(Rule.P3, lastSeq + 1, ack.num("from"), "the first replayed seq in " + ack);
      List<WireMessage> all = second.messages();
      int ackAt = -1;
      int firstEvent = -1;
      for (int i = 0; i < all.size(); i++) {
        if (ackAt < 0 && all.get(i).type().equals("subscribed")) {
          ackAt = i;
        }
        if (firstEvent < 0 && all.get(i).isEventOf(run.runId())) {
          firstEvent = i;
        }
      }
      int a = ackAt;
      int e = firstEvent;
      s.checks.that(Rule.P3, a >= 0 && a < e, () -> "the ack (message #" + a + ") must come before the first event (message #" + e + ")");
      s.assertSeqs(Rule.P3, second, run.runId(), lastSeq + 1, head);
    }
  }

  // ================================================================================ P4

  /** Promise 4: one end per run. */
  @Nested
  @DisplayName("P4 One end per run")
  class P4_OneEnd {

    @Test
    @DisplayName("P4 racing ends, the safety net and late subscribers: exactly one terminal event")
    void P4_everyRunEndsExactlyOnce() throws Exception {
      Stage s = stage();
      s.start();
      String alice = s.principal("alice");
      WireClient a = s.connect(Rule.P4, alice);
      WireClient b = s.connect(Rule.P4, alice);
      String session = s.session("end");
      RunHandle run = s.startRun(Rule.P4, session, alice, a);
      s.subscribe(Rule.P4, b, session, 0, null);
      for (int i = 1; i <= 5; i++) {
        run.publish("delta", "x" + i);
      }
      CountDownLatch go = new CountDownLatch(1);
      AtomicInteger wins = new AtomicInteger();
      List<Future<?>> enders = new ArrayList<>();
      enders.add(s.helpers.submit(() -> {
        go.await();
        if (run.complete("done").isOk()) {
          wins.incrementAndGet();
        }
        return null;
      }));
      enders.add(s.helpers.submit(() -> {
        go.await();
        if (run.fail(FailureReason.RUNTIME_THREW, 1, "boom").isOk()) {
          wins.incrementAndGet();
        }
        return null;
      }));
      enders.add(s.helpers.submit(() -> {
        go.await();
        if (s.runlane().abort(run.runId(), alice).isOk()) {
          wins.incrementAndGet();
        }
        return null;
      }));
      go.countDown();
      for (Future<?> f : enders) {
        f.get(s.checks.timeout().toMillis(), TimeUnit.MILLISECONDS);
      }
      s.checks.equal(Rule.P4, 1, wins.get(), "ends that won the race");
      Result<RunOutcome> again = run.complete("again");
      s.checks.that(Rule.P4, !again.isOk(), () -> "a second complete won");

      // the safety net: a runtime that returns without ending its run (started over the wire)
      String netSession = s.session("net");
      a.send(Rule.P4, "start " + netSession + " noend");
      int started = a.await(Rule.P4, "the start of the run without an end", m -> m.is("event", "session", netSession));
      String netRun = a.messages().get(started).require("run");
      a.await(Rule.P4, "the safety net's terminal event", m -> m.isEventOf(netRun) && m.isTerminal());

      // a late subscriber gets the replay with exactly one terminal event
      WireClient late = s.connect(Rule.P4, alice);
      WireMessage ack = s.subscribe(Rule.P4, late, session, 0, null);
      s.checks.equal(Rule.P4, "FINISHED", String.valueOf(ack.get("status")), "the status for a subscribe to an ended run");
      long head = run.headSeq();
      late.awaitSeq(Rule.P4, run.runId(), head);
      s.checks.quietPeriod();
      for (WireClient c : List.of(a, b, late)) {
        s.assertSeqs(Rule.P4, c, run.runId(), 1, head);
        long terminals = c.messages().stream().filter(m -> m.isEventOf(run.runId()) && m.isTerminal()).count();
        s.checks.that(Rule.P4, terminals == 1, () -> c.principal + " received " + terminals + " terminal events");
        WireMessage last = c.messages().stream().filter(m -> m.isEventOf(run.runId())).reduce((x, y) -> y).orElseThrow();
        s.checks.that(Rule.P4, last.isTerminal(), () -> "the last event of the run was not terminal: " + last);
      }
      long netTerminals = a.messages().stream().filter(m -> m.isEventOf(netRun) && m.isTerminal()).count();
      s.checks.that(Rule.P4, netTerminals == 1, () -> "the run without an end got " + netTerminals + " terminal events");
    }
  }

  // ================================================================================ P6

  /** Promise 6: slow consumers hurt only themselves. */
  @Nested
  @DisplayName("P6 Slow consumers")
  class P6_SlowConsumers {

    @Test
    @DisplayName("P6 a client that stops reading is closed with 4000 while the others continue, and resumes")
    void P6_slowConsumerIsClosedWithTheResumeCodeWhileOthersContinue() {
      Stage s = stage();
      // the resume below needs the whole history: no byte limit on the log for these 64 KiB events
      s.start(b -> b.maxInFlight(4).maxQueuedFrames(64).maxQueuedBytes(1L << 30).replayByteBudget(0));
      String alice = s.principal("alice");
      WireClient slow = s.connect(Rule.P6, alice);
      assumePause(slow);
      WireClient fast = s.connect(Rule.P6, alice);
      String session = s.session("slow");
      RunHandle run = s.startRun(Rule.P6, session, alice, slow);
      s.subscribe(Rule.P6, fast, session, 0, null);
      String body = Payloads.ascii(s.random, BIG_EVENT);
      slow.peer.pauseReading();
      long published = 0;
      try {
        for (long i = 1; i <= MAX_BACKLOG_EVENTS && !s.closedByRunlane.containsKey(slow.connectionId); i++) {
          long seq = s.publishBig(run, i, body);
          published = i;
          fast.awaitSeq(Rule.P6, run.runId(), Math.max(1, seq - 8)); // the fast client keeps up
        }
        long n = published;
        s.checks.that(Rule.P6, s.closedByRunlane.containsKey(slow.connectionId),
            () -> "published " + n + " events of " + BIG_EVENT + " bytes to a client that does not read, and Runlane never"
                + " closed it: its sends kept completing, so the transport reports success before the frames are written"
                + " or buffers without bound");
        CloseReason why = s.closedByRunlane.get(slow.connectionId);
        s.checks.equal(Rule.P6, String.valueOf(CloseReason.SLOW_CONSUMER), String.valueOf(why), "the reason Runlane closed the slow client");
        s.checks.that(Rule.P6, !s.closedByRunlane.containsKey(fast.connectionId),
            () -> "the client that kept reading was closed too: " + s.closedByRunlane.get(fast.connectionId));
        run.publish("delta", "after-the-slow-one-left");
        run.complete("done");
      } finally {
        slow.peer.resumeReading();
      }
      long head = run.headSeq();
      fast.awaitSeq(Rule.P6, run.runId(), head);
      s.assertSeqs(Rule.P6, fast, run.runId(), 1, head);
      PeerClose close = s.checks.awaitPeerClose(Rule.P6, slow.peer, "the slow client's close");
      s.checks.that(Rule.P6, close.code() == CloseReason.SLOW_CONSUMER.code(),
          () -> "the slow client saw " + close + ", expected code 4000 (" + CloseReason.SLOW_CONSUMER.reason() + ")");
      List<Long> got = slow.seqs(run.runId());
      long last = got.isEmpty() ? 0 : got.get(got.size() - 1);
      s.assertSeqs(Rule.P6, slow, run.runId(), 1, last);
      // nothing was lost: resume from the last seq the slow client saw
      WireClient again = s.connect(Rule.P6, alice);
      WireMessage ack = s.subscribe(Rule.P6, again, session, last, run.epoch());
      s.checks.that(Rule.P6, "EXACT".equals(ack.get("status")) || "FINISHED".equals(ack.get("status")),
          () -> "the resume after the slow close was not exact: " + ack);
      again.awaitSeq(Rule.P6, run.runId(), head);
      s.assertSeqs(Rule.P6, again, run.runId(), last + 1, head);
    }
  }

  // ================================================================================ P7

  /** Promise 7: control is never stuck behind stream. */
  @Nested
  @DisplayName("P7 Control lane")
  class P7_ControlLane {

    /** Frames waiting in Runlane's outbox for {@code c}, both lanes. */
    private int queued(Stage s, WireClient c) {
      return s.runlane().connectionStats(c.connectionId).map(st -> st.queuedFrames()).orElse(0);
    }

    @Test
    @DisplayName("P7 a control frame overtakes a backlog of stream frames")
    void P7_controlOvertakesAStreamBacklog() {
      Stage s = stage();
      s.start(b -> b.maxInFlight(4).maxQueuedFrames(100_000).maxQueuedBytes(1L << 30));
      String alice = s.principal("alice");
      WireClient c = s.connect(Rule.P7, alice);
      assumePause(c);
      String session = s.session("control");
      RunHandle run = s.startRun(Rule.P7, session, alice, c);
      String body = Payloads.ascii(s.random, BIG_EVENT);
      c.peer.pauseReading();
      long head = 0;
      long firstBehind = 0; // the first event surely queued behind the notice, or 0
      String tag = "";
      try {
        long published = 0;
        // A backlog of 16 is no proof that the peer's socket is full: the transport may just be
        // behind, and drain it into socket buffers before the notice is queued. So the kit looks
        // at what is still queued once the notice is: nothing is published meanwhile and queued
        // frames only leave, so those frames were queued when the notice was, and it must
        // overtake them. The heartbeat is off, so the notice is the only control frame that may
        // be among them. If the backlog drained, it builds a bigger one and tries again.
        for (int attempt = 1; attempt <= 3 && firstBehind == 0; attempt++) {
          int target = 16 * attempt;
          while (true) {
            published++;
            s.publishBig(run, published, body);
            if (queued(s, c) >= target) {
              break;
            }
            long n = published;
            s.checks.that(Rule.P7, published < MAX_BACKLOG_EVENTS,
                () -> "published " + n + " events of " + BIG_EVENT + " bytes to a client that does not read, and"
                    + " not enough waited in Runlane's outbox: the transport reports success before the frames are"
                    + " written, or buffers without bound");
          }
          head = run.headSeq();
          tag = "overtake-" + attempt;
          s.runlane().noticeSession(session, "tck.control", tag);
          int behind = queued(s, c) - 1;
          firstBehind = behind > 0 ? head - behind + 1 : 0;
        }
      } finally {
        c.peer.resumeReading();
      }
      s.checks.that(Rule.P7, firstBehind > 0,
          () -> "three times, the transport took the whole backlog of stream events before the control notice was"
              + " queued, although the client did not read: the transport buffers without bound");
      String t = tag;
      int notice = c.await(Rule.P7, "the control notice", m -> m.is("notice", "kind", "tck.control") && t.equals(m.get("data")));
      long first = firstBehind;
      int overtaken = c.await(Rule.P7, "event " + first, m -> m.isEventOf(run.runId()) && m.num("seq") == first);
      s.checks.that(Rule.P7, notice < overtaken,
          () -> "the control notice (message #" + notice + ") arrived after stream event " + first + " (message #"
              + overtaken + "), which was still queued in Runlane's outbox when the notice was sent");
      c.awaitSeq(Rule.P7, run.runId(), head);
      s.assertSeqs(Rule.P7, c, run.runId(), 1, head);
    }

    @Test
    @DisplayName("P7 with STREAM_TRANSPORT, stream frames travel on the stream transport and control on the primary")
    void P7_streamTransportCarriesTheStreamLane() {
      Stage s = stage();
      s.start();
      String alice = s.principal("alice");
      WireClient primary = s.connect(Rule.P7, alice);
      WireMessage welcome = primary.messages().get(0);
      Assumptions.assumeTrue("true".equals(welcome.get("stream")),
          "skipped: the connection does not declare STREAM_TRANSPORT (rule T5.1)");
      WireClient stream = s.connectStream(Rule.P7, primary);
      primary.await(Rule.P7, "stream_paired", m -> m.type().equals("stream_paired"));
      String session = s.session("two");
      RunHandle run = s.startRun(Rule.P7, session, alice, primary);
      for (int i = 1; i <= 5; i++) {
        run.publish("delta", "e" + i);
      }
      run.complete("done");
      long head = run.headSeq();
      stream.awaitSeq(Rule.P7, run.runId(), head);
      s.assertSeqs(Rule.P7, stream, run.runId(), 1, head);
      WireClient other = s.connect(Rule.P7, alice);
      s.subscribe(Rule.P7, other, session, 0, null); // a control round trip on another connection
      s.checks.that(Rule.P7, primary.seqs(run.runId()).isEmpty(),
          () -> "stream events arrived on the primary although a stream transport was paired: " + primary.summary());
      WireMessage ack = s.subscribe(Rule.P7, primary, session, head, run.epoch());
      s.checks.that(Rule.P7, ack.type().equals("subscribed"), () -> "no ack on the primary");
      stream.peer.abort();
      PeerClose close = s.checks.awaitPeerClose(Rule.P7, primary.peer, "the primary's close after its stream transport dropped");
      s.checks.that(Rule.P7, close.code() == CloseReason.STREAM_TRANSPORT_LOST.code(),
          () -> "the primary saw " + close + " after its stream transport dropped, expected 4002");
    }
  }
}
