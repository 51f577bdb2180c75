package dev.runlane.spec;

import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.runlane.ErrorCode;
import static dev.runlane.testkit.RunlaneAssertions.assertContiguousPerRun;
import static dev.runlane.testkit.RunlaneAssertions.assertNoEvents;
import static dev.runlane.testkit.RunlaneAssertions.assertSeqRange;
import static dev.runlane.testkit.RunlaneAssertions.assertSeqs;
import static dev.runlane.testkit.RunlaneAssertions.seqsOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.InvariantCheck;
import dev.runlane.RunlaneBuilder;
import dev.runlane.AttachMode;
import dev.runlane.Authorizer;
import dev.runlane.Result;
import dev.runlane.ResumeStatus;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.SubscribeTarget;
import dev.runlane.spec.RunlaneModel.Ack;
import dev.runlane.spec.RunlaneModel.Ev;
import dev.runlane.spec.RunlaneModel.Obs;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.TextCodec;
import dev.runlane.testkit.WireMessage;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Promises 2 (order and uniqueness) and 3 (resume). A model-based test drives browser-like tabs
 * through random interleavings of publish / start / end / disconnect / reconnect with their
 * last-seen seq / re-subscribe / takeover / time passing, with replay capacities 1, 2, 4 and 8.
 * Besides the exact comparison with {@link RunlaneModel}, each tab checks what a client relies on:
 * what it receives of each run is contiguous, duplicate-free and in order, starts exactly where
 * the ack says, and every jump is announced by the ack (truncated, epoch changed, ahead of head,
 * or finished without replay) — never a silent gap. Pinned scenarios below show each typed result.
 *
 * <p>Reproduce a failure with {@code -Drunlane.seed=SEED -Drunlane.model.sequences=1}.
 */
class ResumeModelTest {

  // ================================================================== the model-based test

  static final int[] CAPACITIES = {1, 2, 4, 8};

  @Test
  void randomInterleavingsAgainstTheModel() {
    int steps = IsolationModelTest.steps();
    List<Long> seeds = IsolationModelTest.seeds(7_000);
    Map<String, Integer> seen = new HashMap<>();
    for (long seed : seeds) {
      Random rnd = new Random(seed);
      int capacity = CAPACITIES[(int) Math.floorMod(seed, 4L)];
      boolean replayFinished = Math.floorMod(seed, 5L) != 0;
      try (ModelHarness h = new ModelHarness(seed, Authorizer.ownerOnly(), capacity, replayFinished)) {
        ResumeScript script = new ResumeScript(h, rnd, capacity, replayFinished);
        script.run(steps);
        script.coverage.forEach((k, v) -> seen.merge(k, v, Integer::sum));
      }
    }
    if (seeds.size() >= 50) { // the default run must have exercised every outcome, or it proves little
      for (ResumeStatus st : ResumeStatus.values()) {
        assertTrue(seen.getOrDefault(st.name(), 0) >= 20, "too few " + st + " acks: " + seen);
      }
      for (String k : List.of("truncated", "announcedGapClosed", "exactAfterReconnect", "followerGotNextRun", "takeover")) {
        assertTrue(seen.getOrDefault(k, 0) >= 20, "too few " + k + ": " + seen);
      }
    }
  }

  /** One simulated browser tab: a connection at a time and what it stored of each run. */
  static final class Tab {
    final String name;
    final String principal;
    final String session;
    @Nullable String conn;
    /** The run of its session it knows as the newest. */
    @Nullable String current;
    final Map<String, View> views = new HashMap<>();
    /** Per run, the highest seq the current connection has received: its cursor on the server. */
    final Map<String, Long> onConn = new HashMap<>();
    final Deque<Req> requests = new ArrayDeque<>();
    final Deque<String> trail = new ArrayDeque<>();

    Tab(String name, String principal, String session) {
      this.name = name;
      this.principal = principal;
      this.session = session;
    }

    @Override
    public String toString() {
      return name + "(" + principal + "@" + session + ", conn " + conn + ", current " + current + ", " + views + ")";
    }
  }

  /** What a tab stored of a run. */
  static final class View {
    @Nullable String epoch;
    long lastSeq;
    boolean ended;

    @Override
    public String toString() {
      return "{lastSeq " + lastSeq + (ended ? ", ended" : "") + "}";
    }
  }

  /** A subscribe a tab sent and awaits the ack of. */
  record Req(@Nullable String runId, long lastSeq, @Nullable String epoch, boolean attachedBefore) {}

  static final class ResumeScript {
    final ModelHarness h;
    final Random rnd;
    final int capacity;
    final boolean replayFinished;
    final List<Tab> tabs = new ArrayList<>();
    final List<String> orphans = new ArrayList<>();
    @Nullable String mallory;
    /** How often each outcome occurred, to show the random walk reaches every case. */
    final Map<String, Integer> coverage = new HashMap<>();

