package dev.runlane.spec;

import dev.runlane.RunOutcome;
import dev.runlane.Result;
import dev.runlane.Action;
import dev.runlane.AttachMode;
import dev.runlane.Authorizer;
import dev.runlane.ErrorCode;
import dev.runlane.ResumeStatus;
import dev.runlane.RunHandle;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.SubscribeTarget;
import dev.runlane.testkit.WireMessage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * A trivially correct model of what Runlane promises about routing, numbering and resume: a few
 * maps (run → recipients, session → owner, current run and followers, connection → what it should
 * receive next) and plain arithmetic for the replay window. It knows nothing of locks, outboxes or
 * rings.
 *
 * <p>Every operation takes what the real Runlane answered, checks it against the model's answer
 * (throwing {@link AssertionError}) and applies the model's effects, including the observations
 * each connection must receive. {@link ModelHarness} compares those with the frames the in-memory
 * connections actually received.
 *
 * <p>The authorizer is the same pure function the real Runlane is built with. Decisions the model
 * encodes (from the code and docs of core): a session's owner is the principal of its first run
 * and is forgotten only when the session is retired (no held run, no follower); followers of an
 * ownerless session are re-authorized against the owner when a start claims the session.
 */
final class RunlaneModel {

  /** What a connection observes, in order; other frame types (welcome, heartbeat…) are ignored. */
  sealed interface Obs permits Ev, Ack, Note, Err {}

  /** A sequenced run event. */
  record Ev(String run, String epoch, long seq, String kind) implements Obs {
    boolean terminal() {
      return kind.equals("run.completed") || kind.equals("run.failed") || kind.equals("run.aborted");
    }
  }

  /** A subscribe acknowledgement. */
  record Ack(
      @Nullable String run,
      @Nullable String epoch,
      ResumeStatus status,
      boolean processing,
      long head,
      long oldest,
      long from,
      long to,
      boolean truncated,
      boolean following)
      implements Obs {}

  /** A notice (session null: system-wide). */
  record Note(@Nullable String session, String kind) implements Obs {}

  /** A protocol error. */
  record Err(ErrorCode code, @Nullable String session) implements Obs {}

  /** Parses a frame written by the testkit's TextCodec into an observation, or null if ignored. */
  static @Nullable Obs fromWire(WireMessage m) {
    switch (m.type()) {
      case "event":
        return new Ev(m.require("run"), m.require("epoch"), m.num("seq"), m.require("kind"));
      case "subscribed":
        return new Ack(
            m.get("run"),
            m.get("epoch"),
            ResumeStatus.valueOf(m.require("status")),
            Boolean.parseBoolean(m.require("processing")),
            m.num("head"),
            m.num("oldest"),
            m.num("from"),
            m.num("to"),
            Boolean.parseBoolean(m.require("truncated")),
            Boolean.parseBoolean(m.require("following")));
      case "notice":
        return new Note(m.get("session"), m.require("kind"));
      case "error":
        return new Err(ErrorCode.valueOf(m.require("code")), m.get("session"));
      default:
        return null;
    }
  }

  static Ack toObs(SubscribeAck a) {
    return new Ack(
        a.runId(), a.epoch(), a.status(), a.processing(), a.headSeq(), a.oldestSeq(), a.replayFrom(),
        a.replayTo(), a.truncated(), a.following());
  }

  final class Conn {
    final String id;
    final String principal;
    boolean open = true;
    final Set<String> follows = new LinkedHashSet<>();
    final List<Obs> pending = new ArrayList<>();

    Conn(String id, String principal) {
      this.id = id;
      this.principal = principal;
    }
  }

  final class MRun {
    final String id;
    final String session;
    final String owner;
    final String sessionOwner;
    final String epoch;
    final @Nullable String startedBy;
    final Set<String> recipients = new LinkedHashSet<>();
    /** Per open connection that stopped being a recipient: the last seq it was handed. */
    final Map<String, Long> handed = new HashMap<>();
    /** Per connection attached without a replay: the first seq it was handed. */
    final Map<String, Long> covered = new HashMap<>();
    long head;
    boolean ended;
    long endedAt;
    long endOrder;

    MRun(String id, String session, String owner, String sessionOwner, String epoch, @Nullable String startedBy) {
      this.id = id;
      this.session = session;
      this.owner = owner;
      this.sessionOwner = sessionOwner;
      this.epoch = epoch;
      this.startedBy = startedBy;
    }

    long oldest() {
      return Math.max(1, head - capacity + 1);
    }
  }

