package dev.runlane;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.EngineUnavailableException;
import dev.runlane.engine.RunFencedException;
import dev.runlane.engine.RunLog;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every run instance is, whether it runs here or is a mirror of a run on another node: its
 * identity, its state fields, its log, its edges to connections and the hand-off of frames to
 * them under its lock. {@link Run} adds the writes (publish, end, cancel); {@link RunResume} the
 * subscribe. See {@link Run} for the lock discipline.
 *
 * <p><b>Thread safety:</b> the mutable state is guarded by this object's monitor (the run's lock).
 */
abstract class RunBase implements RunHandle, RunEdge.Owner, RunApprovals.Host {
  private static final Logger LOG = LoggerFactory.getLogger(RunBase.class);

  final HostHooks hooks;
  final String runId;
  final String sessionId;
  final String epoch;
  final String runOwner;
  /** The owner of the session this run was started in: a subscribe naming the run is authorized against it. */
  final String sessionOwner;
  /** The starting connection's {@link ConnectionState#generation} (ids are reused, rule T1.1), 0 if none. */
  final long starterGeneration;
  final RunLog log;
  final @Nullable RunRuntime runtime;
  /** A copy of a run held by another node: no runtime, fed by the engine's tail. */
  final boolean mirror;
  final RunApprovals approvals;

  volatile RunState state = RunState.RUNNING; // written under this
  final RunRecipients edges = new RunRecipients(this); // guarded by this
  volatile @Nullable RunOutcome outcome; // written under this
  TimeSource.@Nullable Cancellable expiry; // guarded by this
  final RunBacklog backlog; // guarded by this
  /** Ended by another node's call (a mirror's end, or a fenced write): its listeners ran there. */
  volatile boolean endedElsewhere; // written under this
  /** A mirror dropped from the node (no recipient left): callers look the run up again. */
  boolean retired; // guarded by this
  /** A mirror whose store no longer has frames it handed (the store lost the run, or it expired). */
  boolean storeLost; // guarded by this

  RunBase(
      HostHooks hooks,
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
    this.hooks = hooks;
    this.runId = runId;
    this.sessionId = sessionId;
    this.epoch = epoch;
    this.runOwner = runOwner;
    this.sessionOwner = sessionOwner;
    this.starterGeneration = starterGeneration;
    this.log = log;
    this.runtime = runtime;
    this.mirror = mirror;
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

  synchronized RunEdge[] recipientsSnapshot() {
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

  /** Tells other nodes' mirrors of an unsequenced frame (approvals, status): best effort for status. */
  @Override
  public boolean signalLocked(EncodedFrame f) {
    try {
      log.signal(f);
      return true;
    } catch (EngineUnavailableException | RunFencedException e) {
      LOG.debug("run {}: a signal did not reach the engine ({})", runId, e.getMessage());
      return false;
    }
  }

  // ---------------------------------------------------------------- edges

  /** Removes {@code c} as a recipient; returns whether it was one. */
  @Override
  public boolean detach(ConnectionState c) {
    synchronized (this) {
      RunEdge e = edges.get(c);
      if (e == null || !e.recipient) {
        return false;
      }
      edges.remove(e);
      RunRecipients.rememberHanded(e, log.head());
      edges.prune(e);
    }
    recipientLeft();
    return true;
  }

  @Override
  public void connectionClosed(RunEdge e) {
    synchronized (this) {
      edges.remove(e);
      e.coveredFrom = 0;
      e.handedUpTo = 0;
      edges.prune(e);
    }
    recipientLeft();
  }

  /** A recipient left (called under no lock): a running mirror with none left may be retired. */
  abstract void recipientLeft();

  /** Whether this mirror's store lost frames it must hold (see {@link #storeLost}). */
  synchronized boolean storeLost() {
    return storeLost;
  }

  /** The edges, for the resume algorithm ({@link RunResume}); under the lock. */
  RunRecipients edgesLocked() {
    return edges;
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
    return mirror ? null : approvals.request(payload, expiresIn, callback); // a mirror's runtime is elsewhere
  }

  @Override
  public String toString() {
    return "Run[" + runId + ", session " + sessionId + ", " + state + "]";
  }
}