    private void count(String what) {
      coverage.merge(what, 1, Integer::sum);
    }

    ResumeScript(ModelHarness h, Random rnd, int capacity, boolean replayFinished) {
      this.h = h;
      this.rnd = rnd;
      this.capacity = capacity;
      this.replayFinished = replayFinished;
      tabs.add(new Tab("A1", "alice", "a1"));
      tabs.add(new Tab("A2", "alice", "a1"));
      tabs.add(new Tab("A3", "alice", "a2"));
      tabs.add(new Tab("B1", "bob", "b1"));
      tabs.add(new Tab("B2", "bob", "b1"));
      h.afterStep(() -> {
        for (Tab t : tabs) {
          if (t.conn != null) {
            for (Obs o : h.received(t.conn)) {
              process(t, o);
            }
          }
        }
      });
    }

    void run(int steps) {
      while (h.publishes() + stepsWithoutPublish < steps) {
        step();
      }
    }

    private int stepsWithoutPublish;

    private @Nullable RunlaneModel.MRun runningIn(String session) {
      RunlaneModel.Sess s = h.model.sessions.get(session);
      return s != null && s.current != null && !s.current.ended ? s.current : null;
    }

    private List<RunlaneModel.MRun> running() {
      List<RunlaneModel.MRun> out = new ArrayList<>();
      for (RunlaneModel.MRun r : h.model.runs.values()) {
        if (!r.ended) {
          out.add(r);
        }
      }
      return out;
    }

    private Tab someTab(boolean connected) {
      List<Tab> l = new ArrayList<>();
      for (Tab t : tabs) {
        if ((t.conn != null) == connected) {
          l.add(t);
        }
      }
      return l.isEmpty() ? null : l.get(rnd.nextInt(l.size()));
    }

    void step() {
      int w = rnd.nextInt(100);
      if (w < 30) {
        List<RunlaneModel.MRun> live = running();
        if (!live.isEmpty()) {
          RunlaneModel.MRun r = live.get(rnd.nextInt(live.size()));
          int burst = 1 + rnd.nextInt(2 * capacity + 2);
          for (int i = 0; i < burst; i++) {
            h.publish(r.id);
          }
          return;
        }
        w = 30; // nothing runs: start one
      }
      stepsWithoutPublish++;
      if (w < 38) {
        Tab t = tabs.get(rnd.nextInt(tabs.size()));
        if (t.conn != null && rnd.nextInt(4) != 0) {
          h.start(t.session, t.principal, t.conn, rnd.nextInt(10) < 7);
        } else {
          h.start(t.session, t.principal, null, false);
        }
      } else if (w < 44) {
        List<RunlaneModel.MRun> live = running();
        if (!live.isEmpty()) {
          RunlaneModel.MRun r = live.get(rnd.nextInt(live.size()));
          int how = rnd.nextInt(3);
          if (how == 0) {
            h.complete(r.id);
          } else if (how == 1) {
            h.fail(r.id);
          } else {
            h.abort(r.id, r.owner);
          }
        }
      } else if (w < 54) {
        Tab t = someTab(true);
        if (t != null) {
          String c = Objects.requireNonNull(t.conn);
          if (rnd.nextInt(10) < 7) {
            h.clientClose(c);
          } else {
            h.serverClose(c);
          }
          t.conn = null;
          t.onConn.clear();
          t.requests.clear();
        }
      } else if (w < 66) {
        Tab t = someTab(false);
        if (t != null) {
          t.conn = h.open(t.principal);
          t.onConn.clear();
          boolean forget = rnd.nextInt(7) == 0;
          subscribe(t, rnd.nextInt(4) != 0, AttachMode.ADDITIVE, forget ? Fault.FORGET : Fault.NONE);
        }
      } else if (w < 72) {
        Tab t = someTab(true);
        if (t != null) {
          subscribe(t, rnd.nextInt(3) != 0, AttachMode.ADDITIVE, rnd.nextInt(3) == 0 ? Fault.LOWER : Fault.NONE);
        }
      } else if (w < 76) {
        Tab t = someTab(true);
        if (t != null) {
          subscribe(t, rnd.nextBoolean(), AttachMode.ADDITIVE, Fault.WRONG_EPOCH);
        }
      } else if (w < 79) {
        Tab t = someTab(true);
        if (t != null) {
          subscribe(t, rnd.nextBoolean(), AttachMode.ADDITIVE, Fault.AHEAD);
        }
      } else if (w < 81) {
        Tab t = someTab(true);
        if (t != null) {
          subscribe(t, false, AttachMode.ADDITIVE, Fault.UNKNOWN_RUN);
        }
      } else if (w < 85) {
        Tab t = someTab(true);
        if (t != null) { // the tab moves to a new connection; the old one stays open, displaced
          orphans.add(Objects.requireNonNull(t.conn));
          t.conn = h.open(t.principal);
          t.onConn.clear();
          t.requests.clear();
          count("takeover");
          subscribe(t, rnd.nextBoolean(), AttachMode.TAKEOVER, Fault.NONE);
        }
      } else if (w < 87) {
        if (!orphans.isEmpty()) {
          h.clientClose(orphans.remove(rnd.nextInt(orphans.size())));
        }
      } else if (w < 91) {
        h.advance(Duration.ofSeconds(1 + rnd.nextInt(80)));
      } else if (w < 94) {
        h.noticeSession(new String[] {"a1", "a2", "b1", "zz"}[rnd.nextInt(4)], "session_info");
      } else if (w < 95) {
        h.noticeAll("reload");
      } else if (w < 97) {
        Tab t = someTab(true);
        if (t != null) {
          h.unsubscribe(Objects.requireNonNull(t.conn), t.session);
        }
      } else {
        if (mallory == null || !h.isOpen(mallory)) {
          mallory = h.open("mallory");
        }
        String s = new String[] {"a1", "a2", "b1"}[rnd.nextInt(3)];
        RunlaneModel.MRun r = runningIn(s);
        h.subscribe(mallory, r != null && rnd.nextBoolean() ? new SubscribeTarget(s, r.id, 0, r.epoch) : SubscribeTarget.session(s, 0, null), AttachMode.ADDITIVE);
      }
    }