  final class Sess {
    final String id;
    @Nullable String owner;
    @Nullable MRun current;
    final Set<String> followers = new LinkedHashSet<>();

    Sess(String id) {
      this.id = id;
    }
  }

  final Authorizer auth;
  final int capacity;
  final boolean replayFinished;
  final long retentionNanos;
  long now;
  private long endCounter;

  final Map<String, Conn> conns = new LinkedHashMap<>();
  /** Runs held by Runlane (running, or ended and not yet evicted). */
  final Map<String, MRun> runs = new LinkedHashMap<>();
  /** Every run ever started, also evicted ones. */
  final Map<String, MRun> allRuns = new HashMap<>();
  final Map<String, Sess> sessions = new HashMap<>();

  RunlaneModel(Authorizer auth, int capacity, boolean replayFinished, long retentionNanos) {
    this.auth = auth;
    this.capacity = capacity;
    this.replayFinished = replayFinished;
    this.retentionNanos = retentionNanos;
  }

  // ------------------------------------------------------------------ helpers

  Authorizer.Decision decide(String principal, Action action, String session, @Nullable String owner) {
    Authorizer.Decision d = auth.authorize(principal, action, session, owner);
    return d == null ? Authorizer.Decision.DENY : d;
  }

  private static ErrorCode refusalOf(Authorizer.Decision d) {
    return d == Authorizer.Decision.DENY ? ErrorCode.FORBIDDEN : ErrorCode.SESSION_NOT_FOUND;
  }

  static void check(boolean ok, Supplier<String> what) {
    if (!ok) {
      throw new AssertionError(what.get());
    }
  }

  static void same(@Nullable Object want, @Nullable Object got, Supplier<String> what) {
    if (!Objects.equals(want, got)) {
      throw new AssertionError(what.get() + ": expected " + want + " but was " + got);
    }
  }

  @Nullable Conn openConn(@Nullable String id) {
    Conn c = id == null ? null : conns.get(id);
    return c != null && c.open ? c : null;
  }

  int openCount() {
    int n = 0;
    for (Conn c : conns.values()) {
      if (c.open) {
        n++;
      }
    }
    return n;
  }

  private void deliver(MRun r, String kind) {
    recordKind(r.id, r.head, kind);
    Ev e = new Ev(r.id, r.epoch, r.head, kind);
    for (String id : r.recipients) {
      conns.get(id).pending.add(e);
    }
  }

  private void follow(Sess s, Conn c) {
    s.followers.add(c.id);
    c.follows.add(s.id);
  }

  private void unfollow(Sess s, Conn c) {
    s.followers.remove(c.id);
    c.follows.remove(s.id);
    retireIfIdle(s);
  }

  private void retireIfIdle(Sess s) {
    if (s.current == null && s.followers.isEmpty()) {
      sessions.remove(s.id, s);
    }
  }

  private void attachTo(MRun r, Conn c, AttachMode mode) {
    if (mode == AttachMode.TAKEOVER) {
      for (String id : new ArrayList<>(r.recipients)) {
        if (!id.equals(c.id) && conns.get(id).principal.equals(c.principal)) {
          leave(r, id);
        }
      }
    }
    r.recipients.add(c.id);
  }

  /** A connection stops being a recipient while staying open: it keeps what it was handed. */
  private void leave(MRun r, String connId) {
    if (r.recipients.remove(connId) && r.head > 0) {
      r.handed.put(connId, r.head);
    }
  }

  // ------------------------------------------------------------------ operations

  void open(String id, String principal) {
    check(!conns.containsKey(id), () -> "connection id reused: " + id);
    conns.put(id, new Conn(id, principal));
  }

