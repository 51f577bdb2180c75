package dev.runlane;

import dev.runlane.codec.Outbound;
import dev.runlane.engine.EncodedFrame;
import dev.runlane.transport.Lane;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A run's pending tool approvals: raised while the run runs, sticky (every later subscribe's ack
 * carries them) and resolved exactly once, by an answer, an expiry or the run's end.
 *
 * <p><b>Thread safety:</b> the pending map is guarded by the run's lock ({@link Host#lock()});
 * callbacks, timers and the index are called under no lock.
 */
final class RunApprovals {
  private static final Logger LOG = LoggerFactory.getLogger(RunApprovals.class);

  /** The run whose approvals these are. */
  interface Host {
    /** The run's writer lock. */
    Object lock();

    String runId();

    String sessionId();

    RunState state();

    /** Hands a frame to the current recipients under the lock; see {@link Run#handOffLocked}. */
    RunEdge[] handOffLocked(@Nullable EncodedFrame f);

    /** Writes an unsequenced frame to the engine for other nodes' mirrors; false if it failed. Under the lock. */
    boolean signalLocked(EncodedFrame f);
  }

  /** Where approval ids are indexed engine-wide, so an answer finds its run. */
  interface Index {
    String newApprovalId();

    void raised(String approvalId, String runId);

    void gone(String approvalId);
  }

  static final class Pending {
    final Approval approval;
    final Approval.Callback callback;
    TimeSource.@Nullable Cancellable expiry;

    Pending(Approval approval, Approval.Callback callback) {
      this.approval = approval;
      this.callback = callback;
    }
  }

  private final Host run;
  private final HostHooks hooks;
  private final Index index;
  private final Map<String, Pending> pending = new LinkedHashMap<>(); // guarded by run.lock()

  RunApprovals(Host run, HostHooks hooks, Index index) {
    this.run = run;
    this.hooks = hooks;
    this.index = index;
  }

  @Nullable Approval request(@Nullable Object payload, @Nullable Duration expiresIn, Approval.Callback callback) {
    Objects.requireNonNull(callback, "callback");
    String id = index.newApprovalId();
    long expiresAt = expiresIn == null ? 0 : hooks.time.epochMillis() + expiresIn.toMillis();
    Approval a = new Approval(id, run.runId(), run.sessionId(), payload, expiresAt);
    Pending p = new Pending(a, callback);
    RunEdge[] targets;
    synchronized (run.lock()) {
      if (run.state() != RunState.RUNNING) {
        return null;
      }
      EncodedFrame f = hooks.encode(new Outbound.ApprovalRequested(a), Lane.CONTROL, null);
      if (f != null && !run.signalLocked(f)) {
        return null; // the engine's store is unavailable: other nodes could not see it, so it is not raised
      }
      pending.put(id, p);
      index.raised(id, run.runId());
      targets = run.handOffLocked(f);
      if (expiresIn != null) {
        p.expiry =
            hooks.schedule(
                Math.max(0, expiresIn.toNanos()),
                () -> resolve(id, Approval.Resolution.EXPIRED, null, null));
      }
    }
    RunEdge.flush(targets);
    return a;
  }

  /** Resolves a pending approval exactly once; false if unknown or already resolved. */
  boolean resolve(String approvalId, Approval.Resolution resolution, @Nullable Object decision, @Nullable String by) {
    Pending p;
    RunEdge[] targets;
    synchronized (run.lock()) {
      p = pending.remove(approvalId);
      if (p == null) {
        return false;
      }
      EncodedFrame f = resolvedFrame(p, resolution, decision, by);
      if (f != null) {
        run.signalLocked(f); // best effort: other nodes' mirrors drop it at the end at the latest
      }
      targets = run.handOffLocked(f);
    }
    index.gone(approvalId);
    TimeSource.Cancellable pe = p.expiry;
    if (pe != null) {
      pe.cancel();
    }
    RunEdge.flush(targets);
    notify(p, resolution, decision, by);
    return true;
  }

  @Nullable EncodedFrame resolvedFrame(
      Pending p, Approval.Resolution resolution, @Nullable Object decision, @Nullable String by) {
    return hooks.encode(new Outbound.ApprovalResolved(p.approval, resolution, decision, by), Lane.CONTROL, null);
  }

  private static final Approval.Callback NO_CALLBACK = (a, r, d, p) -> {};

  /**
   * A mirror learned from the engine that its run raised {@code a}: pending here too (sticky for
   * subscribers of this node), answered through the owner. False if already known. Under the run lock.
   */
  boolean remoteRaisedLocked(Approval a) {
    if (pending.containsKey(a.approvalId())) {
      return false;
    }
    pending.put(a.approvalId(), new Pending(a, NO_CALLBACK));
    index.raised(a.approvalId(), run.runId());
    return true;
  }

  /** A mirror learned that {@code approvalId} was resolved on the owner. False if not pending. Under the run lock. */
  boolean remoteResolvedLocked(String approvalId) {
    if (pending.remove(approvalId) == null) {
      return false;
    }
    index.gone(approvalId);
    return true;
  }

  /** The pending approvals, in the order raised. Under the run lock. */
  List<Approval> pendingLocked() {
    List<Approval> out = new ArrayList<>(pending.size());
    for (Pending p : pending.values()) {
      out.add(p.approval);
    }
    return out;
  }

  List<Approval> pending() {
    synchronized (run.lock()) {
      return pendingLocked();
    }
  }

  /** Takes every pending approval at the run's end. Under the run lock. */
  List<Pending> drainLocked() {
    List<Pending> out = new ArrayList<>(pending.values());
    pending.clear();
    return out;
  }

  /** After the end, under no lock: unindex, cancel timers and tell the callbacks. */
  void droppedAtEnd(List<Pending> dropped) {
    for (Pending p : dropped) {
      index.gone(p.approval.approvalId());
      TimeSource.Cancellable pe = p.expiry;
      if (pe != null) {
        pe.cancel();
      }
      notify(p, Approval.Resolution.RUN_ENDED, null, null);
    }
  }

  private void notify(Pending p, Approval.Resolution resolution, @Nullable Object decision, @Nullable String by) {
    try {
      p.callback.resolved(p.approval, resolution, decision, by);
    } catch (RuntimeException e) {
      LOG.warn("approval callback threw for approval {} of run {}", p.approval.approvalId(), run.runId(), e);
    }
  }
}