    enum Fault {
      NONE,
      /** The tab lost its storage for the run (fresh connection): it asks from an earlier seq. */
      FORGET,
      /** A lower lastSeq on the same connection: nothing already handed over comes twice. */
      LOWER,
      WRONG_EPOCH,
      AHEAD,
      UNKNOWN_RUN
    }

    private void subscribe(Tab t, boolean session, AttachMode mode, Fault fault) {
      String conn = Objects.requireNonNull(t.conn);
      String runId;
      if (session || t.current == null) {
        runId = null;
        session = true;
      } else {
        List<String> known = new ArrayList<>(t.views.keySet());
        known.sort(null);
        runId = rnd.nextInt(3) == 0 ? known.get(rnd.nextInt(known.size())) : t.current;
      }
      String about = runId != null ? runId : t.current; // the run whose lastSeq/epoch the tab sends
      View v = about == null ? null : t.views.get(about);
      long n = v == null ? 0 : v.lastSeq;
      String epoch = v == null ? null : v.epoch;
      String targetRun = session ? currentRunOf(t.session) : runId;
      boolean attached = targetRun != null && h.model.isRecipient(targetRun, conn);
      if (fault == Fault.LOWER && !attached) {
        fault = Fault.FORGET; // asking again for what it has is forgetting it
      }
      if ((fault == Fault.AHEAD || fault == Fault.FORGET) && v == null) {
        fault = Fault.NONE;
      }
      if (fault == Fault.FORGET && targetRun != null && t.onConn.getOrDefault(targetRun, 0L) > 0) {
        // A connection's cursor never moves back: what this connection was handed is not sent
        // again, so forgetting only makes sense for a fresh connection.
        fault = Fault.NONE;
      }
      switch (fault) {
        case FORGET:
          if (v != null) {
            n = rnd.nextInt((int) n + 1);
            v.lastSeq = n;
            v.ended = false;
          }
          break;
        case LOWER:
          n = rnd.nextInt((int) n + 1);
          break;
        case WRONG_EPOCH:
          epoch = "0000000000000000";
          break;
        case AHEAD:
          RunlaneModel.MRun r = about == null ? null : h.model.runs.get(about);
          n = (r == null ? n : r.head) + 1 + rnd.nextInt(3);
          break;
        case UNKNOWN_RUN:
          runId = "run_never_" + rnd.nextInt(1000);
          session = false;
          break;
        default:
          break;
      }
      if (fault == Fault.UNKNOWN_RUN) {
        attached = false;
      }
      SubscribeTarget target = new SubscribeTarget(t.session, session ? null : runId, n, epoch);
      t.requests.addLast(new Req(target.runId(), n, epoch, attached));
      h.subscribe(conn, target, mode);
    }

    private @Nullable String currentRunOf(String session) {
      RunlaneModel.Sess s = h.model.sessions.get(session);
      return s == null || s.current == null ? null : s.current.id;
    }