  /** Checks and applies a start; returns the new run's id, or null if it was (rightly) refused. */
  @Nullable String start(String session, String principal, @Nullable String connId, boolean follow, Result<RunHandle> actual) {
    Sess existing = sessions.get(session);
    Authorizer.Decision d = decide(principal, Action.START, session, existing == null ? null : existing.owner);
    if (d != Authorizer.Decision.ALLOW) {
      expectRefused(actual, refusalOf(d));
      return null;
    }
    Sess s = sessions.computeIfAbsent(session, Sess::new);
    if (s.current != null && !s.current.ended) {
      expectRefused(actual, ErrorCode.RUN_IN_PROGRESS);
      return null;
    }
    check(actual.isOk(), () -> "start in " + session + " by " + principal + " must be started, was " + actual);
    RunHandle h = actual.orElseThrow();
    same(session, h.sessionId(), () -> "run's session");
    same(principal, h.owner(), () -> "run's owner");
    check(!allRuns.containsKey(h.runId()), () -> "run id reused: " + h.runId());
    Conn starter = openConn(connId);
    if (starter != null && follow) {
      follow(s, starter);
    }
    boolean claim = s.owner == null;
    if (claim) {
      s.owner = principal;
    }
    MRun r = new MRun(h.runId(), session, principal, Objects.requireNonNull(s.owner), h.epoch(), starter == null ? null : starter.id);
    runs.put(r.id, r);
    allRuns.put(r.id, r);
    s.current = r;
    if (starter != null) {
      r.recipients.add(starter.id);
    }
    for (String f : new ArrayList<>(s.followers)) {
      if (starter != null && f.equals(starter.id)) {
        continue;
      }
      Conn fc = conns.get(f);
      if (claim && !fc.principal.equals(principal)) {
        // followed while the session had no owner: asked again now that it has one
        Authorizer.Decision fd = decide(fc.principal, Action.SUBSCRIBE, session, principal);
        if (fd != Authorizer.Decision.ALLOW) {
          unfollow(s, fc);
          fc.pending.add(new Err(refusalOf(fd), session));
          continue;
        }
      }
      r.recipients.add(f);
    }
    r.head = 1;
    deliver(r, "run.started");
    return r.id;
  }

  private static void expectRefused(Result<RunHandle> actual, ErrorCode code) {
    check(actual instanceof Result.Refused, () -> "start must be refused with " + code + ", was " + actual);
    same(code, actual.refusalCode().orElseThrow(), () -> "start refusal");
  }

  void publish(String runId, String kind, Result<Long> actual) {
    MRun r = runs.get(runId);
    if (r == null || r.ended) {
      same(ErrorCode.RUN_ENDED, actual.refusalCode().orElseThrow(), () -> "publish to ended run " + runId);
      return;
    }
    r.head++;
    same(true, actual.isOk(), () -> "publish to " + runId);
    same(r.head, actual.orElseThrow(), () -> "seq of publish to " + runId + " (seqs are contiguous)");
    deliver(r, kind);
  }

  /** A complete/fail from the run's runtime or host. */
  void end(String runId, String terminalKind, Result<RunOutcome> actual) {
    MRun r = runs.get(runId);
    if (r == null || r.ended) {
      same(false, actual.isOk(), () -> "a second end of " + runId + " must lose");
      return;
    }
    same(true, actual.isOk(), () -> "the first end of " + runId + " must win");
    endNow(r, terminalKind);
  }

  private void endNow(MRun r, String terminalKind) {
    r.head++;
    deliver(r, terminalKind);
    for (String id : new ArrayList<>(r.recipients)) {
      leave(r, id);
    }
    r.ended = true;
    r.endedAt = now;
    r.endOrder = ++endCounter;
  }

  void abort(String runId, String principal, Result<RunOutcome> actual) {
    MRun r = runs.get(runId);
    if (r == null) {
      same(ErrorCode.NO_ACTIVE_RUN, actual.refusalCode().orElse(null), () -> "abort of a run that is not held");
      return;
    }
    // the authorizer is asked before the run's state is looked at: a refused principal learns nothing
    if (!r.owner.equals(principal)) {
      Sess s = sessions.get(r.session);
      Authorizer.Decision d = decide(principal, Action.ABORT, r.session, s == null ? r.owner : s.owner);
      if (d != Authorizer.Decision.ALLOW) {
        same(
            d == Authorizer.Decision.DENY ? ErrorCode.FORBIDDEN : ErrorCode.SESSION_NOT_FOUND,
            actual.refusalCode().orElse(null),
            () -> "abort of " + runId + " by " + principal);
        return;
      }
    }
    if (r.ended) {
      same(ErrorCode.NO_ACTIVE_RUN, actual.refusalCode().orElse(null), () -> "abort of a run that is not running");
      return;
    }
    same(true, actual.isOk(), () -> "abort of " + runId + " by " + principal);
    endNow(r, "run.aborted");
  }

