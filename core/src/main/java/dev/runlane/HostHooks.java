package dev.runlane;

import dev.runlane.codec.Outbound;
import dev.runlane.codec.WireCodec;
import dev.runlane.engine.EncodedFrame;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The boundary to host code the engine calls on its own initiative: the codec, the clock and its
 * timers, the authorizer, metrics and run listeners. Every call is guarded: host code never breaks
 * the engine, an exception is logged once and turned into policy (a dropped frame, a denial, a
 * skipped sample). A leaf of the engine: it calls back into no engine part.
 *
 * <p><b>Thread safety:</b> immutable after construction; safe for concurrent use. Only the codec is
 * called under engine locks (see {@link WireCodec}).
 */
final class HostHooks {
  private static final Logger LOG = LoggerFactory.getLogger(HostHooks.class);
  static final RunlaneMetrics NO_METRICS = new RunlaneMetrics() {};

  final RunlaneConfig config;
  /** Payload bytes held by every run's log on this node (the retention budget's measure). */
  final java.util.concurrent.atomic.AtomicLong retainedBytes = new java.util.concurrent.atomic.AtomicLong();
  /** Ended runs evicted early, and running runs trimmed, to keep within the retention budget. */
  final java.util.concurrent.atomic.AtomicLong budgetEvictedRuns = new java.util.concurrent.atomic.AtomicLong();
  final java.util.concurrent.atomic.AtomicLong budgetTrimmedRuns = new java.util.concurrent.atomic.AtomicLong();
  /** Backlog waiters pending on any run ({@link RunHandle#whenBacklogBelow}); 0 keeps drains free. */
  final java.util.concurrent.atomic.AtomicInteger backlogWaiters = new java.util.concurrent.atomic.AtomicInteger();
  final TimeSource time;
  private final WireCodec codec;
  private final Authorizer authorizer;
  private final RunlaneMetrics metrics;
  private final List<RunListener> runListeners;
  /** Whether the metrics listener times deliveries: run frames are stamped at publish. */
  final boolean timesDeliveries;

  HostHooks(
      RunlaneConfig config,
      TimeSource time,
      WireCodec codec,
      Authorizer authorizer,
      RunlaneMetrics metrics,
      List<RunListener> runListeners) {
    this.config = config;
    this.time = time;
    this.codec = codec;
    this.authorizer = authorizer;
    this.metrics = metrics;
    this.runListeners = List.copyOf(runListeners);
    boolean timed = false;
    try {
      timed = metrics.timesDeliveries();
    } catch (RuntimeException e) {
      LOG.warn("metrics listener threw; deliveries are not timed", e);
    }
    this.timesDeliveries = timed;
  }

  WireCodec codec() {
    return codec;
  }

  /**
   * Encodes once; null (logged) if the codec threw. A frame a run publishes is stamped with the
   * time if deliveries are timed.
   */
  @Nullable EncodedFrame encode(Outbound message, Lane lane, @Nullable String coalesceKey) {
    try {
      Frame frame = new Frame(lane, codec.encode(message));
      dev.runlane.engine.FrameMeta meta = meta(message);
      return timesDeliveries && meta != null
          ? new EncodedFrame(frame, coalesceKey, meta, time.nanoTime())
          : new EncodedFrame(frame, coalesceKey, meta);
    } catch (RuntimeException e) {
      LOG.error("codec failed to encode {}", message.getClass().getSimpleName(), e);
      return null;
    }
  }

  /** The engine metadata of what a run writes to its log; null for everything else. */
  static dev.runlane.engine.@Nullable FrameMeta meta(Outbound message) {
    if (message instanceof Outbound.RunEvent e) {
      return e.terminal() && e.data() instanceof RunOutcome o
          ? dev.runlane.engine.FrameMeta.terminal(e.seq(), o)
          : dev.runlane.engine.FrameMeta.event(e.seq());
    }
    if (message instanceof Outbound.ApprovalRequested a) {
      return dev.runlane.engine.FrameMeta.approval(dev.runlane.engine.FrameMeta.Type.APPROVAL_REQUESTED, a.approval());
    }
    if (message instanceof Outbound.ApprovalResolved a) {
      return dev.runlane.engine.FrameMeta.approval(dev.runlane.engine.FrameMeta.Type.APPROVAL_RESOLVED, a.approval());
    }
    return message instanceof Outbound.RunStatus ? dev.runlane.engine.FrameMeta.status() : null;
  }

  /**
   * Schedules on the host's {@link TimeSource}: if it throws, the task is dropped and logged, and
   * the caller (a publisher, a close) carries on.
   */
  TimeSource.Cancellable schedule(long delayNanos, Runnable task) {
    try {
      return time.schedule(delayNanos, task);
    } catch (RuntimeException e) {
      LOG.error("the TimeSource refused a task; it will not run", e);
      return () -> {};
    }
  }

  /** Asks the authorizer; an exception or a null answer is a denial. */
  Authorizer.Decision authorize(String principal, Action action, String sessionId, @Nullable String owner) {
    try {
      Authorizer.Decision d = authorizer.authorize(principal, action, sessionId, owner);
      return d == null ? Authorizer.Decision.DENY : d;
    } catch (RuntimeException e) {
      LOG.warn("authorizer threw for {} {} on session {}; denied", principal, action, sessionId, e);
      return Authorizer.Decision.DENY;
    }
  }

  /** Whether the logs hold more than the process-wide retention budget. */
  boolean overBudget() {
    long max = config.maxRetainedBytes;
    return max > 0 && retainedBytes.get() > max;
  }

  boolean hasMetrics() {
    return metrics != NO_METRICS;
  }

  void connectionClosed(String connectionId, CloseReason reason) {
    try {
      metrics.connectionClosed(connectionId, reason);
    } catch (RuntimeException e) {
      LOG.warn("metrics listener threw", e);
    }
  }

  void protocolError(String connectionId, ErrorCode code) {
    try {
      metrics.protocolError(connectionId, code);
    } catch (RuntimeException e) {
      LOG.warn("metrics listener threw", e);
    }
  }

  void connectionSample(ConnectionStats stats) {
    try {
      metrics.connectionSample(stats);
    } catch (RuntimeException e) {
      LOG.warn("metrics listener threw", e);
    }
  }

  void subscribed(String connectionId, ResumeStatus status) {
    try {
      metrics.subscribed(connectionId, status);
    } catch (RuntimeException e) {
      LOG.warn("metrics listener threw", e);
    }
  }

  /** A live run frame's send succeeded {@code latencyNanos} after its publish. */
  void deliveryLatency(Lane lane, long latencyNanos) {
    try {
      metrics.deliveryLatency(lane, latencyNanos);
    } catch (RuntimeException e) {
      LOG.warn("metrics listener threw", e);
    }
  }

  /** Tells metrics and every run listener, each guarded. */
  void runEnded(RunOutcome outcome) {
    try {
      metrics.runEnded(outcome);
    } catch (RuntimeException e) {
      LOG.warn("metrics listener threw", e);
    }
    for (RunListener l : runListeners) {
      try {
        l.onRunEnded(outcome);
      } catch (RuntimeException e) {
        LOG.warn("run listener threw for run {}", outcome.runId(), e);
      }
    }
  }
}