    /** The client-side checks: what a correct client may rely on. */
    private void process(Tab t, Obs o) {
      t.trail.addLast(t.conn + ":" + o);
      if (t.trail.size() > 12) {
        t.trail.removeFirst();
      }
      if (o instanceof Ack) {
        Ack a = (Ack) o;
        Req q = t.requests.pollFirst();
        check(q != null, () -> t + " got an ack it did not ask for: " + a);
        check(a.following() == (q.runId() == null), () -> "following flag of " + a);
        if (a.status() == ResumeStatus.UNKNOWN_RUN || a.status() == ResumeStatus.NO_RUN_YET) {
          count(a.status().name());
          check(Objects.equals(a.run(), q.runId()), () -> "an unknown-run ack names the run asked for: " + a);
          check(a.to() < a.from(), () -> "nothing is replayed of an unknown run: " + a);
          return;
        }
        String run = Objects.requireNonNull(a.run());
        count(a.status().name());
        if (a.truncated()) {
          count("truncated");
        }
        check(q.runId() == null || q.runId().equals(run), () -> "ack for another run than asked: " + a + " for " + q);
        View v = t.views.computeIfAbsent(run, k -> new View());
        // what this connection already holds of the run: everything handed before the ack was applied
        long handedHere = t.onConn.getOrDefault(run, 0L);
        boolean sameInstance = q.epoch() != null && q.epoch().equals(a.epoch());
        check(a.to() == a.head(), () -> "a replay always runs up to head: " + a);
        if (q.attachedBefore()) {
          check(a.from() == a.head() + 1, () -> "an attached connection gets nothing twice (cursor never moves back): " + a + " for " + q);
          count("resubscribedWhileAttached");
          check(v.lastSeq == a.head(), () -> t + " is attached, so it has everything up to head: " + a);
        } else if (a.status() == ResumeStatus.FINISHED && !replayFinished) {
          check(a.from() == a.head() + 1 && !a.processing(), () -> "finished runs are not replayed when turned off: " + a);
          v.lastSeq = a.head(); // the client fetches the history elsewhere
          v.ended = true;
        } else if (a.truncated()
            || a.status() == ResumeStatus.EPOCH_CHANGED
            || a.status() == ResumeStatus.AHEAD_OF_HEAD
            || (a.status() == ResumeStatus.FINISHED && (!sameInstance || q.lastSeq() > a.head()))) {
          // announced: the replay starts at the oldest held event, and the client refetches the rest
          check(
              a.from() == Math.max(a.oldest(), handedHere + 1), () ->
              "an announced replay starts at the oldest held seq not yet handed to this connection: " + a + " for " + q + " on " + t.conn + " holding " + t.onConn + " view " + v + " trail " + t.trail);
          if (a.truncated()) {
            check(
                sameInstance && q.lastSeq() <= a.head() ? q.lastSeq() + 1 < a.oldest() : a.oldest() > 1, () ->
                "truncated only when the asked-for events are really gone: " + a + " for " + q);
          }
          check(
              a.status() != ResumeStatus.TRUNCATED && a.status() != ResumeStatus.EXACT
                  || sameInstance && q.lastSeq() <= a.head()
                  || q.lastSeq() == 0 && q.epoch() == null, () ->
              "EXACT/TRUNCATED only for a lastSeq of this run instance: " + a + " for " + q);
          if (a.from() - 1 > v.lastSeq && v.lastSeq > 0) {
            count("announcedGapClosed");
          }
          v.lastSeq = a.from() - 1;
          v.ended = false;
        } else {
          check(
              a.status() == ResumeStatus.EXACT || a.status() == ResumeStatus.FINISHED, () ->
              "unexpected status " + a + " for " + q);
          check(sameInstance || q.lastSeq() == 0 && q.epoch() == null, () -> "EXACT for a foreign lastSeq: " + a + " for " + q);
          check(q.lastSeq() == v.lastSeq, () -> "test bug: tab sent " + q + " but holds " + v);
          check(
              a.from() == Math.max(q.lastSeq(), handedHere) + 1, () ->
              "the replay starts exactly after lastSeq (or what this connection was handed): " + a + " for " + q);
          if (q.lastSeq() > 0 && a.to() >= a.from()) {
            count("exactAfterReconnect");
          }
        }
        v.epoch = a.epoch();
        // after an ack this connection holds the run up to the ack's end of replay (replayed, or
        // already held by the client at the lastSeq it sent): the server's cursor for it
        t.onConn.merge(run, a.to(), Math::max);
        if (q.runId() == null) {
          t.current = run;
        }
      } else if (o instanceof Ev) {
        Ev e = (Ev) o;
        View known = t.views.get(e.run());
        if (known == null) {
          check(e.seq() == 1 && e.kind().equals("run.started"), () -> t + ": first contact with a run without an ack must be its start: " + e);
          if (t.current != null) {
            count("followerGotNextRun");
          }
          known = new View();
          known.epoch = e.epoch();
          t.views.put(e.run(), known);
          t.current = e.run();
        }
        View v = known;
        check(!v.ended, () -> t + " received " + e + " after the run's terminal event");
        check(e.seq() == v.lastSeq + 1, () -> t + " received " + e + " after seq " + v.lastSeq + ": a gap or duplicate nobody announced");
        check(Objects.equals(v.epoch, e.epoch()), () -> t + ": epoch of " + e + " differs from the stored " + v.epoch);
        v.lastSeq = e.seq();
        v.ended = e.terminal();
        t.onConn.merge(e.run(), e.seq(), Math::max);
      }
    }

