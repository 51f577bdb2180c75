package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.runlane.InvariantCheck;
import dev.runlane.Result;
import dev.runlane.Approval;
import dev.runlane.AttachMode;
import dev.runlane.ErrorCode;
import dev.runlane.FailureReason;
import dev.runlane.RunHandle;
import dev.runlane.RunOutcome;
import dev.runlane.RunState;
import dev.runlane.StartRequest;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.SubscribeTarget;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.TextCodec;
import dev.runlane.testkit.WireMessage;
import dev.runlane.transport.CloseReason;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Model-based test of the lifecycle promises (issue 4; MISSION promises 4 and 5).
 *
 * <p>{@link #randomInterleavingsAgreeWithTheModel()} drives random interleavings of start (API,
 * startAndRun, client command) / publish / complete / fail / abort (API, session, client command,
 * authorized or not) / safety net (tasks that return, throw, end their run, or end it and start the
 * next run) / runtime death / queued runtimes / expiry and approval expiry (manual clock) /
 * approvals / subscribe / disconnect over several sessions and connections, and compares Runlane
 * after every step with a trivially correct model (maps and lists). At the end of each sequence it
 * checks what every connection received: per run, seqs 1..k without gap or duplicate, at most one
 * terminal and nothing after it, the terminal for every connection that was a recipient at the end,
 * nothing from sessions its principal may not see.
 *
 * <p>{@link #concurrentRacesKeepOneEndPerRun()} races the same operations from several threads and
 * checks the invariants that hold under any interleaving: exactly one winning end per run, exactly
 * one terminal event per run on a connection that follows the session and exactly one listener call,
 * nothing after the terminal, at most one running run per session.
 *
 * <p>Seeds: {@code -Drunlane.seed=N} reproduces a run; the seed is printed and is in every failure
 * message. Sizes: {@code -Drunlane.model.sequences}, {@code -Drunlane.model.steps}, {@code
 * -Drunlane.stress.scale}.
 */
class LifecycleModelTest {
  static final long SEED = Long.getLong("runlane.seed", System.nanoTime());
  static final int SEQUENCES = Integer.getInteger("runlane.model.sequences", 40);
  static final int STEPS = Integer.getInteger("runlane.model.steps", 250);
  static final int SCALE = Integer.getInteger("runlane.stress.scale", 1);

  static final long SECOND = 1_000_000_000L;
  static final long GRACE = SECOND;

  // ============================================================ single-threaded model

  @Test
  void randomInterleavingsAgreeWithTheModel() {
    System.out.println("LifecycleModelTest.randomInterleavingsAgreeWithTheModel seed=" + SEED + " (-Drunlane.seed=" + SEED + ")");
    for (int i = 0; i < SEQUENCES; i++) {
      long seed = SEED + i * 0x9E3779B97F4A7C15L;
      try (Sequence s = new Sequence(seed)) {
        s.run(STEPS);
      }
    }
  }

  enum St {
    RUNNING,
    COMPLETED,
    ABORTED,
    FAILED;

    RunState engine() {
      return RunState.valueOf(name());
    }
  }

  static final class MConn {
    final InMemoryConnection c;
    final String principal;
    final boolean observer;
    @Nullable MSession observes; // the session an observer follows from before its first run
    boolean open = true;

    MConn(InMemoryConnection c, boolean observer) {
      this.c = c;
      this.principal = c.principal();
      this.observer = observer;
    }

    @Override
    public String toString() {
      return c.id() + "/" + principal + (open ? "" : "(closed)");
    }
  }

  static final class MSession {
    final String id;
    final String owner;
    @Nullable MRun current;
    final Set<MConn> followers = new LinkedHashSet<>();
    final List<MRun> runs = new ArrayList<>();

    MSession(String id, String owner) {
      this.id = id;
      this.owner = owner;
    }
  }

  static final class MRun {
    final RunHandle h;
    final MSession s;
    final @Nullable MConn starter;
    St st = St.RUNNING;
    @Nullable FailureReason reason;
    long head = 1;
    int cancels;
    final Set<MConn> recipients = new LinkedHashSet<>();
    Set<MConn> endRecipients = Set.of();
    final List<MApproval> pending = new ArrayList<>();

    MRun(RunHandle h, MSession s, @Nullable MConn starter) {
      this.h = h;
      this.s = s;
      this.starter = starter != null && starter.open ? starter : null;
    }

    String id() {
      return h.runId();
    }

    @Override
    public String toString() {
      return h.runId() + "@" + s.id + ":" + st;
    }
  }

  static final class MApproval {
    final Approval a;
    final MRun run;
    final List<Approval.Resolution> calls = new ArrayList<>();
    Approval.@Nullable Resolution expected;

    MApproval(Approval a, MRun run) {
      this.a = a;
      this.run = run;
    }
  }

  /** A model timer: a run deadline or an approval expiry, ordered like ManualTimeSource's. */
  record MTimer(long due, long order, @Nullable MRun run, @Nullable MApproval approval) {}

  /** What a queued runtime will do when it runs: publish {@code events}, then {@code end}. */
  record Script(int events, String end) {
    static Script parse(String s) {
      int i = s.indexOf(':');
      return new Script(Integer.parseInt(s.substring(0, i)), s.substring(i + 1));
    }

    String text() {
      return events + ":" + end;
    }
  }

  static final String[] SCRIPT_ENDS = {"COMPLETE", "FAIL", "RETURN", "THROW"};

  /** One random sequence against a fresh Runlane. */
  static final class Sequence implements AutoCloseable {
    final long seed;
    final Random rnd;
    final ArrayDeque<String> trace = new ArrayDeque<>();
    final List<Runnable> queued = new ArrayList<>();
    final ArrayDeque<MRun> queuedRuns = new ArrayDeque<>();
    final Map<String, List<RunOutcome>> outcomes = new HashMap<>();
    final LifecycleFixture f;
    final List<MSession> sessions = new ArrayList<>();
    final List<MConn> conns = new ArrayList<>();
    final List<MRun> runs = new ArrayList<>();
    final List<MApproval> approvals = new ArrayList<>();
    final List<MTimer> timers = new ArrayList<>();
    long now;
    long order;
    int step;
    int dataCounter;

    Sequence(long seed) {
      this.seed = seed;
      this.rnd = new Random(seed);
      this.f =
          new LifecycleFixture(
              b ->
                  b.runtimeExecutor(queued::add)
                      .runTimeoutGrace(Duration.ofNanos(GRACE))
                      .retention(Duration.ofDays(1))
                      .runListener(o -> outcomes.computeIfAbsent(o.runId(), k -> new ArrayList<>()).add(o)));
      f.body = (run, input) -> runScript(run, Script.parse(String.valueOf(input)));
      String[] owners = {"alice", "bob", "alice"};
      for (int i = 0; i < owners.length; i++) {
        MSession s = new MSession("s" + i, owners[i]);
        sessions.add(s);
        MConn obs = new MConn(f.open(owners[i]), true);
        obs.observes = s;
        conns.add(obs);
        Result<SubscribeAck> r = f.rl.subscribe(obs.c.id(), SubscribeTarget.session(s.id, 0, null), AttachMode.ADDITIVE);
        assertTrue(r.isOk(), msg("observer subscribe " + r));
        s.followers.add(obs);
      }
      for (String p : new String[] {"alice", "alice", "bob", "eve"}) {
        conns.add(new MConn(f.open(p), false));
      }
      for (MSession s : sessions) { // claim each session for its owner
        opStartApi(s, s.owner, null, false, null);
      }
    }

    @Override
    public void close() {
      f.close();
    }

    /** A lazily built failure message: the seed, the step and the last operations. */
    java.util.function.Supplier<String> msg(String what) {
      return () -> text(what);
    }

    String text(String what) {
      return "seed=" + seed + " step=" + step + ": " + what + "\nlast ops:\n  " + String.join("\n  ", trace);
    }

    void note(String op) {
      trace.addLast(step + " " + op);
      if (trace.size() > 40) {
        trace.removeFirst();
      }
    }

    // ---------------------------------------------------------- picking

    <T> T pick(List<T> l) {
      return l.get(rnd.nextInt(l.size()));
    }

    MRun anyRun() {
      // prefer running runs, but keep hitting ended ones (late calls are part of the contract)
      List<MRun> running = new ArrayList<>();
      for (MRun r : runs) {
        if (r.st == St.RUNNING) {
          running.add(r);
        }
      }
      return !running.isEmpty() && rnd.nextInt(3) > 0 ? pick(running) : pick(runs);
    }

    @Nullable MConn openConn(boolean includeObservers) {
      List<MConn> l = new ArrayList<>();
      for (MConn c : conns) {
        if (c.open && (includeObservers || !c.observer)) {
          l.add(c);
        }
      }
      return l.isEmpty() ? null : pick(l);
    }

    String anyPrincipal(MSession s) {
      int r = rnd.nextInt(4);
      return r < 2 ? s.owner : r == 2 ? (s.owner.equals("alice") ? "bob" : "alice") : "eve";
    }

    // ---------------------------------------------------------- model transitions

    void endModel(MRun r, St st, @Nullable FailureReason reason) {
      assertEquals(St.RUNNING, r.st, msg("model: ending an ended run"));
      r.st = st;
      r.reason = reason;
      r.head++;
      r.endRecipients = new LinkedHashSet<>(r.recipients);
      r.recipients.clear();
      for (MApproval a : r.pending) {
        a.expected = Approval.Resolution.RUN_ENDED;
      }
      r.pending.clear();
    }

    MRun startedModel(RunHandle h, MSession s, @Nullable MConn starter, boolean follow, @Nullable Duration timeout) {
      MRun r = new MRun(h, s, starter);
      if (starter != null && starter.open && follow) {
        s.followers.add(starter);
      }
      if (starter != null && starter.open) {
        r.recipients.add(starter);
      }
      for (MConn c : s.followers) {
        if (c.open) {
          r.recipients.add(c);
        }
      }
      s.current = r;
      s.runs.add(r);
      runs.add(r);
      if (timeout != null) {
        long t = Math.min(TimeUnit.HOURS.toNanos(24), Math.max(SECOND, timeout.toNanos()));
        timers.add(new MTimer(now + t + GRACE, order++, r, null));
      }
      return r;
    }

    /** The refusal the model expects for a start, or null if it must start. */
    @Nullable ErrorCode expectedStartRefusal(MSession s, String principal, @Nullable MConn from) {
      if (!principal.equals(s.owner)) {
        return ErrorCode.SESSION_NOT_FOUND; // the default authorizer hides other users' sessions
      }
      if (from != null && from.open && !from.principal.equals(principal)) {
        return ErrorCode.FORBIDDEN; // another user's connection cannot be made a recipient
      }
      MRun cur = s.current;
      return cur != null && cur.st == St.RUNNING ? ErrorCode.RUN_IN_PROGRESS : null;
    }

    long totalFrames() {
      long n = 0;
      for (MConn c : conns) {
        n += c.c.frames().size();
      }
      return n;
    }

    // ---------------------------------------------------------- the runtime

    void runScript(RunHandle run, Script sc) {
      MRun r = byHandle(run);
      for (int i = 0; i < sc.events(); i++) {
        String data = "rt" + dataCounter++;
        Result<Long> p = run.publish("delta", data);
        if (r.st == St.RUNNING) {
          r.head++;
          assertEquals(r.head, p.orElseThrow(), msg("runtime publish seq"));
        } else {
          assertFalse(p.isOk(), msg("runtime publish into ended run " + r));
        }
      }
      switch (sc.end()) {
        case "COMPLETE" -> {
          boolean expect = r.st == St.RUNNING;
          assertEquals(expect, run.complete("done").isOk(), msg("runtime complete"));
          if (expect) {
            endModel(r, St.COMPLETED, null);
          }
        }
        case "FAIL" -> {
          boolean expect = r.st == St.RUNNING;
          assertEquals(expect, run.fail(FailureReason.RUNTIME_ERROR, 2, "tool failed").isOk(), msg("runtime fail"));
          if (expect) {
            endModel(r, St.FAILED, FailureReason.RUNTIME_ERROR);
          }
        }
        case "RETURN" -> {
          if (r.st == St.RUNNING) {
            endModel(r, St.FAILED, FailureReason.NO_END_REPORTED); // the safety net's end, next
          }
        }
        case "THROW" -> {
          if (r.st == St.RUNNING) {
            endModel(r, St.FAILED, FailureReason.RUNTIME_THREW);
          }
          throw new LifecycleFixture.Scripted("scripted runtime crash");
        }
        default -> throw new IllegalStateException(sc.end());
      }
    }

    MRun byHandle(RunHandle h) {
      for (MRun r : runs) {
        if (r.h == h) {
          return r;
        }
      }
      throw new AssertionError(text("unknown handle " + h));
    }

    // ---------------------------------------------------------- operations

    void run(int steps) {
      for (step = 0; step < steps; step++) {
        try {
          oneStep();
          checkAll();
        } catch (AssertionError e) {
          throw e.getMessage() != null && e.getMessage().startsWith("seed=") ? e : new AssertionError(text(String.valueOf(e.getMessage())), e);
        }
      }
      step = steps;
      try {
        checkReceived();
      } catch (AssertionError e) {
        throw new AssertionError(text("final check: " + e.getMessage()), e);
      }
    }

    void oneStep() {
      int op = rnd.nextInt(100);
      MSession s = pick(sessions);
      if (op < 8) {
        MConn c = rnd.nextBoolean() ? pick(conns) : null;
        Duration timeout = rnd.nextInt(3) == 0 ? Duration.ofMillis(new long[] {1, 500, 1000, 2000, 3000, 8000}[rnd.nextInt(6)]) : null;
        opStartApi(s, anyPrincipal(s), c, rnd.nextBoolean(), timeout);
      } else if (op < 12) {
        opStartAndRun(s, anyPrincipal(s));
      } else if (op < 16) {
        MConn c = openConn(false);
        if (c != null) {
          opStartInbound(s, c);
        }
      } else if (op < 32) {
        opPublish(anyRun());
      } else if (op < 37) {
        opComplete(anyRun());
      } else if (op < 40) {
        opFail(anyRun());
      } else if (op < 48) {
        opAbort(s);
      } else if (op < 54) {
        opGuard(anyRun());
      } else if (op < 56) {
        opDied();
      } else if (op < 62) {
        opRunQueued();
      } else if (op < 68) {
        opAdvance();
      } else if (op < 76) {
        MConn c = openConn(false);
        if (c != null) {
          opSubscribe(c, s);
        }
      } else if (op < 80) {
        opDisconnect();
      } else if (op < 83) {
        String p = new String[] {"alice", "bob", "eve"}[rnd.nextInt(3)];
        conns.add(new MConn(f.open(p), false));
        note("open " + conns.get(conns.size() - 1));
      } else if (op < 91) {
        opRequestApproval(anyRun());
      } else {
        opResolve();
      }
    }

    void opStartApi(MSession s, String principal, @Nullable MConn c, boolean follow, @Nullable Duration timeout) {
      note("startRun " + s.id + " by " + principal + " from " + c + (follow ? " following" : "") + " timeout " + timeout);
      StartRequest req = StartRequest.of(s.id, principal);
      if (c != null) {
        req = req.fromConnection(c.c.id());
      }
      if (follow) {
        req = req.following();
      }
      if (timeout != null) {
        req = req.withTimeout(timeout);
      }
      ErrorCode expect = expectedStartRefusal(s, principal, c);
      long frames = totalFrames();
      int runCount = f.rl.runCount();
      Result<RunHandle> r = f.rl.startRun(req);
      if (expect != null) {
        assertEquals(expect, refusal(r), msg("start " + r));
        assertNoSideEffect(frames, runCount);
      } else {
        assertTrue(r.isOk(), msg("start refused: " + r));
        startedModel(r.orElseThrow(), s, c, follow, timeout);
      }
    }

    void opStartAndRun(MSession s, String principal) {
      Script sc = new Script(rnd.nextInt(3), SCRIPT_ENDS[rnd.nextInt(SCRIPT_ENDS.length)]);
      note("startAndRun " + s.id + " by " + principal + " script " + sc);
      ErrorCode expect = expectedStartRefusal(s, principal, null);
      long frames = totalFrames();
      int runCount = f.rl.runCount();
      int q = queued.size();
      Result<RunHandle> r = f.rl.startAndRun(StartRequest.of(s.id, principal).withInput(sc.text()));
      if (expect != null) {
        assertEquals(expect, refusal(r), msg("startAndRun " + r));
        assertNoSideEffect(frames, runCount);
        assertEquals(q, queued.size(), msg("a refused start queued a runtime"));
      } else {
        assertTrue(r.isOk(), msg("startAndRun refused: " + r));
        queuedRuns.add(startedModel(r.orElseThrow(), s, null, false, null));
        assertEquals(q + 1, queued.size());
      }
    }

    void opStartInbound(MSession s, MConn c) {
      Script sc = new Script(rnd.nextInt(3), SCRIPT_ENDS[rnd.nextInt(SCRIPT_ENDS.length)]);
      note("inbound start " + s.id + " from " + c + " script " + sc);
      ErrorCode expect = expectedStartRefusal(s, c.principal, c);
      long frames = totalFrames();
      int runCount = f.rl.runCount();
      int q = queued.size();
      int before = c.c.frames().size();
      c.c.sendText("start " + s.id + " " + TextCodec.enc(sc.text()));
      if (expect != null) {
        assertEquals(before + 1, c.c.frames().size(), msg("refused start: one error to the sender"));
        WireMessage err = messageAt(c, before);
        assertEquals("error", err.type(), msg("inbound start refusal " + err));
        assertEquals(expect.name(), err.get("code"), msg("inbound start refusal"));
        assertEquals(frames + 1, totalFrames(), msg("a refused start reached another connection"));
        assertEquals(runCount, f.rl.runCount());
        assertEquals(q, queued.size());
      } else {
        MRun cur = s.current;
        RunHandle h = f.rl.currentRun(s.id).orElseThrow();
        assertTrue(cur == null || cur.h != h, msg("inbound start did not start a run"));
        queuedRuns.add(startedModel(h, s, c, true, null));
        assertEquals(q + 1, queued.size());
      }
    }

    void assertNoSideEffect(long frames, int runCount) {
      assertEquals(frames, totalFrames(), msg("a refused start sent something"));
      assertEquals(runCount, f.rl.runCount(), msg("a refused start created a run"));
    }

    static @Nullable ErrorCode refusal(Result<RunHandle> r) {
      return r instanceof Result.Refused ? r.refusalCode().orElseThrow() : null;
    }

    void opPublish(MRun r) {
      String data = "d" + dataCounter++;
      note("publish " + r + " " + data);
      Result<Long> p = r.h.publish("delta", data);
      if (r.st == St.RUNNING) {
        r.head++;
        assertEquals(Result.ok(r.head), p, msg("publish on running run"));
      } else {
        assertEquals(ErrorCode.RUN_ENDED, p.refusalCode().orElseThrow(), msg("publish after the end"));
      }
    }

    void opComplete(MRun r) {
      note("complete " + r);
      Result<RunOutcome> e = r.h.complete("result");
      checkEnd(r, e, St.COMPLETED, null);
    }

    void opFail(MRun r) {
      note("fail " + r);
      Result<RunOutcome> e = r.h.fail(FailureReason.RUNTIME_ERROR, 3, "failed");
      checkEnd(r, e, St.FAILED, FailureReason.RUNTIME_ERROR);
    }

    void checkEnd(MRun r, Result<RunOutcome> e, St st, @Nullable FailureReason reason) {
      if (r.st == St.RUNNING) {
        assertTrue(e.isOk(), msg("first end lost: " + e));
        endModel(r, st, reason);
        assertEquals(r.head, e.orElseThrow().terminalSeq(), msg("terminal seq"));
      } else {
        assertFalse(e.isOk(), msg("second end won: " + e));
        assertEquals(ErrorCode.RUN_ENDED, e.refusalCode().orElseThrow(), msg("a lost end is refused"));
        assertEquals(r.st.engine(), r.h.outcome().orElseThrow().state(), msg("a lost end changed the outcome"));
      }
    }

    void opAbort(MSession s) {
      int how = rnd.nextInt(4);
      MRun target = how == 0 ? anyRun() : s.current;
      String principal = anyPrincipal(s);
      if (how == 0) {
        note("abort run " + target + " by " + principal);
        Result<RunOutcome> a = f.rl.abort(target.id(), principal);
        checkAbort(target.s, target, principal, a.isOk() ? null : a.refusalCode().orElse(null));
      } else if (how == 1) {
        note("abortSession " + s.id + " by " + principal);
        Result<RunOutcome> a = f.rl.abortSession(s.id, principal);
        checkAbort(s, target, principal, a.isOk() ? null : a.refusalCode().orElse(null));
      } else {
        MConn c = openConn(false);
        if (c == null) {
          return;
        }
        // sometimes name a run, sometimes a run of another session
        MRun named = how == 3 ? anyRun() : null;
        note("inbound abort " + s.id + " " + named + " from " + c);
        long frames = totalFrames();
        int before = c.c.frames().size();
        MRun t = named == null ? target : named.s == s ? named : null;
        boolean wasRecipient = t != null && t.recipients.contains(c);
        c.c.sendText("abort " + s.id + (named == null ? "" : " " + named.id()));
        ErrorCode got = null;
        if (c.c.frames().size() > before) {
          WireMessage last = messageAt(c, c.c.frames().size() - 1);
          if (last.type().equals("error")) {
            got = ErrorCode.valueOf(last.require("code"));
          }
        }
        ErrorCode expected = expectedAbort(s, t, c.principal);
        if (expected != null) {
          assertEquals(expected, got, msg("inbound abort refusal"));
          assertEquals(frames + 1, totalFrames(), msg("a refused abort reached another connection"));
        } else {
          assertNull(got, msg("inbound abort refused"));
          assertTrue(wasRecipient || c.c.frames().size() == before, msg("abort reached the non-recipient sender"));
        }
        if (expected == null) {
          t.cancels++;
          endModel(t, St.ABORTED, null);
        }
        return;
      }
    }

    /**
     * The authorizer (owner-only) is asked before the run's state is looked at: a principal that
     * is not the session's owner gets SESSION_NOT_FOUND whether or not a run is going; in a session
     * nobody has started a run in, anyone may ask and is told there is nothing to abort.
     */
    @Nullable ErrorCode expectedAbort(MSession s, @Nullable MRun r, String principal) {
      if (s.current != null && !principal.equals(s.owner)) {
        return ErrorCode.SESSION_NOT_FOUND;
      }
      if (r == null || r.st != St.RUNNING) {
        return ErrorCode.NO_ACTIVE_RUN;
      }
      return null;
    }

    void checkAbort(MSession s, @Nullable MRun r, String principal, @Nullable ErrorCode got) {
      ErrorCode expected = expectedAbort(s, r, principal);
      assertEquals(expected, got, msg("abort"));
      if (expected == null) {
        r.cancels++;
        endModel(r, St.ABORTED, null);
      }
    }

    void opGuard(MRun r) {
      int kind = rnd.nextInt(5);
      note("runGuarded " + r + " kind " + kind);
      boolean wasRunning = r.st == St.RUNNING;
      Result<RunOutcome> e;
      switch (kind) {
        case 0 -> {
          e = f.rl.runGuarded(r.h, () -> {});
          if (wasRunning) {
            endModel(r, St.FAILED, FailureReason.NO_END_REPORTED);
          }
        }
        case 1 -> {
          e =
              f.rl.runGuarded(
                  r.h,
                  () -> {
                    throw new LifecycleFixture.Scripted("scripted");
                  });
          if (wasRunning) {
            endModel(r, St.FAILED, FailureReason.RUNTIME_THREW);
          }
        }
        case 2 -> {
          e = f.rl.runGuarded(r.h, () -> opPublish(r));
          if (r.st == St.RUNNING) {
            endModel(r, St.FAILED, FailureReason.NO_END_REPORTED);
          }
        }
        case 3 -> {
          e = f.rl.runGuarded(r.h, () -> opComplete(r));
          wasRunning = false; // the task's own end won, not the net
        }
        default -> {
          // seed 001: the runtime ends its run, the client starts the next turn, then the task returns
          e =
              f.rl.runGuarded(
                  r.h,
                  () -> {
                    opComplete(r);
                    opStartApi(r.s, r.s.owner, null, false, null);
                  });
          wasRunning = false;
        }
      }
      assertEquals(wasRunning, e.isOk(), msg("safety net result " + e));
      RunOutcome ended = r.h.outcome().orElseThrow();
      assertEquals(r.st.engine(), ended.state());
      if (e.isOk()) {
        assertSame(ended, e.orElseThrow(), msg("the safety net ended another run"));
      }
    }

    void opDied() {
      if (rnd.nextInt(5) == 0) {
        note("runtimeDied unknown");
        Result<RunOutcome> e = f.rl.runtimeDied("run_unknown_" + rnd.nextInt(100), null);
        assertEquals(ErrorCode.UNKNOWN_RUN, e.refusalCode().orElseThrow());
        return;
      }
      MRun r = anyRun();
      note("runtimeDied " + r);
      Result<RunOutcome> e = f.rl.runtimeDied(r.id(), "worker lost");
      checkEnd(r, e, St.FAILED, FailureReason.RUNTIME_DIED);
    }

    void opRunQueued() {
      if (queued.isEmpty()) {
        return;
      }
      MRun r = queuedRuns.removeFirst();
      note("run queued runtime of " + r);
      queued.remove(0).run();
    }

    void opAdvance() {
      long d = new long[] {0, 250, 500, 1000, 2000, 3000, 7000}[rnd.nextInt(7)] * 1_000_000L;
      note("advance " + d / 1_000_000 + " ms");
      long target = now + d;
      List<MTimer> due = new ArrayList<>();
      for (MTimer t : timers) {
        if (t.due() <= target) {
          due.add(t);
        }
      }
      timers.removeAll(due);
      due.sort(Comparator.comparingLong(MTimer::due).thenComparingLong(MTimer::order));
      for (MTimer t : due) {
        MRun r = t.run();
        MApproval a = t.approval();
        if (r != null && r.st == St.RUNNING) {
          r.cancels++;
          endModel(r, St.FAILED, FailureReason.TIMEOUT);
        } else if (a != null && a.expected == null) {
          a.expected = Approval.Resolution.EXPIRED;
          a.run.pending.remove(a);
        }
      }
      now = target;
      f.time.advance(Duration.ofNanos(d));
    }

    void opSubscribe(MConn c, MSession s) {
      boolean specific = rnd.nextInt(3) == 0;
      MRun target = specific ? (rnd.nextInt(4) == 0 ? anyRun() : pick(s.runs)) : s.current;
      long lastSeq = 0;
      String epoch = null;
      if (target != null) {
        lastSeq = lastSeqOf(c, target.id());
        epoch = lastSeq > 0 ? target.h.epoch() : null;
      }
      boolean inbound = rnd.nextBoolean();
      note("subscribe " + c + " to " + s.id + (specific ? " run " + target : "") + " lastSeq " + lastSeq + (inbound ? " (inbound)" : ""));
      SubscribeTarget t = new SubscribeTarget(s.id, specific ? target.id() : null, lastSeq, epoch);
      SubscribeAck ack;
      boolean allowed = c.principal.equals(s.owner) || specific && target.starter == c;
      if (inbound) {
        int before = c.c.frames().size();
        c.c.sendText("sub " + s.id + " " + lastSeq + " " + (epoch == null ? "-" : epoch) + (specific ? " " + target.id() : ""));
        if (!allowed) {
          assertEquals(before + 1, c.c.frames().size());
          assertEquals("SESSION_NOT_FOUND", c.c.last("error").get("code"), msg("subscribe refusal"));
          return;
        }
        WireMessage m = c.c.last("subscribed");
        assertNotNull(m, msg("no ack"));
        checkAckText(m, s, specific, target);
      } else {
        Result<SubscribeAck> r = f.rl.subscribe(c.c.id(), t, AttachMode.ADDITIVE);
        if (!allowed) {
          assertTrue(r instanceof Result.Refused, msg("subscribe allowed: " + r));
          assertEquals(ErrorCode.SESSION_NOT_FOUND, r.refusalCode().orElseThrow());
          return;
        }
        assertTrue(r.isOk(), msg("subscribe refused: " + r));
        ack = r.orElseThrow();
        checkAck(ack, s, specific, target);
      }
      boolean mismatch = specific && target.s != s;
      if (!specific) {
        s.followers.add(c);
      }
      if (target != null && !mismatch && target.st == St.RUNNING) {
        target.recipients.add(c);
      }
    }

    void checkAck(SubscribeAck ack, MSession s, boolean specific, @Nullable MRun target) {
      if (target == null || specific && target.s != s) {
        assertEquals(dev.runlane.ResumeStatus.UNKNOWN_RUN, ack.status(), msg("ack " + ack));
        return;
      }
      assertEquals(target.id(), ack.runId(), msg("ack run"));
      assertEquals(target.st == St.RUNNING, ack.processing(), msg("ack processing"));
      assertEquals(target.head, ack.headSeq(), msg("ack head"));
      assertFalse(ack.truncated());
      List<String> want = new ArrayList<>();
      for (MApproval a : target.pending) {
        want.add(a.a.approvalId());
      }
      List<String> got = new ArrayList<>();
      for (Approval a : ack.pendingApprovals()) {
        got.add(a.approvalId());
      }
      assertEquals(want, got, msg("ack pending approvals"));
      assertEquals(!specific, ack.following());
    }

    void checkAckText(WireMessage m, MSession s, boolean specific, @Nullable MRun target) {
      if (target == null || specific && target.s != s) {
        assertEquals("UNKNOWN_RUN", m.get("status"), msg("ack " + m));
        return;
      }
      assertEquals(target.id(), m.get("run"));
      assertEquals(String.valueOf(target.st == St.RUNNING), m.get("processing"));
      assertEquals(String.valueOf(target.head), m.get("head"));
      List<String> want = new ArrayList<>();
      for (MApproval a : target.pending) {
        want.add(a.a.approvalId());
      }
      assertEquals(String.join(",", want), m.get("approvals"), msg("ack pending approvals"));
    }

    static WireMessage messageAt(MConn c, int index) {
      return TextCodec.parse(c.c.frames().get(index).payload());
    }

    /** The client's resume position for a run: the highest seq of it this connection received. */
    static long lastSeqOf(MConn c, String runId) {
      long max = 0;
      String marker = " run=" + runId;
      for (dev.runlane.transport.Frame fr : c.c.frames()) {
        String text = ((dev.runlane.transport.Payload.Text) fr.payload()).text();
        if (text.startsWith("event ") && (text.contains(marker + " ") || text.endsWith(marker))) {
          WireMessage m = TextCodec.parse(fr.payload());
          if (m.isEventOf(runId)) {
            max = Math.max(max, m.num("seq"));
          }
        }
      }
      return max;
    }

    void opDisconnect() {
      MConn c = openConn(false);
      if (c == null) {
        return;
      }
      boolean host = rnd.nextBoolean();
      note("disconnect " + c + (host ? " (host)" : " (client)"));
      if (host) {
        f.rl.disconnect(c.c.id(), CloseReason.NORMAL);
      } else {
        c.c.clientClose(CloseReason.NORMAL);
      }
      c.open = false;
      for (MRun r : runs) {
        r.recipients.remove(c);
      }
      for (MSession s : sessions) {
        s.followers.remove(c);
      }
    }

    void opRequestApproval(MRun r) {
      Duration exp = rnd.nextBoolean() ? null : Duration.ofMillis(new long[] {0, 1000, 2000, 5000}[rnd.nextInt(4)]);
      note("requestApproval " + r + " expires " + exp);
      MApproval[] box = new MApproval[1];
      Approval a = r.h.requestApproval("tool", exp, (ap, res, d, by) -> box[0].calls.add(res));
      if (r.st != St.RUNNING) {
        assertNull(a, msg("an ended run raised an approval"));
        return;
      }
      assertNotNull(a, msg("a running run could not raise an approval"));
      MApproval m = new MApproval(a, r);
      box[0] = m;
      approvals.add(m);
      r.pending.add(m);
      if (exp != null) {
        timers.add(new MTimer(now + exp.toNanos(), order++, null, m));
      }
    }

    void opResolve() {
      if (approvals.isEmpty()) {
        return;
      }
      MApproval a = pick(approvals);
      boolean inbound = rnd.nextBoolean();
      String principal;
      ErrorCode got;
      if (inbound) {
        MConn c = openConn(false);
        if (c == null) {
          return;
        }
        principal = c.principal;
        note("inbound resolve " + a.a.approvalId() + " of " + a.run + " from " + c);
        int before = c.c.frames().size();
        long frames = totalFrames();
        c.c.sendText("resolve " + a.a.approvalId() + " yes");
        WireMessage last = c.c.frames().size() > before ? messageAt(c, c.c.frames().size() - 1) : null;
        got = last != null && last.type().equals("error") ? ErrorCode.valueOf(last.require("code")) : null;
        if (got != null) {
          assertEquals(frames + 1, totalFrames(), msg("a refused resolve reached another connection"));
        }
      } else {
        principal = anyPrincipal(a.run.s);
        note("resolveApproval " + a.a.approvalId() + " of " + a.run + " by " + principal);
        got = f.rl.resolveApproval(a.a.approvalId(), principal, "yes").refusalCode().orElse(null);
      }
      ErrorCode expected =
          a.expected != null || !principal.equals(a.run.h.owner()) ? ErrorCode.UNKNOWN_APPROVAL : null;
      assertEquals(expected, got, msg("resolve"));
      if (expected == null) {
        a.expected = Approval.Resolution.ANSWERED;
        a.run.pending.remove(a);
      }
    }

    // ---------------------------------------------------------- checks

    void checkAll() {
      for (MRun r : runs) {
        assertEquals(r.st.engine(), r.h.state(), msg("state of " + r));
        assertEquals(r.head, r.h.headSeq(), msg("head of " + r));
        Set<String> want = new LinkedHashSet<>();
        for (MConn c : r.recipients) {
          want.add(c.c.id());
        }
        assertEquals(want, f.rl.recipientsOf(r.id()), msg("recipients of " + r));
        List<RunOutcome> o = outcomes.getOrDefault(r.id(), List.of());
        assertEquals(r.st == St.RUNNING ? 0 : 1, o.size(), msg("listener calls of " + r));
        if (!o.isEmpty()) {
          assertEquals(r.st.engine(), o.get(0).state(), msg("listener outcome of " + r));
          assertEquals(r.reason, o.get(0).failureReason(), msg("failure reason of " + r));
          assertEquals(r.head, o.get(0).terminalSeq());
        }
        assertEquals(r.cancels, f.cancelCalls(r.h), msg("cancel hook calls of " + r));
      }
      for (MSession s : sessions) {
        int running = 0;
        for (MRun r : s.runs) {
          running += r.st == St.RUNNING ? 1 : 0;
        }
        assertTrue(running <= 1, msg("two running runs in " + s.id));
        assertEquals(s.current == null ? null : s.current.h, f.rl.currentRun(s.id).orElse(null), msg("current run of " + s.id));
      }
      for (MApproval a : approvals) {
        List<Approval.Resolution> want = a.expected == null ? List.of() : List.of(a.expected);
        assertEquals(want, a.calls, msg("callback calls of approval of " + a.run));
      }
      InvariantCheck.checkNow(f.rl);
    }

    /** What every connection received, checked once at the end of the sequence. */
    void checkReceived() {
      Map<String, MRun> byId = new HashMap<>();
      for (MRun r : runs) {
        byId.put(r.id(), r);
      }
      for (MConn c : conns) {
        Map<String, List<WireMessage>> perRun = new LinkedHashMap<>();
        Map<String, Integer> resolvedPerApproval = new HashMap<>();
        for (WireMessage m : c.c.messages()) {
          if (m.isEvent()) {
            perRun.computeIfAbsent(m.require("run"), k -> new ArrayList<>()).add(m);
          } else if (m.type().equals("approval")) {
            MRun r = byId.get(m.require("run"));
            assertEquals(r.s.owner, c.principal, c + " got an approval of another user's run " + r + ": " + c.c.messages());
          } else if (m.type().equals("approval_resolved")) {
            int n = resolvedPerApproval.merge(m.require("id"), 1, Integer::sum);
            assertEquals(1, n, c + " got two resolutions of approval " + m.get("id"));
          }
        }
        for (Map.Entry<String, List<WireMessage>> e : perRun.entrySet()) {
          MRun r = byId.get(e.getKey());
          assertNotNull(r, "unknown run " + e.getKey());
          assertEquals(r.s.owner, c.principal, c + " received run " + r + " of another user");
          List<WireMessage> ev = e.getValue();
          for (int i = 0; i < ev.size(); i++) {
            assertEquals(i + 1, ev.get(i).num("seq"), c + " seqs of " + r + ": " + seqs(ev));
            boolean terminal = LifecycleFixture.isTerminal(ev.get(i));
            assertEquals(terminal, r.st != St.RUNNING && i + 1 == r.head, c + " terminal placement in " + r + ": " + seqs(ev));
          }
          if (r.st != St.RUNNING) {
            WireMessage last = ev.get(ev.size() - 1);
            if (LifecycleFixture.isTerminal(last)) {
              assertEquals(r.st.name(), last.get("state"), c + " terminal of " + r);
              assertEquals(r.reason == null ? null : r.reason.name(), last.get("reason"));
            }
          }
        }
        for (MRun r : runs) {
          List<WireMessage> ev = perRun.getOrDefault(r.id(), List.of());
          if (r.endRecipients.contains(c)) {
            assertEquals(r.head, ev.size(), c + " was a recipient at the end of " + r + " but got " + seqs(ev));
          }
          if (c.observes == r.s) {
            assertEquals(r.head, ev.size(), "observer " + c + " of " + r + " got " + seqs(ev));
          }
          if (c.open && r.recipients.contains(c)) {
            assertEquals(r.head, ev.size(), c + " is a recipient of " + r + " but got " + seqs(ev));
          }
        }
      }
    }

    static List<String> seqs(List<WireMessage> ev) {
      List<String> out = new ArrayList<>();
      for (WireMessage m : ev) {
        out.add(m.get("seq") + (LifecycleFixture.isTerminal(m) ? "T" : ""));
      }
      return out;
    }
  }

  // ============================================================ multi-threaded races

  @Tag("stress")
  @Test
  void concurrentRacesKeepOneEndPerRun() throws Exception {
    long seed = SEED;
    System.out.println("LifecycleModelTest.concurrentRacesKeepOneEndPerRun seed=" + seed + " (-Drunlane.seed=" + seed + ")");
    int threads = 4;
    int opsPerThread = 1500 * SCALE;
    String[] sessions = {"s0", "s1", "s2", "s3"};
    Map<String, List<RunOutcome>> outcomes = new ConcurrentHashMap<>();
    try (LifecycleFixture f =
        new LifecycleFixture(
            b ->
                b.maxQueuedFrames(1 << 20)
                    .maxQueuedBytes(1L << 32)
                    .replayCapacity(4096)
                    .retention(Duration.ofDays(1))
                    // the manual clock jumps while real sends are in flight on other threads: no stall closes
                    .sendStallTimeout(Duration.ZERO)
                    .runTimeoutGrace(Duration.ZERO)
                    .runListener(o -> outcomes.computeIfAbsent(o.runId(), k -> Collections.synchronizedList(new ArrayList<>())).add(o)))) {
      Map<String, InMemoryConnection> observers = new HashMap<>();
      Map<String, RunHandle> handles = new ConcurrentHashMap<>();
      Map<String, AtomicInteger> wins = new ConcurrentHashMap<>();
      Map<String, String> published = new ConcurrentHashMap<>(); // runId#seq -> data
      Map<String, AtomicInteger> approvalCalls = new ConcurrentHashMap<>();
      Map<String, AtomicInteger> answered = new ConcurrentHashMap<>();
      List<Approval> raised = Collections.synchronizedList(new ArrayList<>());
      List<InMemoryConnection> extras = Collections.synchronizedList(new ArrayList<>());
      List<Throwable> problems = Collections.synchronizedList(new ArrayList<>());
      for (String s : sessions) {
        InMemoryConnection obs = f.open("owner");
        observers.put(s, obs);
        f.rl.subscribe(obs.id(), SubscribeTarget.session(s, 0, null), AttachMode.ADDITIVE);
        RunHandle claim = f.start(s, "owner", null); // the owner claims the session
        handles.put(claim.runId(), claim);
        wins.computeIfAbsent(claim.runId(), k -> new AtomicInteger()).addAndGet(claim.complete(null).isOk() ? 1 : 0);
      }
      AtomicLong dataIds = new AtomicLong();
      CyclicBarrier go = new CyclicBarrier(threads);
      CountDownLatch done = new CountDownLatch(threads);
      for (int t = 0; t < threads; t++) {
        Random rnd = new Random(seed + 31L * t);
        Thread th =
            new Thread(
                () -> {
                  try {
                    go.await(10, TimeUnit.SECONDS);
                    for (int i = 0; i < opsPerThread; i++) {
                      String s = sessions[rnd.nextInt(sessions.length)];
                      RunHandle cur = f.rl.currentRun(s).orElseThrow();
                      int op = rnd.nextInt(100);
                      if (op < 12) {
                        StartRequest req = StartRequest.of(s, "owner");
                        if (rnd.nextInt(4) == 0) {
                          req = req.withTimeout(Duration.ofSeconds(1 + rnd.nextInt(3)));
                        }
                        Result<RunHandle> r = f.rl.startRun(req);
                        if (r.isOk()) {
                          handles.put(r.orElseThrow().runId(), r.orElseThrow());
                          assertAtMostOneRunning(handles, s, seed);
                        } else {
                          assertEquals(ErrorCode.RUN_IN_PROGRESS, r.refusalCode().orElseThrow(), "seed=" + seed);
                        }
                      } else if (op < 14) {
                        Result<RunHandle> r = f.rl.startRun(StartRequest.of(s, "mallory"));
                        assertEquals(ErrorCode.SESSION_NOT_FOUND, r.refusalCode().orElseThrow(), "seed=" + seed);
                      } else if (op < 42) {
                        String data = "p" + dataIds.incrementAndGet();
                        Result<Long> p = cur.publish("delta", data);
                        if (p.isOk()) {
                          published.put(cur.runId() + "#" + p.orElseThrow(), data);
                        }
                      } else if (op < 48) {
                        win(wins, cur, cur.complete("done").isOk());
                      } else if (op < 53) {
                        win(wins, cur, cur.fail(FailureReason.RUNTIME_ERROR, 1, "x").isOk());
                      } else if (op < 59) {
                        Result<RunOutcome> a = rnd.nextBoolean() ? f.rl.abort(cur.runId(), "owner") : f.rl.abortSession(s, "owner");
                        if (a.isOk()) {
                          win(wins, f.rl.run(a.orElseThrow().runId()).orElseThrow(), true);
                        }
                      } else if (op < 61) {
                        Result<RunOutcome> a = f.rl.abort(cur.runId(), "mallory");
                        assertFalse(a.isOk(), "seed=" + seed + " mallory aborted");
                      } else if (op < 69) {
                        int kind = rnd.nextInt(4);
                        Result<RunOutcome> e =
                            f.rl.runGuarded(
                                cur,
                                () -> {
                                  switch (kind) {
                                    case 0 -> {}
                                    case 1 -> throw new LifecycleFixture.Scripted("scripted");
                                    case 2 -> win(wins, cur, cur.complete("own").isOk());
                                    default -> cur.publish("delta", "guarded");
                                  }
                                });
                        win(wins, cur, e.isOk());
                      } else if (op < 72) {
                        win(wins, cur, f.rl.runtimeDied(cur.runId(), "lost").isOk());
                      } else if (op < 78) {
                        f.time.advance(Duration.ofMillis(rnd.nextInt(1500)));
                      } else if (op < 84) {
                        Approval a =
                            cur.requestApproval(
                                "tool",
                                rnd.nextBoolean() ? null : Duration.ofSeconds(1),
                                (ap, res, d, by) ->
                                    approvalCalls.computeIfAbsent(ap.approvalId(), k -> new AtomicInteger()).incrementAndGet());
                        if (a != null) {
                          raised.add(a);
                        }
                      } else if (op < 90) {
                        Approval a;
                        synchronized (raised) {
                          a = raised.isEmpty() ? null : raised.get(rnd.nextInt(raised.size()));
                        }
                        if (a != null && f.rl.resolveApproval(a.approvalId(), "owner", "yes") == null) {
                          answered.computeIfAbsent(a.approvalId(), k -> new AtomicInteger()).incrementAndGet();
                        }
                      } else if (op < 95) {
                        InMemoryConnection c = f.open(rnd.nextInt(3) == 0 ? "mallory" : "owner");
                        extras.add(c);
                        f.rl.subscribe(c.id(), SubscribeTarget.session(s, 0, null), AttachMode.ADDITIVE);
                      } else {
                        InMemoryConnection c;
                        synchronized (extras) {
                          c = extras.isEmpty() ? null : extras.get(rnd.nextInt(extras.size()));
                        }
                        if (c != null) {
                          c.clientClose(CloseReason.NORMAL);
                        }
                      }
                    }
                  } catch (Throwable e) {
                    problems.add(e);
                  } finally {
                    done.countDown();
                  }
                },
                "lifecycle-race-" + t);
        th.start();
      }
      assertTrue(done.await(120, TimeUnit.SECONDS), "seed=" + seed + ": workers did not finish");
      if (!problems.isEmpty()) {
        AssertionError e = new AssertionError("seed=" + seed + ": " + problems.size() + " worker failures", problems.get(0));
        throw e;
      }
      // end whatever still runs, through the normal path
      for (RunHandle h : handles.values()) {
        if (!h.isEnded()) {
          assertEquals(RunState.RUNNING, h.state(), "seed=" + seed + ": left in " + h.state());
          win(wins, h, h.complete("final").isOk());
        }
      }

      for (String s : sessions) {
        InMemoryConnection obs = observers.get(s);
        assertTrue(obs.isOpen(), "seed=" + seed + ": observer of " + s + " was closed: " + obs.closeRequests());
      }
      for (RunHandle h : handles.values()) {
        String id = h.runId();
        String ctx = "seed=" + seed + " run " + id + " (" + h.sessionId() + ")";
        List<RunOutcome> o = outcomes.getOrDefault(id, List.of());
        assertEquals(1, o.size(), ctx + ": listener calls " + o);
        RunOutcome out = o.get(0);
        assertEquals(h.state(), out.state(), ctx);
        int byTimer = out.failureReason() == FailureReason.TIMEOUT ? 1 : 0;
        int w = wins.containsKey(id) ? wins.get(id).get() : 0;
        assertEquals(1, w + byTimer, ctx + ": winning ends (API " + w + ", timer " + byTimer + ")");
        boolean cancelled = out.state() == RunState.ABORTED || byTimer == 1;
        assertEquals(cancelled ? 1 : 0, f.cancelCalls(h), ctx + ": cancel hook calls");
        assertEquals(h.headSeq(), out.terminalSeq(), ctx);

        InMemoryConnection obs = observers.get(h.sessionId());
        List<WireMessage> ev = LifecycleFixture.events(obs, id);
        assertEquals(
            out.terminalSeq(),
            ev.size(),
            ctx + ": observer got " + Sequence.seqs(ev) + " (open " + obs.isOpen() + ", close " + obs.closeRequests() + ")");
        int terminals = 0;
        for (int i = 0; i < ev.size(); i++) {
          WireMessage m = ev.get(i);
          assertEquals(i + 1, m.num("seq"), ctx + ": observer seqs " + Sequence.seqs(ev));
          if (LifecycleFixture.isTerminal(m)) {
            terminals++;
            assertEquals(ev.size() - 1, i, ctx + ": event after the terminal");
            assertEquals(out.state().name(), m.get("state"), ctx);
          } else if ("delta".equals(m.get("kind")) && published.containsKey(id + "#" + m.get("seq"))) {
            assertEquals(published.get(id + "#" + m.get("seq")), m.get("data"), ctx + ": event at seq " + m.get("seq"));
          }
        }
        assertEquals(1, terminals, ctx + ": terminal events on the observer");
      }
      for (Map.Entry<String, String> p : published.entrySet()) {
        String runId = p.getKey().substring(0, p.getKey().indexOf('#'));
        assertTrue(handles.containsKey(runId), "seed=" + seed + ": publish to unknown run");
      }
      for (String s : sessions) {
        InMemoryConnection obs = observers.get(s);
        assertTrue(obs.isOpen(), "seed=" + seed + ": observer of " + s + " was closed: " + obs.closeReason());
        for (WireMessage m : obs.messages()) {
          if (m.isEvent()) {
            assertEquals(s, m.get("session"), "seed=" + seed + ": observer of " + s + " got another session's event");
          }
        }
      }
      for (InMemoryConnection c : extras) {
        Map<String, Long> last = new HashMap<>();
        Set<String> ended = new java.util.HashSet<>();
        for (WireMessage m : c.messages()) {
          if (!m.isEvent()) {
            continue;
          }
          assertEquals("owner", c.principal(), "seed=" + seed + ": " + c + " received another user's events");
          String run = m.require("run");
          assertFalse(ended.contains(run), "seed=" + seed + ": " + c + " got an event of " + run + " after its terminal");
          long prev = last.getOrDefault(run, 0L);
          if (prev + 1 != m.num("seq")) {
            fail("seed=" + seed + ": " + c + " seqs of " + run + ": " + c.messages(x -> run.equals(x.get("run")) || x.type().equals("subscribed")));
          }
          last.put(run, m.num("seq"));
          if (LifecycleFixture.isTerminal(m)) {
            ended.add(run);
          }
        }
      }
      synchronized (raised) {
        for (Approval a : raised) {
          AtomicInteger calls = approvalCalls.get(a.approvalId());
          assertEquals(1, calls == null ? 0 : calls.get(), "seed=" + seed + ": approval callback calls");
          AtomicInteger n = answered.get(a.approvalId());
          assertTrue(n == null || n.get() == 1, "seed=" + seed + ": approval answered twice");
        }
      }
    }
  }

  static void win(Map<String, AtomicInteger> wins, RunHandle run, boolean won) {
    if (won) {
      wins.computeIfAbsent(run.runId(), k -> new AtomicInteger()).incrementAndGet();
    }
  }

  /**
   * At most one run of the session is not ended. Runs are read newest first (run ids carry a
   * per-instance counter in start order): a newer run starts only after the older one ended, and
   * ends are permanent, so this order cannot report a false positive.
   */
  static void assertAtMostOneRunning(Map<String, RunHandle> handles, String session, long seed) {
    List<RunHandle> mine = new ArrayList<>();
    for (RunHandle h : handles.values()) {
      if (h.sessionId().equals(session)) {
        mine.add(h);
      }
    }
    try {
      mine.sort(Comparator.comparingLong((RunHandle h) -> counter(h.runId())).reversed());
    } catch (NumberFormatException e) {
      return; // the run id format changed: this check relies on it, the final checks do not
    }
    int live = 0;
    List<String> states = new ArrayList<>();
    for (RunHandle h : mine) {
      RunState st = h.state();
      states.add(h.runId() + "=" + st);
      if (!st.isTerminal()) {
        live++;
      }
    }
    if (live > 1) {
      fail("seed=" + seed + ": " + live + " runs in progress in " + session + ": " + states);
    }
  }

  static long counter(String runId) {
    return Long.parseLong(runId.substring(runId.lastIndexOf('_') + 1), 36);
  }
}
