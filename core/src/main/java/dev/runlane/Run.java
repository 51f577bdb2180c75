package dev.runlane;

import dev.runlane.codec.Outbound;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.RunDirectory;
import dev.runlane.engine.RunLog;
import dev.runlane.transport.Lane;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run instance: its state machine, its log and its edges to connections.
 *
 * <p>The run's monitor is its single writer lock. Everything that changes what a recipient will
 * see happens under it, in one critical section: assigning a seq, appending to the log, handing
 * the frame to each recipient's outbox, a subscriber's acknowledgement + replay + attach, and the
 * terminal transition. That critical section is the <em>linearization point</em>: an event is
 * either in a subscriber's replay or in its live stream, never both and never neither. The
 * transport is called only after the lock is released ({@link Outbox#flush()}); see {@link
 * #handOff}.
 *
 * <p>Lock order: session → run → outbox. Host code (runtime cancel, callbacks, listeners,
 * authorizer) is never called under the lock; the codec is (see {@code WireCodec}).
 */
final class Run implements RunHandle, RunEdge.Owner, RunApprovals.Host {
  private static final Logger LOG = LoggerFactory.getLogger(Run.class);

  /** What a run needs from the engine around it. */
  interface Owner {
    /** The run ended (called once, after its terminal event was handed out, under no lock). */
    void ended(Run run, RunOutcome outcome);

    /** The logs hold more than the retention budget: evict and trim (called under no lock). */
    void overBudget();
  }

  private final HostHooks hooks;
  private final Owner owner;
  private final RunDirectory directory;
  private final String runId;
  private final String sessionId;
  private final String epoch;
  private final String runOwner;
  /** The owner of the session this run was started in: a subscribe naming the run is authorized against it. */
  final String sessionOwner;
  /** The starting connection's {@link ConnectionState#generation} (ids are reused, rule T1.1), 0 if none. */
  private final long starterGeneration;
  private final RunLog log;
  private final @Nullable RunRuntime runtime;
  private final AtomicBoolean cancelCalled = new AtomicBoolean();
  final RunApprovals approvals;

  private volatile RunState state = RunState.RUNNING; // written under this
  private final RunRecipients edges = new RunRecipients(this); // guarded by this
  private volatile @Nullable RunOutcome outcome; // written under this
  private TimeSource.@Nullable Cancellable expiry; // guarded by this
  private final RunBacklog backlog; // guarded by this

  Run(
      HostHooks hooks,
      Owner owner,
      RunDirectory directory,
      RunApprovals.Index approvalIndex,
      String runId,
      String sessionId,
      String epoch,
      String runOwner,
      String sessionOwner,
      long starterGeneration,
      RunLog log,
      @Nullable RunRuntime runtime) {
    this.hooks = hooks;
    this.owner = owner;
    this.directory = directory;
    this.runId = runId;
    this.sessionId = sessionId;
    this.epoch = epoch;
    this.runOwner = runOwner;
    this.sessionOwner = sessionOwner;
    this.starterGeneration = starterGeneration;
    this.log = log;
    this.runtime = runtime;
    this.approvals = new RunApprovals(this, hooks, approvalIndex);
    this.backlog = new RunBacklog(hooks.backlogWaiters);
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
    return runOwner;
  }

  @Override
  public RunState state() {
    return state;
  }

  @Override
  public Optional<RunOutcome> outcome() {
    return Optional.ofNullable(outcome);
  }

  @Override
  public synchronized long headSeq() {
    return log.head();
  }

  @Override
  public int recipientBacklog() {
    return RunRecipients.deepestQueue(recipientsSnapshot());
  }

  @Override
  public java.util.concurrent.CompletionStage<Void> whenBacklogBelow(int frames) {
    if (frames < 0) {
      throw new IllegalArgumentException("frames < 0: " + frames);
    }
    java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
    synchronized (this) {
      backlog.add(frames, done);
    }
    backlogShrank(); // it may be low already, or the run ended: checked after registering, no drain missed
    return done;
  }

  @Override
  public void backlogShrank() {
    List<java.util.concurrent.CompletableFuture<Void>> ready;
    synchronized (this) {
      if (backlog.isEmpty()) {
        return;
      }
      ready = backlog.takeReady(RunRecipients.deepestQueue(edges.array()), state.isTerminal());
    }
    ready.forEach(f -> f.complete(null)); // no lock held: dependent stages are host code
  }

  private synchronized RunEdge[] recipientsSnapshot() {
    return edges.array();
  }

  /** The connections that currently receive this run's events. */
  List<ConnectionState> recipients() {
    return RunRecipients.connections(recipientsSnapshot());
  }

  /** Edges held (recipients and cursor holders); for invariant checks. */
  synchronized List<RunEdge> edges() {
    return edges.all();
  }

  RunLog log() {
    return log;
  }

  // ---------------------------------------------------------------- events

  @Override
  public Object lock() {
    return this;
  }

  /**
   * Hands {@code f} to every current recipient's outbox under the run lock; returns them so the
   * caller flushes after releasing it (no transport call under a lock). The one place where
   * frames reach recipients.
   */
  @Override
  public RunEdge[] handOffLocked(@Nullable EncodedFrame f) {
    RunEdge[] targets = edges.array();
    if (f != null) {
      for (RunEdge t : targets) {
        t.connection.enqueue(f);
      }
    }
    return targets;
  }

  /** Flushes recipients handed a frame under the lock; call under no lock. */
  static void handOff(RunEdge[] targets) {
    RunEdge.flush(targets);
  }

  /**
   * Records the "run.started" event (seq 1). Called once, under the session lock, at start. It
   * only queues: the caller flushes the recipients after releasing the session lock.
   */
  void recordStarted(@Nullable Object input) {
    record(Outbound.KIND_STARTED, input, false);
  }

  @Override
  public Result<Long> publish(String kind, @Nullable Object data) {
    Objects.requireNonNull(kind, "kind");
    if (kind.startsWith("run.")) {
      throw new IllegalArgumentException("event kinds starting with \"run.\" are reserved: " + kind);
    }
    return record(kind, data, true);
  }

  private Result<Long> record(String kind, @Nullable Object data, boolean flush) {
    RunEdge[] targets;
    long seq;
    synchronized (this) {
      if (state != RunState.RUNNING) {
        return Result.refused(ErrorCode.RUN_ENDED, "run " + runId + " has ended");
      }
      seq = log.head() + 1;
      EncodedFrame f =
          hooks.encode(new Outbound.RunEvent(runId, sessionId, epoch, seq, kind, data), Lane.STREAM, null);
      if (f == null) {
        LOG.warn("dropped a {} event of run {} (session {}): the codec could not encode it", kind, runId, sessionId);
        return Result.refused(ErrorCode.ENCODE_FAILED, "the codec could not encode the event");
      }
      if (f.bytes() > hooks.config.maxEventBytes) {
        LOG.warn("dropped a {} event of run {} (session {}): {} bytes encoded, over {}", kind, runId, sessionId, f.bytes(), hooks.config.maxEventBytes);
        return Result.refused(
            ErrorCode.EVENT_TOO_LARGE, "the event encodes to " + f.bytes() + " bytes, over " + hooks.config.maxEventBytes);
      }
      log.append(seq, f);
      targets = handOffLocked(f);
    }
    if (flush) {
      handOff(targets);
    }
    if (hooks.overBudget()) {
      owner.overBudget();
    }
    return Result.ok(seq);
  }

  @Override
  public boolean publishStatus(String key, @Nullable Object data) {
    Objects.requireNonNull(key, "key");
    RunEdge[] targets;
    synchronized (this) {
      if (state != RunState.RUNNING) {
        return false;
      }
      EncodedFrame f =
          hooks.encode(new Outbound.RunStatus(runId, sessionId, key, data), Lane.STREAM, runId + '\u0000' + key);
      if (f == null) {
        return false;
      }
      targets = handOffLocked(f);
    }
    handOff(targets);
    return true;
  }

  /** Sends an unsequenced control message to the current recipients. */
  void sendControl(Outbound message) {
    RunEdge[] targets;
    synchronized (this) {
      targets = handOffLocked(hooks.encode(message, Lane.CONTROL, null));
    }
    handOff(targets);
  }

  // ---------------------------------------------------------------- edges

  /**
   * Adds {@code c} as a recipient (no replay). Under the session lock when called at start.
   *
   * @return whether it is a recipient now (false if the run ended or the connection closed)
   */
  synchronized boolean attach(ConnectionState c, AttachMode mode) {
    if (state.isTerminal()) {
      return false;
    }
    RunEdge before = edges.get(c);
    boolean wasRecipient = before != null && before.recipient;
    RunEdge e = edges.add(c, mode, log.head());
    if (!wasRecipient && e != null && log.head() > 0) {
      // No replay: unless it was handed everything before, a later subscribe below this point
      // must be told of the gap (it cannot be replayed ahead of the live frames already queued).
      long handed = e.takeHandedUpTo();
      long covered = e.takeCoveredFrom();
      if (handed == 0 || handed < log.head()) {
        e.coveredFrom = log.head() + 1;
      } else if (covered != 0) {
        e.coveredFrom = covered;
      }
    }
    return e != null;
  }

  /** Removes {@code c} as a recipient; returns whether it was one. */
  @Override
  public synchronized boolean detach(ConnectionState c) {
    RunEdge e = edges.get(c);
    if (e == null || !e.recipient) {
      return false;
    }
    edges.remove(e);
    RunRecipients.rememberHanded(e, log.head());
    edges.prune(e);
    return true;
  }

  @Override
  public synchronized void connectionClosed(RunEdge e) {
    edges.remove(e);
    e.coveredFrom = 0;
    e.handedUpTo = 0;
    edges.prune(e);
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
      RunEdge e = edges.get(c);
      boolean attached = e != null && e.recipient;
      // The connection's cursor never moves backwards, so nothing is replayed twice: a recipient has
      // been handed everything up to head; a connection that was one before, up to what it was
      // handed then (those frames are queued or delivered, in order, ahead of this replay).
      long from;
      boolean truncated;
      long covered = e == null ? 0 : e.takeCoveredFrom();
      if (attached) {
        from = head + 1;
        truncated = false;
      } else {
        long handed = e == null ? 0 : e.takeHandedUpTo();
        from = Math.max(n, handed) + 1;
        truncated = from < oldest && from <= head;
      }
      if (e != null) {
        edges.prune(e);
      }
      // It was attached without a replay: what lies below its first handed seq is a gap. It cannot
      // be replayed ahead of the later frames already handed, so it is announced.
      if (covered != 0 && n + 1 < covered) {
        truncated = true;
      }
      long replayFrom = Math.max(from, oldest);
      long replayTo = head;
      boolean finished = state.isTerminal();
      if (finished) {
        status = ResumeStatus.FINISHED;
        if (!hooks.config.replayFinishedRuns) {
          replayFrom = head + 1;
        }
      } else if (status == null) {
        status = truncated ? ResumeStatus.TRUNCATED : ResumeStatus.EXACT;
      }
      ack =
          new SubscribeAck(
              sessionId, runId, epoch, status, !finished, head, oldest, replayFrom, replayTo,
              truncated, following, approvals.pendingLocked(), outcome, target.lastSeq());
      EncodedFrame ackFrame = hooks.encode(new Outbound.Subscribed(ack, ref), Lane.CONTROL, null);
      if (ackFrame != null) {
        c.enqueue(ackFrame);
      }
      log.read(replayFrom, replayTo, c::enqueueReplay); // one range read: the engine seam's shape
      if (!finished) {
        edges.add(c, mode, head);
      } else {
        // it now has, or was told how to get, everything up to the end
        RunEdge after = edges.edge(c);
        RunRecipients.rememberHanded(after, head);
        edges.prune(after);
      }
    }
    return ack;
  }

  // ---------------------------------------------------------------- lifecycle

  @Override
  public Result<RunOutcome> complete(@Nullable Object result) {
    return end(RunState.COMPLETED, null, ExitCode.OK, null, result, false, null);
  }

  @Override
  public Result<RunOutcome> fail(FailureReason reason, int exitCode, @Nullable String message) {
    Objects.requireNonNull(reason, "reason");
    return end(RunState.FAILED, reason, exitCode, message, null, false, null);
  }

  /**
   * Cancels the run (abort, expiry, shutdown): marks it cancelling so the runtime's events and end
   * calls are dropped, calls the runtime's cancel hook once (no lock held), then ends the run.
   */
  Result<RunOutcome> cancel(
      RunState endAs, @Nullable FailureReason reason, int exitCode, String message, @Nullable String by) {
    synchronized (this) {
      if (state != RunState.RUNNING) {
        return lost();
      }
      state = RunState.CANCELLING;
    }
    callCancelHook();
    return end(endAs, reason, exitCode, message, null, true, by);
  }

  private Result<RunOutcome> lost() {
    RunOutcome o = outcome;
    return Result.refused(
        ErrorCode.RUN_ENDED,
        o == null ? "run " + runId + " is being cancelled" : "run " + runId + " already ended as " + o.state());
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

  private Result<RunOutcome> end(
      RunState endAs,
      @Nullable FailureReason reason,
      int exitCode,
      @Nullable String message,
      @Nullable Object result,
      boolean fromCancel,
      @Nullable String abortedBy) {
    RunEdge[] targets;
    RunOutcome o;
    List<RunApprovals.Pending> dropped;
    TimeSource.Cancellable exp;
    synchronized (this) {
      if (state.isTerminal() || (state == RunState.CANCELLING && !fromCancel)) {
        return lost();
      }
      long seq = log.head() + 1;
      o = new RunOutcome(runId, sessionId, epoch, runOwner, endAs, reason, exitCode, message, result, seq, abortedBy);
      if (!directory.end(o, null)) {
        // another node ended it first: one end across every node
        return lost();
      }
      String kind =
          endAs == RunState.COMPLETED
              ? Outbound.KIND_COMPLETED
              : endAs == RunState.ABORTED ? Outbound.KIND_ABORTED : Outbound.KIND_FAILED;
      EncodedFrame f = hooks.encode(new Outbound.RunEvent(runId, sessionId, epoch, seq, kind, o), Lane.STREAM, null);
      if (f == null) {
        // The host's result object could not be encoded: the end still happens, without it.
        o = new RunOutcome(runId, sessionId, epoch, runOwner, endAs, reason, exitCode, message, null, seq, abortedBy);
        f = hooks.encode(new Outbound.RunEvent(runId, sessionId, epoch, seq, kind, o), Lane.STREAM, null);
      }
      state = endAs;
      outcome = o;
      if (f != null) {
        log.append(seq, f);
      } else {
        LOG.error("codec could not encode the terminal event of run {}; the run ended without it", runId);
      }
      targets = handOffLocked(f);
      edges.endAll(log.head());
      dropped = approvals.drainLocked();
      for (RunApprovals.Pending p : dropped) {
        RunEdge.enqueue(targets, approvals.resolvedFrame(p, Approval.Resolution.RUN_ENDED, null, null));
      }
      exp = expiry;
      expiry = null;
    }
    handOff(targets);
    if (exp != null) {
      exp.cancel();
    }
    approvals.droppedAtEnd(dropped);
    backlogShrank(); // a producer waiting on the backlog of an ended run waits no more
    owner.ended(this, o);
    return Result.ok(o);
  }

  synchronized void setExpiry(TimeSource.Cancellable c) {
    if (state.isTerminal()) {
      c.cancel();
    } else {
      expiry = c;
    }
  }

  /** Trims the log's oldest events to at most {@code maxBytes} (never the newest); returns what it holds now. */
  synchronized long trim(long maxBytes) {
    log.trim(maxBytes);
    return log.retainedBytes();
  }

  /** Releases the log and every edge on eviction. */
  synchronized void evict() {
    log.clear();
    edges.clear();
  }

  @Override
  public @Nullable Approval requestApproval(
      @Nullable Object payload, @Nullable Duration expiresIn, Approval.Callback callback) {
    return approvals.request(payload, expiresIn, callback);
  }

  @Override
  public String toString() {
    return "Run[" + runId + ", session " + sessionId + ", " + state + "]";
  }
}