    private static void check(boolean ok, java.util.function.Supplier<String> what) {
      if (!ok) {
        throw new AssertionError("client check: " + what.get());
      }
    }
  }

  // ================================================================== pinned scenarios

  private final ManualTimeSource time = new ManualTimeSource();
  private Runlane rl = build(SpecEngine.builder());
  private InMemoryTransport tx = new InMemoryTransport(rl);

  private Runlane build(RunlaneBuilder b) {
    return InvariantCheck.track(b.codec(new TextCodec())
        .timeSource(time)
        .idleTimeout(Duration.ZERO)
        .heartbeatInterval(Duration.ZERO)
        .retention(Duration.ofSeconds(60))
        .build());
  }

  private void rebuild(RunlaneBuilder b) {
    InvariantCheck.closeChecked(rl);
    rl = build(b);
    tx = new InMemoryTransport(rl);
  }

  @AfterEach
  void closeRunlane() {
    rl.close();
  }

  private RunHandle start(String session, InMemoryConnection c) {
    Result<RunHandle> r = rl.startRun(StartRequest.of(session, c.principal()).fromConnection(c.id()));
    return r.orElseThrow();
  }

  private static void publish(RunHandle run, int n) {
    for (int i = 0; i < n; i++) {
      assertTrue(run.publish("delta", i).isOk());
    }
  }

  private SubscribeAck sub(InMemoryConnection c, SubscribeTarget t, AttachMode mode) {
    Result<SubscribeAck> r = rl.subscribe(c.id(), t, mode);
    SubscribeAck ack = r.orElseThrow();
    WireMessage wire = c.last("subscribed");
    assertEquals(ack.status().name(), wire.get("status"), "the ack on the wire is the one returned");
    assertEquals(ack.replayFrom(), wire.num("from"));
    return ack;
  }

  private SubscribeAck sub(InMemoryConnection c, RunHandle run, long lastSeq, @Nullable String epoch) {
    return sub(c, new SubscribeTarget(run.sessionId(), run.runId(), lastSeq, epoch), AttachMode.ADDITIVE);
  }

  /** Seqs of {@code run} that {@code c} received after its last ack. */
  private static List<Long> afterLastAck(InMemoryConnection c, String runId) {
    List<WireMessage> all = c.messages();
    int from = 0;
    for (int i = 0; i < all.size(); i++) {
      if (all.get(i).type().equals("subscribed")) {
        from = i + 1;
      }
    }
    List<Long> out = new ArrayList<>();
    for (WireMessage m : all.subList(from, all.size())) {
      if (m.isEventOf(runId)) {
        out.add(m.num("seq"));
      }
    }
    return out;
  }

  private static List<Long> range(long from, long to) {
    List<Long> out = new ArrayList<>();
    for (long s = from; s <= to; s++) {
      out.add(s);
    }
    return out;
  }

  @Test
  void ackComesFirstThenExactlyTheMissedEventsThenLive() {
    InMemoryConnection a = tx.open("alice");
    RunHandle run = start("s", a);
    publish(run, 5); // head 6
    a.clientClose(dev.runlane.transport.CloseReason.NORMAL);
    publish(run, 2); // missed 7, 8
    InMemoryConnection back = tx.open("alice");
    SubscribeAck ack = sub(back, run, 6, run.epoch());
    assertEquals(ResumeStatus.EXACT, ack.status());
    assertTrue(ack.processing());
    assertEquals(8, ack.headSeq());
    assertEquals(7, ack.replayFrom());
    assertEquals(8, ack.replayTo());
    assertFalse(ack.truncated());
    assertEquals(run.epoch(), ack.epoch());
    run.publish("delta", "live");
    List<WireMessage> msgs = back.messages(m -> m.type().equals("subscribed") || m.isEvent());
    assertEquals("subscribed", msgs.get(0).type(), "the ack precedes every replayed event");
    assertSeqs(back, run.runId(), 7, 8, 9);
  }