  void attach(String runId, String connId, AttachMode mode, Result<RunHandle> actual) {
    Conn c = openConn(connId);
    if (c == null) {
      same(ErrorCode.UNKNOWN_CONNECTION, actual.refusalCode().orElse(null), () -> "attach of a closed connection");
      return;
    }
    MRun r = runs.get(runId);
    if (r == null) {
      same(ErrorCode.UNKNOWN_RUN, actual.refusalCode().orElse(null), () -> "attach to an evicted run");
      return;
    }
    if (!c.id.equals(r.startedBy)) {
      Sess s = sessions.get(r.session);
      Authorizer.Decision d = decide(c.principal, Action.SUBSCRIBE, r.session, s == null ? r.owner : s.owner);
      if (d != Authorizer.Decision.ALLOW) {
        same(d == Authorizer.Decision.DENY ? ErrorCode.FORBIDDEN : ErrorCode.UNKNOWN_RUN, actual.refusalCode().orElse(null), () -> "unauthorized attach");
        return;
      }
    }
    if (r.ended) {
      same(ErrorCode.RUN_ENDED, actual.refusalCode().orElse(null), () -> "attach to an ended run");
      return;
    }
    same(true, actual.isOk(), () -> "attach");
    boolean was = r.recipients.contains(c.id);
    attachTo(r, c, mode);
    if (!was && r.head > 0) {
      // no replay: unless it had everything, what lies below head + 1 is a gap to announce later
      Long handed = r.handed.remove(c.id);
      Long covered = r.covered.remove(c.id);
      if (handed == null || handed < r.head) {
        r.covered.put(c.id, r.head + 1);
      } else if (covered != null) {
        r.covered.put(c.id, covered);
      }
    }
  }

  void detach(String runId, String connId, boolean actual) {
    Conn c = openConn(connId);
    MRun r = runs.get(runId);
    boolean was = c != null && r != null && r.recipients.contains(c.id);
    if (was) {
      leave(r, c.id);
    }
    same(was, actual, () -> "detach result");
  }

  /** Whether a connection is a recipient of a run right now. */
  boolean isRecipient(String runId, String connId) {
    MRun r = runs.get(runId);
    return r != null && r.recipients.contains(connId);
  }

  void subscribe(String connId, SubscribeTarget t, AttachMode mode, Result<SubscribeAck> actual) {
    Conn c = openConn(connId);
    if (c == null) {
      expectSubRefused(actual, ErrorCode.UNKNOWN_CONNECTION);
      return;
    }
    MRun target = t.runId() == null ? null : runs.get(t.runId());
    boolean starter = target != null && c.id.equals(target.startedBy);
    if (!starter) {
      Sess s = sessions.get(t.sessionId());
      Authorizer.Decision d = decide(c.principal, Action.SUBSCRIBE, t.sessionId(), s == null ? null : s.owner);
      if (d != Authorizer.Decision.ALLOW) {
        expectSubRefused(actual, refusalOf(d));
        c.pending.add(new Err(refusalOf(d), t.sessionId()));
        return;
      }
    }
    Ack want;
    if (t.runId() != null) {
      if (target == null || !target.session.equals(t.sessionId())) {
        want = unknownRunAck(t, false);
        c.pending.add(want);
      } else {
        want = resume(target, c, t, mode, false);
      }
    } else {
      Sess s = sessions.computeIfAbsent(t.sessionId(), Sess::new);
      follow(s, c);
      MRun cur = s.current;
      if (cur == null) {
        want = unknownRunAck(t, true);
        c.pending.add(want);
      } else {
        want = resume(cur, c, t, mode, true);
      }
    }
    check(actual.isOk(), () -> "subscribe " + t + " must be acked, was " + actual);
    same(want, toObs(actual.orElseThrow()), () -> "ack of " + t);
  }

  private static void expectSubRefused(Result<SubscribeAck> actual, ErrorCode code) {
    check(actual instanceof Result.Refused, () -> "subscribe must be refused with " + code + ", was " + actual);
    same(code, actual.refusalCode().orElseThrow(), () -> "subscribe refusal");
  }

  private static Ack unknownRunAck(SubscribeTarget t, boolean following) {
    // following a session that holds no run, with no position: "nothing yet", not "position gone"
    boolean hadPosition = t.lastSeq() > 0 || t.epoch() != null || t.runId() != null;
    ResumeStatus status = following && !hadPosition ? ResumeStatus.NO_RUN_YET : ResumeStatus.UNKNOWN_RUN;
    return new Ack(t.runId(), null, status, false, 0, 1, 1, 0, t.lastSeq() > 0, following);
  }

