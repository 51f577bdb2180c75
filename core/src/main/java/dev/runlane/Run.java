package dev.runlane;

import dev.runlane.codec.Outbound;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.EngineUnavailableException;
import dev.runlane.engine.FrameMeta;
import dev.runlane.engine.RunDirectory;
import dev.runlane.engine.RunFencedException;
import dev.runlane.engine.RunLog;
import dev.runlane.transport.Lane;
import java.time.Duration;
import java.util.ArrayList;
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
 * <p>A <em>mirror</em> is the local copy of a run whose runtime is on another node of a cluster
 * engine: it has no runtime, its log is the store's ({@link MirrorLog}), and the engine's tail is
 * its only writer ({@link #remoteFrame}); its lock plays the same linearization role.
 *
 * <p>Lock order: session → run → outbox. Host code (runtime cancel, callbacks, listeners,
 * authorizer) is never called under the lock; the codec is (see {@code WireCodec}).
 */
final class Run extends RunBase {
  private static final Logger LOG = LoggerFactory.getLogger(Run.class);

  /** What a run needs from the engine around it. */
  interface Owner {
    /** The run ended (called once, after its terminal event was handed out, under no lock). */
    void ended(Run run, RunOutcome outcome);

    /** The logs hold more than the retention budget: evict and trim (called under no lock). */
    void overBudget();

    /** A running mirror lost its last recipient: it may be retired (called under no lock). */
    void mirrorIdle(Run mirror);
  }

  private final Owner owner;
  private final RunDirectory directory;
  private final AtomicBoolean cancelCalled = new AtomicBoolean();

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
      @Nullable RunRuntime runtime,
      boolean mirror) {
    super(hooks, approvalIndex, runId, sessionId, epoch, runOwner, sessionOwner, starterGeneration, log, runtime, mirror);
    this.owner = owner;
    this.directory = directory;
  }

  @Override
  void recipientLeft() {
    if (mirror && !state.isTerminal() && recipientsSnapshot().length == 0) {
      owner.mirrorIdle(this);
    }
  }

  /** Drops this mirror from the node whatever its recipients (their edges go too). */
  synchronized void markRetired() {
    retired = true;
    edges.clear();
  }

  /** Retires this running mirror if it still has no recipient; under no lock. */
  synchronized boolean retireIfIdle() {
    if (mirror && !retired && !state.isTerminal() && edges.array().length == 0) {
      retired = true;
      edges.clear();
      return true;
    }
    return false;
  }

  /**
   * Records the "run.started" event (seq 1). Called once, under the session lock, at start. It
   * only queues: the caller flushes the recipients after releasing the session lock.
   */
  Result<Long> recordStarted(@Nullable Object input) {
    return record(Outbound.KIND_STARTED, input, false);
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
    List<RunApprovals.Pending> fenced = new ArrayList<>(0);
    synchronized (this) {
      if (mirror) {
        return elsewhere();
      }
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
      boolean fencedOff = false;
      try {
        log.append(seq, f);
      } catch (EngineUnavailableException e) {
        LOG.debug("dropped a {} event of run {}: the engine is unavailable ({})", kind, runId, e.getMessage());
        return Result.refused(ErrorCode.ENGINE_UNAVAILABLE, "the engine's store is unavailable; the event took no seq");
      } catch (RunFencedException e) {
        fencedOff = true;
      }
      targets = fencedOff ? endFencedLocked(fenced) : handOffLocked(f);
      if (fencedOff) {
        seq = 0;
      }
    }
    if (seq == 0) {
      handOff(targets);
      afterEndedElsewhere(fenced);
      return Result.refused(ErrorCode.RUN_ENDED, "run " + runId + " was ended by another node");
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
      signalLocked(f);
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
      if (mirror) {
        return elsewhere();
      }
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

  private <T> Result<T> elsewhere() {
    return Result.refused(ErrorCode.UNSUPPORTED, "run " + runId + " runs on another node; only that node writes it");
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
    List<RunApprovals.Pending> dropped = new ArrayList<>();
    TimeSource.Cancellable exp;
    synchronized (this) {
      if (mirror) {
        return elsewhere();
      }
      if (state.isTerminal() || (state == RunState.CANCELLING && !fromCancel)) {
        return lost();
      }
      long seq = log.head() + 1;
      o = new RunOutcome(runId, sessionId, epoch, runOwner, endAs, reason, exitCode, message, result, seq, abortedBy);
      boolean won;
      try {
        won = directory.end(o, null); // one end across every node
      } catch (EngineUnavailableException e) {
        LOG.warn("run {} could not record its end: the engine is unavailable; retrying", runId);
        hooks.schedule(END_RETRY_NANOS, () -> end(endAs, reason, exitCode, message, result, true, abortedBy));
        return Result.refused(ErrorCode.ENGINE_UNAVAILABLE, "the engine's store is unavailable; the end is retried");
      }
      if (!won) {
        targets = endFencedLocked(dropped); // another node ended it (it took this node for lost)
        o = Objects.requireNonNull(outcome);
      } else {
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
        if (f == null) {
          LOG.error("codec could not encode the terminal event of run {}; the run ended without it", runId);
        }
        targets = terminalLocked(o, f, true, dropped);
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
    return endedElsewhere ? lost() : Result.ok(o);
  }

  private static final long END_RETRY_NANOS = 1_000_000_000L;

  /**
   * The terminal transition, under the lock: state and outcome set, the terminal frame logged (if
   * {@code append}) and handed to the recipients, who stop receiving; pending approvals drained
   * into {@code dropped} with their RUN_ENDED frames queued. Returns the recipients to flush.
   */
  RunEdge[] terminalLocked(RunOutcome o, @Nullable EncodedFrame f, boolean append, List<RunApprovals.Pending> dropped) {
    state = o.state();
    outcome = o;
    if (f != null && append) {
      try {
        log.append(o.terminalSeq(), f);
      } catch (EngineUnavailableException | RunFencedException e) {
        LOG.warn("run {}: the terminal event did not reach the engine ({}); retrying", runId, e.getMessage());
        hooks.schedule(END_RETRY_NANOS, () -> reappend(o.terminalSeq(), f, 1));
      }
    }
    RunEdge[] targets = handOffLocked(f);
    edges.endAll(o.terminalSeq());
    dropped.addAll(approvals.drainLocked());
    for (RunApprovals.Pending p : dropped) {
      RunEdge.enqueue(targets, approvals.resolvedFrame(p, Approval.Resolution.RUN_ENDED, null, null));
    }
    return targets;
  }

  private synchronized void reappend(long seq, EncodedFrame f, int attempt) {
    if (log.head() >= seq) {
      return;
    }
    try {
      log.append(seq, f);
    } catch (EngineUnavailableException e) {
      if (attempt < 600) {
        hooks.schedule(END_RETRY_NANOS, () -> reappend(seq, f, attempt + 1));
      }
    } catch (RunFencedException e) {
      LOG.warn("run {}: its terminal event was refused by the engine", runId);
    }
  }

  /**
   * Another node ended this run (it took this node for lost): the local copy ends without a write,
   * with the winner's recorded outcome (else failed, {@link FailureReason#NODE_LOST}, at head + 1),
   * and its listeners do not run here. Under the lock.
   */
  private RunEdge[] endFencedLocked(List<RunApprovals.Pending> dropped) {
    RunOutcome o = null;
    try {
      o = directory.lookup(runId).map(dev.runlane.engine.RunRecord::outcome).orElse(null); // the winner's
    } catch (EngineUnavailableException e) {
      LOG.debug("run {}: the winning end could not be read ({})", runId, e.getMessage());
    }
    if (o == null) {
      o = new RunOutcome(runId, sessionId, epoch, runOwner, RunState.FAILED, FailureReason.NODE_LOST, ExitCode.FAILED,
          "another node ended the run: it took this node for lost", null, log.head() + 1, null);
    }
    String kind =
        o.state() == RunState.COMPLETED
            ? Outbound.KIND_COMPLETED
            : o.state() == RunState.ABORTED ? Outbound.KIND_ABORTED : Outbound.KIND_FAILED;
    endedElsewhere = true;
    return terminalLocked(
        o, hooks.encode(new Outbound.RunEvent(runId, sessionId, epoch, o.terminalSeq(), kind, o), Lane.STREAM, null),
        false, dropped);
  }

  /** A fenced write ended the run under the lock: what follows the end, under no lock. */
  void afterEndedElsewhere(List<RunApprovals.Pending> dropped) {
    approvals.droppedAtEnd(dropped);
    backlogShrank();
    RunOutcome o = outcome;
    if (o != null) {
      owner.ended(this, o);
    }
  }

  /** Marks a mirror's end as another node's (its listeners ran there). Under the lock. */
  void endedElsewhereLocked() {
    endedElsewhere = true;
  }

  /** Whether another node ended this run (a mirror, or a fenced write): listeners ran there. */
  boolean endedElsewhere() {
    return endedElsewhere;
  }

}