  @ParameterizedTest(name = "capacity {0}")
  @ValueSource(ints = {1, 2, 4, 8})
  void resumeFromOldestMinusOneIsExactAndFromOldestMinusTwoIsTruncated(int capacity) {
    rebuild(SpecEngine.builder().replayCapacity(capacity));
    InMemoryConnection a = tx.open("alice");
    RunHandle run = start("s", a);
    publish(run, 3 * capacity + 4);
    long head = run.headSeq();
    long oldest = head - capacity + 1;
    assertTrue(oldest >= 3);

    InMemoryConnection exact = tx.open("alice");
    SubscribeAck e = sub(exact, run, oldest - 1, run.epoch());
    assertEquals(ResumeStatus.EXACT, e.status());
    assertFalse(e.truncated());
    assertEquals(oldest, e.oldestSeq());
    assertEquals(oldest, e.replayFrom());
    assertSeqRange(exact, run.runId(), oldest, head);

    InMemoryConnection cut = tx.open("alice");
    SubscribeAck t = sub(cut, run, oldest - 2, run.epoch());
    assertEquals(ResumeStatus.TRUNCATED, t.status());
    assertTrue(t.truncated(), "the client is told that seq " + (oldest - 1) + " is gone");
    assertEquals(oldest, t.replayFrom(), "and what is replayed");
    assertSeqRange(cut, run.runId(), oldest, head);

    InMemoryConnection upToDate = tx.open("alice");
    SubscribeAck none = sub(upToDate, run, head, run.epoch());
    assertEquals(ResumeStatus.EXACT, none.status());
    assertEquals(0, none.replayCount());

    run.publish("delta", "live");
    for (InMemoryConnection c : List.of(exact, cut, upToDate)) {
      assertEquals(head + 1, seqsOf(c, run.runId()).get(seqsOf(c, run.runId()).size() - 1), c.id() + " is live");
      assertContiguousPerRun(c);
    }
  }

  @Test
  void wrongEpochReplaysFromTheOldestAndSaysSo() {
    rebuild(SpecEngine.builder().replayCapacity(4));
    InMemoryConnection a = tx.open("alice");
    RunHandle run = start("s", a);
    publish(run, 2); // head 3, everything held
    InMemoryConnection b = tx.open("alice");
    SubscribeAck ack = sub(b, run, 2, "an-epoch-of-another-run");
    assertEquals(ResumeStatus.EPOCH_CHANGED, ack.status());
    assertEquals(1, ack.replayFrom(), "lastSeq 2 belongs to something else: everything held is replayed");
    assertFalse(ack.truncated(), "seq 1 is still held");
    assertSeqRange(b, run.runId(), 1, 3);

    publish(run, 5); // head 8, holds 5..8
    InMemoryConnection c = tx.open("alice");
    SubscribeAck late = sub(c, SubscribeTarget.session("s", 7, "restarted-server-epoch"), AttachMode.ADDITIVE);
    assertEquals(ResumeStatus.EPOCH_CHANGED, late.status());
    assertEquals(5, late.replayFrom());
    assertTrue(late.truncated(), "seqs 1..4 are gone: the client must refetch");
    assertSeqRange(c, run.runId(), 5, 8);
  }

  @Test
  void lastSeqAheadOfHeadIsReportedNotAccepted() {
    InMemoryConnection a = tx.open("alice");
    RunHandle run = start("s", a);
    publish(run, 2); // head 3
    InMemoryConnection b = tx.open("alice");
    SubscribeAck ack = sub(b, run, 10, run.epoch());
    assertEquals(ResumeStatus.AHEAD_OF_HEAD, ack.status());
    assertEquals(3, ack.headSeq());
    assertEquals(1, ack.replayFrom());
    assertSeqRange(b, run.runId(), 1, 3);
    run.publish("delta", "x");
    assertSeqRange(b, run.runId(), 1, 4);
  }

  @Test
  void unknownRunsAndEmptySessions() {
    assumeFalse(SpecEngine.current().durable(), SpecEngine.MANUAL_RETENTION);
    InMemoryConnection a = tx.open("alice");
    SubscribeAck none = sub(a, SubscribeTarget.session("fresh", 0, null), AttachMode.ADDITIVE);
    assertEquals(ResumeStatus.NO_RUN_YET, none.status(), "nothing yet: the next run will come");
    SubscribeAck gone = sub(a, SubscribeTarget.session("fresh2", 7, "e0ff"), AttachMode.ADDITIVE);
    assertEquals(ResumeStatus.UNKNOWN_RUN, gone.status(), "a position in a session that holds no run is gone");
    assertNull(none.runId());
    assertTrue(none.following(), "it still follows the session: the next run comes");
    assertFalse(none.processing());

    RunHandle run = start("s", a);
    SubscribeAck bogus = sub(a, new SubscribeTarget("s", "run_that_never_was", 4, null), AttachMode.ADDITIVE);
    assertEquals(ResumeStatus.UNKNOWN_RUN, bogus.status());
    assertEquals("run_that_never_was", bogus.runId());
    assertTrue(bogus.truncated(), "a lastSeq > 0 for an unknown run: the client's history is gone");
    assertEquals(0, bogus.replayCount());

    SubscribeAck wrongSession = sub(a, new SubscribeTarget("fresh", run.runId(), 0, null), AttachMode.ADDITIVE);
    assertEquals(ResumeStatus.UNKNOWN_RUN, wrongSession.status(), "a run is only found under its own session");

    run.complete(null);
    time.advance(Duration.ofSeconds(61));
    InMemoryConnection later = tx.open("alice");
    SubscribeAck evicted = sub(later, run, 1, run.epoch());
    assertEquals(ResumeStatus.UNKNOWN_RUN, evicted.status(), "evicted after its retention");
    assertNoEvents(later);
  }