  /** The resume rule, in the plainest terms. */
  private Ack resume(MRun r, Conn c, SubscribeTarget t, AttachMode mode, boolean following) {
    long n = t.lastSeq();
    ResumeStatus status = null;
    if (t.epoch() != null && !t.epoch().equals(r.epoch)) {
      status = ResumeStatus.EPOCH_CHANGED;
      n = 0;
    } else if (n > r.head) {
      status = ResumeStatus.AHEAD_OF_HEAD;
      n = 0;
    }
    // A connection's cursor never moves back: a recipient has everything up to head; a former
    // recipient, up to what it was handed. A gap below a replay-less attach is announced.
    boolean attached = r.recipients.contains(c.id);
    Long covered = r.covered.remove(c.id);
    Long handed = r.handed.remove(c.id);
    long from = attached ? r.head + 1 : Math.max(n, handed == null ? 0 : handed) + 1;
    boolean truncated = !attached && from < r.oldest() && from <= r.head;
    if (covered != null && n + 1 < covered) {
      truncated = true;
    }
    long replayFrom = Math.max(from, r.oldest());
    if (r.ended) {
      status = ResumeStatus.FINISHED;
      if (!replayFinished) {
        replayFrom = r.head + 1;
      }
    } else if (status == null) {
      status = truncated ? ResumeStatus.TRUNCATED : ResumeStatus.EXACT;
    }
    Ack ack = new Ack(r.id, r.epoch, status, !r.ended, r.head, r.oldest(), replayFrom, r.head, truncated, following);
    c.pending.add(ack);
    for (long s = replayFrom; s <= r.head; s++) {
      c.pending.add(new Ev(r.id, r.epoch, s, kindOf(r, s)));
    }
    if (!r.ended) {
      attachTo(r, c, mode);
    } else if (r.head > 0) {
      r.handed.put(c.id, r.head); // a finished run is not attached: its cursor stays at the end
    }
    return ack;
  }

  /** Kinds are remembered per seq so a replay can be predicted exactly. */
  private final Map<String, Map<Long, String>> kinds = new HashMap<>();

  private String kindOf(MRun r, long seq) {
    String k = kinds.getOrDefault(r.id, Map.of()).get(seq);
    if (k == null) {
      throw new AssertionError("model lost the kind of " + r.id + "#" + seq);
    }
    return k;
  }

  void recordKind(String runId, long seq, String kind) {
    kinds.computeIfAbsent(runId, k -> new HashMap<>()).put(seq, kind);
  }

  void unsubscribe(String connId, String session) {
    Conn c = openConn(connId);
    if (c == null) {
      return;
    }
    Sess s = sessions.get(session);
    if (s != null) {
      unfollow(s, c);
    }
    for (MRun r : runs.values()) {
      if (r.session.equals(session)) {
        leave(r, c.id);
      }
    }
  }

  void close(String connId) {
    Conn c = conns.get(connId);
    if (c == null || !c.open) {
      return;
    }
    c.open = false;
    for (MRun r : runs.values()) {
      r.recipients.remove(c.id);
      r.handed.remove(c.id);
      r.covered.remove(c.id);
    }
    for (String sid : new ArrayList<>(c.follows)) {
      Sess s = sessions.get(sid);
      if (s != null) {
        unfollow(s, c);
      }
    }
    c.follows.clear();
  }

  void noticeSession(String session, String kind, int actual) {
    Sess s = sessions.get(session);
    Set<String> targets = new LinkedHashSet<>();
    if (s != null) {
      targets.addAll(s.followers);
      if (s.current != null) {
        targets.addAll(s.current.recipients);
      }
    }
    same(targets.size(), actual, () -> "connections notified for session " + session);
    for (String id : targets) {
      conns.get(id).pending.add(new Note(session, kind));
    }
  }

  void noticeAll(String kind) {
    for (Conn c : conns.values()) {
      if (c.open) {
        c.pending.add(new Note(null, kind));
      }
    }
  }

  /** Time passes: ended runs whose retention is over are evicted, oldest end first. */
  void advance(long nanos) {
    now += nanos;
    List<MRun> due = new ArrayList<>();
    for (MRun r : runs.values()) {
      if (r.ended && r.endedAt + retentionNanos <= now) {
        due.add(r);
      }
    }
    due.sort((a, b) -> a.endedAt != b.endedAt ? Long.compare(a.endedAt, b.endedAt) : Long.compare(a.endOrder, b.endOrder));
    for (MRun r : due) {
      runs.remove(r.id);
      Sess s = sessions.get(r.session);
      if (s != null && s.current == r) {
        s.current = null;
        retireIfIdle(s);
      }
    }
  }
}
