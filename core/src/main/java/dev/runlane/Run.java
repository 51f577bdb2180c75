package dev.runlane;

import dev.runlane.transport.Lane;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run instance: its state machine, its log (replay ring) and its recipients.
 *
 * <p>The run's monitor is its single writer lock. Everything that changes what a recipient will
 * see happens under it, in one critical section: assigning a seq, appending to the log, handing
 * the frame to each recipient's outbox, a subscriber's acknowledgement + replay + attach, and the
 * terminal transition. That critical section is the <em>linearization point</em>: an event is
 * either in a subscriber's replay or in its live stream, never both and never neither. The
 * transport is called only after the lock is released ({@link Outbox#flush()}).
 *
 * <p>Lock order: session → run → outbox. Host code (runtime cancel, callbacks, listeners,
 * authorizer) is never called under the lock; the codec is (see {@link WireCodec}).
 */
final class Run implements RunHandle {
  private static final Logger LOG = LoggerFactory.getLogger(Run.class);
  private static final ConnectionState[] NONE = new ConnectionState[0];

  private final Runlane rl;
  private final String runId;
  private final String sessionId;
  private final String epoch;
  private final String owner;
  /**
   * The owner of the session this run was started in (fixed for that session's life). A subscribe
   * naming this run is authorized against it: by then the session id may name a retired and
   * re-created session with another owner, or none.
   */
  final String sessionOwner;
  /**
   * The {@link ConnectionState#generation} of the starting connection, 0 if none. Identity is the
   * generation, not the connection id: ids are unique only among live connections (rule T1.1), so
   * a later connection of another principal may carry the starter's id.
   */
  private final long starterGeneration;
  private final RunLog log;
  private final @Nullable RunRuntime runtime;
  private final AtomicBoolean cancelCalled = new AtomicBoolean();

  private volatile RunState state = RunState.RUNNING; // written under this
  private ConnectionState[] recipients = NONE; // guarded by this; copy-on-write
  /**
   * Per-connection cursors, guarded by this. {@code coveredFrom}: for a recipient attached without a
   * replay after events existed ({@link #attach}), the first seq it was handed; absent means 1.
   * {@code handedUpTo}: for a connection that stopped being a recipient while staying open (detach,
   * unsubscribe, takeover, the run's end), the last seq it was handed. Together they keep a
   * connection's cursor from moving backwards (no duplicate) and make every gap announced.
   */
  private @Nullable Map<ConnectionState, Long> coveredFrom;
  private @Nullable Map<ConnectionState, Long> handedUpTo;
  private @Nullable RunOutcome outcome; // guarded by this
  private final Map<String, PendingApproval> approvals = new LinkedHashMap<>(); // guarded by this
  private TimeSource.@Nullable Cancellable expiry; // guarded by this

  private static final class PendingApproval {
    final Approval approval;
    final Approval.Callback callback;
    TimeSource.@Nullable Cancellable expiry;

    PendingApproval(Approval approval, Approval.Callback callback) {
      this.approval = approval;
      this.callback = callback;
    }
  }

  Run(
      Runlane rl,
      String runId,
      String sessionId,
      String epoch,
      String owner,
      String sessionOwner,
      long starterGeneration,
      RunLog log,
      @Nullable RunRuntime runtime) {
    this.rl = rl;
    this.runId = runId;
    this.sessionId = sessionId;
    this.epoch = epoch;
    this.owner = owner;
    this.sessionOwner = sessionOwner;
    this.starterGeneration = starterGeneration;
    this.log = log;
    this.runtime = runtime;
  }

  /** Whether {@code c} is the connection that started this run (it needs no authorization). */
  boolean startedBy(ConnectionState c) {
    return starterGeneration != 0 && c.generation == starterGeneration;
  }

  @Override
  public String runId() {
    return runId;
  }

  @Override
  public String sessionId() {
    return sessionId;
  }

  @Override
  public String epoch() {
    return epoch;
  }

  @Override
  public String owner() {
    return owner;
  }

  @Override
  public RunState state() {
    return state;
  }

  @Override
  public synchronized long headSeq() {
    return log.head();
  }

  synchronized List<ConnectionState> recipients() {
    return List.of(recipients);
  }

  // ---------------------------------------------------------------- events

  /**
   * Records the "run.started" event (seq 1). Called once, under the session lock, at start. It
   * only queues: the caller flushes the recipients after releasing the session lock (no transport
   * call under a lock; a send failing synchronously would close its connection, and unfollow and
   * retire the session, in the middle of the start).
   */
  void recordStarted(@Nullable Object input) {
    record(Outbound.KIND_STARTED, input, false);
  }

  @Override
  public PublishResult publish(String kind, @Nullable Object data) {
    Objects.requireNonNull(kind, "kind");
    if (kind.startsWith("run.")) {
      throw new IllegalArgumentException("event kinds starting with \"run.\" are reserved: " + kind);
    }
    return record(kind, data, true);
  }

  private PublishResult record(String kind, @Nullable Object data, boolean flush) {
    ConnectionState[] targets;
    long seq;
    synchronized (this) {
      if (state != RunState.RUNNING) {
        return PublishResult.ENDED;
      }
      seq = log.head() + 1;
      OutFrame f =
          rl.encode(new Outbound.RunEvent(runId, sessionId, epoch, seq, kind, data), Lane.STREAM, null);
      if (f == null) {
        LOG.warn("dropped a {} event of run {} (session {}): the codec could not encode it", kind, runId, sessionId);
        return PublishResult.ENCODE_FAILED;
      }
      log.append(seq, f);
      targets = recipients;
      for (ConnectionState t : targets) {
        t.enqueue(f);
      }
    }
    if (flush) {
      for (ConnectionState t : targets) {
        t.flush();
      }
    }
    return new PublishResult(seq, PublishResult.Status.RECORDED);
  }

  @Override
  public boolean publishStatus(String key, @Nullable Object data) {
    Objects.requireNonNull(key, "key");
    ConnectionState[] targets;
    synchronized (this) {
      if (state != RunState.RUNNING) {
        return false;
      }
      OutFrame f =
          rl.encode(
              new Outbound.RunStatus(runId, sessionId, key, data), Lane.STREAM, runId + '\u0000' + key);
      if (f == null) {
        return false;
      }
      targets = recipients;
      for (ConnectionState t : targets) {
        t.enqueue(f);
      }
    }
    for (ConnectionState t : targets) {
      t.flush();
    }
    return true;
  }

  /** Sends an unsequenced control message to the current recipients. */
  void sendControl(Outbound message) {
    ConnectionState[] targets;
    synchronized (this) {
      OutFrame f = rl.encode(message, Lane.CONTROL, null);
      if (f == null) {
        return;
      }
      targets = recipients;
      for (ConnectionState t : targets) {
        t.enqueue(f);
      }
    }
    for (ConnectionState t : targets) {
      t.flush();
    }
  }

  // ---------------------------------------------------------------- recipients

  /**
   * Adds {@code c} as a recipient (no replay). Under the session lock when called at start.
   *
   * @return whether it is a recipient now (false if the run ended or the connection closed)
   */
  boolean attach(ConnectionState c, AttachMode mode) {
    synchronized (this) {
      if (state.isTerminal()) {
        return false;
      }
      boolean wasRecipient = contains(c);
      attachLocked(c, mode);
      if (!wasRecipient && contains(c) && log.head() > 0) {
        // No replay: unless it was handed everything before, a later subscribe below this point
        // must be told of the gap (it cannot be replayed ahead of the live frames already queued).
        Long handed = takeCursor(false, c);
        Long covered = takeCursor(true, c);
        if (handed == null || handed < log.head()) {
          putCursor(true, c, log.head() + 1);
        } else if (covered != null) {
          putCursor(true, c, covered);
        }
      }
    }
    return c.runs.contains(this);
  }

  private Map<ConnectionState, Long> cursors(boolean covered) {
    if (covered) {
      Map<ConnectionState, Long> m = coveredFrom;
      if (m == null) {
        m = coveredFrom = new IdentityHashMap<>();
      }
      return m;
    }
    Map<ConnectionState, Long> m = handedUpTo;
    if (m == null) {
      m = handedUpTo = new IdentityHashMap<>();
    }
    return m;
  }

  private void putCursor(boolean covered, ConnectionState c, long seq) {
    cursors(covered).put(c, seq);
    c.cursorRuns.add(this);
  }

  private @Nullable Long takeCursor(boolean covered, ConnectionState c) {
    Map<ConnectionState, Long> m = covered ? coveredFrom : handedUpTo;
    Long v = m == null ? null : m.remove(c);
    if (v != null) {
      Map<ConnectionState, Long> other = covered ? handedUpTo : coveredFrom;
      if (other == null || !other.containsKey(c)) {
        c.cursorRuns.remove(this); // no cursor of c left here: no reference kept
      }
    }
    return v;
  }

  /** Records that {@code c}, leaving the recipients but staying open, was handed up to head. */
  private void rememberHanded(ConnectionState c) {
    if (!c.isClosed() && log.head() > 0) {
      putCursor(false, c, log.head());
    }
  }

  /** The connection closed: drop its cursors. */
  synchronized void forget(ConnectionState c) {
    takeCursor(false, c);
    takeCursor(true, c);
  }

  /**
   * Adds {@code c}, displacing its principal's other connections on a takeover. Each connection's
   * {@link ConnectionState#runs} is updated here, under the lock, with the recipients: updated after
   * the lock, a re-attach landing in between would be undone in the set only, leaving a recipient
   * that its own close or unsubscribe no longer detaches.
   */
  private void attachLocked(ConnectionState c, AttachMode mode) {
    if (mode == AttachMode.TAKEOVER) {
      List<ConnectionState> keep = new ArrayList<>(recipients.length);
      List<ConnectionState> out = new ArrayList<>();
      for (ConnectionState r : recipients) {
        if (r != c && r.principal.equals(c.principal)) {
          out.add(r);
        } else {
          keep.add(r);
        }
      }
      if (!out.isEmpty()) {
        recipients = keep.toArray(NONE);
        for (ConnectionState d : out) {
          d.runs.remove(this);
          rememberHanded(d);
        }
      }
    }
    if (contains(c)) {
      return;
    }
    c.runs.add(this); // before the closed check: see ConnectionState#closeLocally
    if (c.isClosed()) {
      c.runs.remove(this);
      return;
    }
    ConnectionState[] next = Arrays.copyOf(recipients, recipients.length + 1);
    next[recipients.length] = c;
    recipients = next;
  }

  private boolean contains(ConnectionState c) {
    for (ConnectionState r : recipients) {
      if (r == c) {
        return true;
      }
    }
    return false;
  }

  /** Removes {@code c} as a recipient; returns whether it was one. */
  boolean detach(ConnectionState c) {
    synchronized (this) {
      boolean removed = removeLocked(c);
      c.runs.remove(this); // under the lock: see attachLocked
      if (removed) {
        rememberHanded(c);
      }
      return removed;
    }
  }

  private boolean removeLocked(ConnectionState c) {
    for (int i = 0; i < recipients.length; i++) {
      if (recipients[i] == c) {
        ConnectionState[] next = new ConnectionState[recipients.length - 1];
        System.arraycopy(recipients, 0, next, 0, i);
        System.arraycopy(recipients, i + 1, next, i, recipients.length - i - 1);
        recipients = next;
        return true;
      }
    }
    return false;
  }

  /**
   * The resume algorithm: under the run lock, acknowledge, replay exactly what {@code target} asks
   * for (never behind what this connection was already handed), then attach for the live stream.
   * The caller flushes {@code c} afterwards.
   */
  SubscribeAck subscribe(
      ConnectionState c, SubscribeTarget target, AttachMode mode, boolean following, @Nullable String ref) {
    SubscribeAck ack;
    synchronized (this) {
      long head = log.head();
      long oldest = log.oldest();
      long n = target.lastSeq();
      ResumeStatus status = null;
      if (target.epoch() != null && !epoch.equals(target.epoch())) {
        status = ResumeStatus.EPOCH_CHANGED;
        n = 0;
      } else if (n > head) {
        status = ResumeStatus.AHEAD_OF_HEAD;
        n = 0;
      }
      boolean attached = contains(c);
      // The connection's cursor never moves backwards, so nothing is replayed twice: a recipient has
      // been handed everything up to head; a connection that was one before, up to what it was
      // handed then (those frames are queued or delivered, in order, ahead of this replay).
      long from;
      boolean truncated;
      Long covered = takeCursor(true, c);
      if (attached) {
        from = head + 1;
        truncated = false;
      } else {
        Long handed = takeCursor(false, c);
        from = Math.max(n, handed == null ? 0 : handed) + 1;
        truncated = from < oldest && from <= head;
      }
      // It was attached without a replay: what lies below its first handed seq is a gap. It cannot
      // be replayed ahead of the later frames already handed, so it is announced.
      if (covered != null && n + 1 < covered) {
        truncated = true;
      }
      long replayFrom = Math.max(from, oldest);
      long replayTo = head;
      boolean finished = state.isTerminal();
      if (finished) {
        status = ResumeStatus.FINISHED;
        if (!rl.config.replayFinishedRuns) {
          replayFrom = head + 1;
        }
      } else if (status == null) {
        status = truncated ? ResumeStatus.TRUNCATED : ResumeStatus.EXACT;
      }
      List<Approval> pending = pendingApprovals();
      ack =
          new SubscribeAck(
              sessionId,
              runId,
              epoch,
              status,
              !finished,
              head,
              oldest,
              replayFrom,
              replayTo,
              truncated,
              following,
              pending,
              outcome,
              target.lastSeq());
      OutFrame ackFrame = rl.encode(new Outbound.Subscribed(ack, ref), Lane.CONTROL, null);
      if (ackFrame != null) {
        c.enqueue(ackFrame);
      }
      log.forEach(replayFrom, replayTo, c::enqueueReplay); // one range read: the cluster seam's shape
      if (!finished) {
        attachLocked(c, mode);
      } else {
        rememberHanded(c); // it now has, or was told how to get, everything up to the end
      }
    }
    return ack;
  }

  // ---------------------------------------------------------------- lifecycle

  @Override
  public EndResult complete(@Nullable Object result) {
    return end(RunState.COMPLETED, null, 0, null, result, false, null);
  }

  @Override
  public EndResult fail(FailureReason reason, int exitCode, @Nullable String message) {
    Objects.requireNonNull(reason, "reason");
    return end(RunState.FAILED, reason, exitCode, message, null, false, null);
  }

  /**
   * Cancels the run (abort or expiry): marks it cancelling so the runtime's events and end calls
   * are dropped, calls the runtime's cancel hook once (no lock held), then ends the run.
   *
   * @return the end, or null if the run was not running (someone else ended or is cancelling it)
   */
  @Nullable EndResult cancel(RunState endAs, @Nullable FailureReason reason, int exitCode, String message, @Nullable String by) {
    synchronized (this) {
      if (state != RunState.RUNNING) {
        return null;
      }
      state = RunState.CANCELLING;
    }
    callCancelHook();
    return end(endAs, reason, exitCode, message, null, true, by);
  }

  private void callCancelHook() {
    RunRuntime rt = runtime;
    if (rt != null && cancelCalled.compareAndSet(false, true)) {
      try {
        rt.cancel(this);
      } catch (RuntimeException e) {
        LOG.warn("runtime cancel hook threw for run {} (session {})", runId, sessionId, e);
      }
    }
  }

  EndResult end(
      RunState endAs,
      @Nullable FailureReason reason,
      int exitCode,
      @Nullable String message,
      @Nullable Object result,
      boolean fromCancel,
      @Nullable String abortedBy) {
    ConnectionState[] targets;
    RunOutcome o;
    List<PendingApproval> dropped;
    TimeSource.Cancellable exp;
    synchronized (this) {
      if (state.isTerminal()) {
        return new EndResult(false, outcome);
      }
      if (state == RunState.CANCELLING && !fromCancel) {
        return new EndResult(false, null);
      }
      long seq = log.head() + 1;
      o = new RunOutcome(runId, sessionId, epoch, owner, endAs, reason, exitCode, message, result, seq, abortedBy);
      String kind =
          endAs == RunState.COMPLETED
              ? Outbound.KIND_COMPLETED
              : endAs == RunState.ABORTED ? Outbound.KIND_ABORTED : Outbound.KIND_FAILED;
      OutFrame f = rl.encode(new Outbound.RunEvent(runId, sessionId, epoch, seq, kind, o), Lane.STREAM, null);
      if (f == null) {
        // The host's result object could not be encoded: the end still happens, without it.
        o = new RunOutcome(runId, sessionId, epoch, owner, endAs, reason, exitCode, message, null, seq, abortedBy);
        f = rl.encode(new Outbound.RunEvent(runId, sessionId, epoch, seq, kind, o), Lane.STREAM, null);
      }
      state = endAs;
      outcome = o;
      targets = recipients;
      recipients = NONE;
      if (f != null) {
        log.append(seq, f);
        for (ConnectionState t : targets) {
          t.enqueue(f);
          rememberHanded(t);
        }
      } else {
        LOG.error("codec could not encode the terminal event of run {}; the run ended without it", runId);
      }
      dropped = new ArrayList<>(approvals.values());
      approvals.clear();
      for (PendingApproval p : dropped) {
        OutFrame af =
            rl.encode(
                new Outbound.ApprovalResolved(p.approval, Approval.Resolution.RUN_ENDED, null, null),
                Lane.CONTROL,
                null);
        if (af != null) {
          for (ConnectionState t : targets) {
            t.enqueue(af);
          }
        }
      }
      exp = expiry;
      expiry = null;
    }
    for (ConnectionState t : targets) {
      t.runs.remove(this);
      t.flush();
    }
    if (exp != null) {
      exp.cancel();
    }
    for (PendingApproval p : dropped) {
      rl.approvalGone(p.approval.approvalId());
      TimeSource.Cancellable pe = p.expiry;
      if (pe != null) {
        pe.cancel();
      }
      notifyApproval(p, Approval.Resolution.RUN_ENDED, null, null);
    }
    rl.runEnded(this, o);
    return new EndResult(true, o);
  }

  synchronized void setExpiry(TimeSource.Cancellable c) {
    if (state.isTerminal()) {
      c.cancel();
    } else {
      expiry = c;
    }
  }

  /** Releases the log and the cursors on eviction. */
  synchronized void evict() {
    log.clear();
    for (Map<ConnectionState, Long> m : java.util.Arrays.asList(coveredFrom, handedUpTo)) {
      if (m != null) {
        for (ConnectionState c : m.keySet()) {
          c.cursorRuns.remove(this);
        }
      }
    }
    coveredFrom = null;
    handedUpTo = null;
  }

  // ---------------------------------------------------------------- approvals

  @Override
  public @Nullable Approval requestApproval(
      @Nullable Object payload, @Nullable Duration expiresIn, Approval.Callback callback) {
    Objects.requireNonNull(callback, "callback");
    String id = rl.newApprovalId();
    long expiresAt = expiresIn == null ? 0 : rl.time.epochMillis() + expiresIn.toMillis();
    Approval a = new Approval(id, runId, sessionId, payload, expiresAt);
    PendingApproval p = new PendingApproval(a, callback);
    ConnectionState[] targets;
    synchronized (this) {
      if (state != RunState.RUNNING) {
        return null;
      }
      approvals.put(id, p);
      rl.approvalRaised(id, this);
      OutFrame f = rl.encode(new Outbound.ApprovalRequested(a), Lane.CONTROL, null);
      targets = recipients;
      if (f != null) {
        for (ConnectionState t : targets) {
          t.enqueue(f);
        }
      }
      if (expiresIn != null) {
        p.expiry =
            rl.schedule(
                Math.max(0, expiresIn.toNanos()),
                () -> resolveApproval(id, Approval.Resolution.EXPIRED, null, null));
      }
    }
    for (ConnectionState t : targets) {
      t.flush();
    }
    return a;
  }

  /** Resolves a pending approval exactly once; false if unknown or already resolved. */
  boolean resolveApproval(
      String approvalId, Approval.Resolution resolution, @Nullable Object decision, @Nullable String by) {
    PendingApproval p;
    ConnectionState[] targets;
    synchronized (this) {
      p = approvals.remove(approvalId);
      if (p == null) {
        return false;
      }
      OutFrame f =
          rl.encode(new Outbound.ApprovalResolved(p.approval, resolution, decision, by), Lane.CONTROL, null);
      targets = recipients;
      if (f != null) {
        for (ConnectionState t : targets) {
          t.enqueue(f);
        }
      }
    }
    rl.approvalGone(approvalId);
    TimeSource.Cancellable pe = p.expiry;
    if (pe != null) {
      pe.cancel();
    }
    for (ConnectionState t : targets) {
      t.flush();
    }
    notifyApproval(p, resolution, decision, by);
    return true;
  }

  private void notifyApproval(
      PendingApproval p, Approval.Resolution resolution, @Nullable Object decision, @Nullable String by) {
    try {
      p.callback.resolved(p.approval, resolution, decision, by);
    } catch (RuntimeException e) {
      LOG.warn("approval callback threw for approval {} of run {}", p.approval.approvalId(), runId, e);
    }
  }

  synchronized List<Approval> pendingApprovals() {
    List<Approval> out = new ArrayList<>(approvals.size());
    for (PendingApproval p : approvals.values()) {
      out.add(p.approval);
    }
    return out;
  }

  @Override
  public String toString() {
    return "Run[" + runId + ", session " + sessionId + ", " + state + "]";
  }
}