  @Test
  void finishedRunReplaysTheTailWithItsTerminalEventThenNothing() {
    InMemoryConnection a = tx.open("alice");
    RunHandle run = start("s", a);
    publish(run, 3);
    run.complete("done"); // terminal = 5
    InMemoryConnection b = tx.open("alice");
    SubscribeAck ack = sub(b, run, 2, run.epoch());
    assertEquals(ResumeStatus.FINISHED, ack.status());
    assertFalse(ack.processing());
    assertEquals(5, ack.headSeq());
    assertEquals(3, ack.replayFrom());
    assertEquals(5, ack.replayTo());
    assertEquals("COMPLETED", String.valueOf(Objects.requireNonNull(ack.outcome()).state()));
    assertSeqRange(b, run.runId(), 3, 5);
    assertEquals("run.completed", b.last("event").get("kind"));
    assertEquals(ErrorCode.RUN_ENDED, run.publish("delta", "late").refusalCode().orElseThrow());
    assertSeqRange(b, run.runId(), 3, 5);
    assertTrue(rl.recipientsOf(run.runId()).isEmpty(), "a finished run has no recipients");

    SubscribeAck again = sub(b, run, 5, run.epoch());
    assertEquals(ResumeStatus.FINISHED, again.status());
    assertEquals(0, again.replayCount(), "a client holding the terminal event gets nothing more");
    assertSeqRange(b, run.runId(), 3, 5);
  }

  @Test
  void finishedRunsAreNotReplayedWhenTheHostTurnsItOff() {
    rebuild(SpecEngine.builder().replayFinishedRuns(false));
    InMemoryConnection a = tx.open("alice");
    RunHandle run = start("s", a);
    publish(run, 3);
    run.fail(dev.runlane.FailureReason.RUNTIME_ERROR, 1, "boom");
    InMemoryConnection b = tx.open("alice");
    SubscribeAck ack = sub(b, run, 1, run.epoch());
    assertEquals(ResumeStatus.FINISHED, ack.status());
    assertEquals(0, ack.replayCount());
    assertEquals(5, ack.headSeq(), "the ack still says where the run ended");
    assertNoEvents(b);
  }

  @Test
  void aCursorNeverMovesBackwards() {
    InMemoryConnection a = tx.open("alice");
    RunHandle run = start("s", a);
    publish(run, 4); // a has 1..5 live
    SubscribeAck ack = sub(a, run, 0, run.epoch());
    assertEquals(6, ack.replayFrom(), "nothing a connection was handed is replayed to it again");
    assertEquals(0, ack.replayCount());
    SubscribeAck session = sub(a, SubscribeTarget.session("s", 2, null), AttachMode.ADDITIVE);
    assertEquals(0, session.replayCount());
    run.publish("delta", "x");
    assertSeqRange(a, run.runId(), 1, 6);
  }

  @Test
  void retentionEvictsAfterItsTimeAndAnOldRunNeverEvictsANewerOne() {
    assumeFalse(SpecEngine.current().durable(), SpecEngine.MANUAL_RETENTION);
    InMemoryConnection a = tx.open("alice");
    RunHandle first = start("s", a);
    first.complete(null);
    time.advance(Duration.ofSeconds(59));
    InMemoryConnection b = tx.open("alice");
    assertEquals(ResumeStatus.FINISHED, sub(b, first, 0, first.epoch()).status(), "still retained");
    RunHandle second = start("s", a);
    second.publish("delta", 1);
    time.advance(Duration.ofSeconds(1)); // first's retention is over
    assertTrue(rl.run(first.runId()).isEmpty(), "the first run is evicted");
    assertSame(second, rl.currentRun("s").orElseThrow(), "its timer left the newer run alone");
    InMemoryConnection c = tx.open("alice");
    SubscribeAck ack = sub(c, SubscribeTarget.session("s", 0, null), AttachMode.ADDITIVE);
    assertEquals(second.runId(), ack.runId());
    assertEquals(ResumeStatus.EXACT, ack.status());
    assertSeqRange(c, second.runId(), 1, 2);
    assertEquals(ResumeStatus.UNKNOWN_RUN, sub(c, first, 0, first.epoch()).status());

    second.complete(null);
    time.advance(Duration.ofSeconds(59));
    assertTrue(rl.run(second.runId()).isPresent());
    time.advance(Duration.ofSeconds(1));
    assertTrue(rl.run(second.runId()).isEmpty());
    assertEquals(1, rl.sessionCount(), "c still follows the session");
    c.clientClose(dev.runlane.transport.CloseReason.NORMAL);
    assertEquals(0, rl.sessionCount(), "a session with no run and no follower is gone");
    assertEquals(0, rl.runCount());
  }

  @Test
  void aSecondTabFollowingTheSessionGetsTheNextRunStartedByAnother() {
    InMemoryConnection tab1 = tx.open("alice");
    InMemoryConnection tab2 = tx.open("alice");
    SubscribeAck follow = sub(tab2, SubscribeTarget.session("chat", 0, null), AttachMode.ADDITIVE);
    assertEquals(ResumeStatus.NO_RUN_YET, follow.status());
    RunHandle first = start("chat", tab1);
    publish(first, 2);
    first.complete(null);
    RunHandle second = start("chat", tab1);
    second.publish("delta", "x");
    assertSeqRange(tab2, first.runId(), 1, 4);
    assertSeqRange(tab2, second.runId(), 1, 2);
    rl.unsubscribe(tab2.id(), "chat");
    second.publish("delta", "y");
    second.complete(null);
    RunHandle third = start("chat", tab1);
    assertSeqRange(tab2, second.runId(), 1, 2);
    assertNoEventsOf(tab2, third.runId());
    assertSeqRange(tab1, third.runId(), 1, 1);
  }

  private static void assertNoEventsOf(InMemoryConnection c, String runId) {
    assertTrue(seqsOf(c, runId).isEmpty(), c.id() + " must not receive " + runId);
  }

  @Test
  void sessionNoticesReachOnlyThatSessionAndSystemNoticesReachEveryone() {
    InMemoryConnection starter = tx.open("alice"); // recipient of s1's run, not a follower
    InMemoryConnection follower = tx.open("alice");
    InMemoryConnection otherSession = tx.open("alice");
    InMemoryConnection idle = tx.open("bob");
    RunHandle run = start("s1", starter);
    sub(follower, SubscribeTarget.session("s1", 0, null), AttachMode.ADDITIVE);
    sub(otherSession, SubscribeTarget.session("s2", 0, null), AttachMode.ADDITIVE);
    assertEquals(2, rl.noticeSession("s1", "model_changed", "gpt"));
    for (InMemoryConnection c : List.of(starter, follower)) {
      assertEquals("s1", Objects.requireNonNull(c.last("notice")).get("session"), c.id());
    }
    assertNull(otherSession.last("notice"));
    assertNull(idle.last("notice"));
    assertEquals(0, rl.noticeSession("nobody", "x", null));
    rl.noticeAll("reload", null);
    for (InMemoryConnection c : List.of(starter, follower, otherSession, idle)) {
      WireMessage n = Objects.requireNonNull(c.last("notice"), c.id());
      assertEquals("reload", n.get("kind"));
      assertNull(n.get("session"));
    }
    assertSeqs(idle, run.runId());
  }

  @Test
  void takeoverWithLastSeqGivesNoDuplicates() {
    InMemoryConnection old = tx.open("alice");
    RunHandle run = start("s", old);
    publish(run, 4); // old has 1..5
    InMemoryConnection refreshed = tx.open("alice");
    SubscribeAck ack = sub(refreshed, new SubscribeTarget("s", run.runId(), 5, run.epoch()), AttachMode.TAKEOVER);
    assertEquals(ResumeStatus.EXACT, ack.status());
    assertEquals(0, ack.replayCount(), "the page already had 1..5");
    publish(run, 2);
    assertSeqRange(refreshed, run.runId(), 6, 7);
    assertSeqRange(old, run.runId(), 1, 5);
    assertEquals(java.util.Set.of(refreshed.id()), rl.recipientsOf(run.runId()), "the old socket was replaced");
    assertTrue(old.isOpen(), "takeover replaces a recipient, it does not close its connection");
  }

  @Test
  void aConnectionResumingAcrossSeveralReconnectsSeesEverySeqOnce() {
    rebuild(SpecEngine.builder().replayCapacity(8));
    InMemoryConnection c = tx.open("alice");
    RunHandle run = start("s", c);
    List<Long> seen = new ArrayList<>();
    Random rnd = new Random(42);
    for (int round = 0; round < 50; round++) {
      publish(run, rnd.nextInt(6));
      seen.addAll(afterLastAck(c, run.runId())); // what this connection got: replay, then live
      c.clientClose(dev.runlane.transport.CloseReason.NORMAL);
      publish(run, rnd.nextInt(7)); // at most 7 missed: still within 8
      long last = seen.get(seen.size() - 1);
      c = tx.open("alice");
      SubscribeAck ack = sub(c, run, last, run.epoch());
      assertEquals(ResumeStatus.EXACT, ack.status());
      assertEquals(last + 1, ack.replayFrom());
    }
    seen.addAll(afterLastAck(c, run.runId()));
    assertEquals(range(1, run.headSeq()), seen, "every seq exactly once, in order, across 50 reconnects");
  }
}
