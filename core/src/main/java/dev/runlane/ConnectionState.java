package dev.runlane;

import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Payload;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runlane's side of one connection: identity, outbox, the runs it receives and the sessions it
 * follows, and the handling of its inbound frames.
 *
 * <p><b>Thread safety:</b> safe for concurrent use. Inbound methods are serialized by the host
 * (rule T7.1) and never throw (rule T7.3).
 */
final class ConnectionState implements InboundHandler, Outbox.Owner {
  private static final Logger LOG = LoggerFactory.getLogger(ConnectionState.class);

  final Runlane rl;
  final Connection connection;
  final String id;
  final String principal;
  final long generation;
  final Outbox outbox;
  /** Runs this connection receives. Added before the run's closed check; see {@link Run#attach}. */
  final Set<Run> runs = ConcurrentHashMap.newKeySet();
  /** Runs that hold a resume cursor of this connection (see {@link Run}); dropped on close. */
  final Set<Run> cursorRuns = ConcurrentHashMap.newKeySet();
  /** Sessions this connection follows. */
  final Set<SessionState> sessions = ConcurrentHashMap.newKeySet();

  private volatile boolean closed;
  private volatile boolean closeReported;
  private volatile boolean streamCloseReported;
  volatile boolean inboundSinceTick;
  // housekeeping, timer thread only
  long lastInboundAtNanos;
  /** When liveness was last probed (a transport ping or a heartbeat); timer thread only. */
  long lastProbeAtNanos;
  /** Whether a transport ping was ever sent; timer thread only. */
  boolean pinged;
  /** Whether the transport declares {@link dev.runlane.transport.Capability#TRANSPORT_PING}. */
  final boolean transportPing;

  ConnectionState(Runlane rl, Connection connection, long generation) {
    this.rl = rl;
    this.connection = connection;
    this.id = connection.id();
    this.principal = connection.principal();
    this.generation = generation;
    this.transportPing =
        connection.capabilities().contains(dev.runlane.transport.Capability.TRANSPORT_PING);
    RunlaneConfig c = rl.config;
    this.outbox =
        new Outbox(
            this,
            connection,
            c.maxQueuedFrames,
            c.maxQueuedBytes,
            c.maxInFlight,
            Math.max(c.maxQueuedFrames, c.replayCapacity));
  }

  boolean isClosed() {
    return closed;
  }

  void enqueue(OutFrame f) {
    outbox.enqueue(f);
  }

  /** Queues a frame replayed from a run's ring; see {@link Outbox#enqueueReplay}. */
  void enqueueReplay(OutFrame f) {
    outbox.enqueueReplay(f);
  }

  void flush() {
    outbox.flush();
  }

  /** Encodes and sends one control message to this connection only. Call under no lock. */
  void sendControl(Outbound message) {
    enqueueControl(message);
    outbox.flush();
  }

  /** Encodes and queues one control message without sending; may run under a lock. */
  void enqueueControl(Outbound message) {
    OutFrame f = rl.encode(message, dev.runlane.transport.Lane.CONTROL, null);
    if (f != null) {
      outbox.enqueue(f);
    }
  }

  void sendError(ErrorCode code, String message, @Nullable String sessionId, @Nullable String ref) {
    sendControl(new Outbound.ProtocolError(code, message, sessionId, ref));
    rl.metricsProtocolError(id, code);
  }

  // ---------------------------------------------------------------- inbound (rule T7)

  @Override
  public void onFrame(Payload payload) {
    try {
      inboundSinceTick = true;
      if (closed) {
        return;
      }
      rl.handleInbound(this, payload);
    } catch (RuntimeException | Error e) {
      LOG.error("inbound frame on connection {} ({}) failed", id, principal, e);
      try {
        sendError(ErrorCode.INTERNAL_ERROR, "internal error", null, null);
      } catch (RuntimeException ignored) {
        // nothing more to do; the connection stays registered
      }
    }
  }

  @Override
  public void onActivity() {
    inboundSinceTick = true;
  }

  @Override
  public java.time.Duration idleTimeout() {
    return java.time.Duration.ofNanos(rl.config.idleTimeoutNanos); // rule T8.1: the transport's stays above
  }

  @Override
  public void onClose(CloseReason reason) {
    try {
      closeReported = true;
      closeLocally(reason, false);
    } catch (RuntimeException | Error e) {
      LOG.error("close handling of connection {} failed", id, e);
    }
  }

  /** The host reported the close of the paired stream transport: tear down the pair (rule T6.2). */
  void onStreamClose() {
    streamCloseReported = true;
    deliveryFailed(CloseReason.STREAM_TRANSPORT_LOST, null);
  }

  // ---------------------------------------------------------------- delivery failures

  private boolean awaitingCloseReport; // guarded by this

  /** Whether a transport of this connection can no longer send (rule T3.1). */
  private boolean transportGone() {
    Outbox.Pipe sp = outbox.streamPipe();
    return !isOpen(connection) || (sp != null && !isOpen(sp.transport));
  }

  private static boolean isOpen(Connection c) {
    try {
      return c.isOpen();
    } catch (RuntimeException e) {
      return false;
    }
  }

  @Override
  public void deliveryFailed(CloseReason reason, @Nullable Throwable cause) {
    if (closed) {
      return;
    }
    if (reason.equals(CloseReason.SEND_FAILED) && transportGone()) {
      // The send failed because the peer or the network closed the transport: the host reports
      // that close (rule T4.5) with the real reason, so stop sending and wait for it rather than
      // closing (and counting) it as a send failure. Safety net: a host that never reports it.
      outbox.close();
      boolean first;
      synchronized (this) {
        first = !awaitingCloseReport;
        awaitingCloseReport = true;
      }
      if (first) {
        rl.schedule(rl.config.closeGraceNanos, () -> closeLocally(reason, true));
      }
      return;
    }
    if (cause != null) {
      LOG.info("closing connection {} ({}): {} ({})", id, principal, reason.reason(), cause.toString());
    } else {
      LOG.info("closing connection {} ({}): {}", id, principal, reason.reason());
    }
    closeLocally(reason, true);
  }

  /**
   * Leaves every registry and stops delivery. If Runlane initiates the close, asks the transport to
   * close with {@code reason} and terminates it after the close grace unless the host reports the
   * close first. Idempotent.
   *
   * <p>Race with attach: {@link Run#attachLocked} adds the run to {@link #runs} before reading
   * {@link #closed}; this method sets {@link #closed} before reading {@link #runs}. Either the
   * attach sees closed, or this sees the run and detaches it.
   */
  void closeLocally(CloseReason reason, boolean initiatedByUs) {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    outbox.close();
    rl.unregister(this);
    for (Run r : runs) {
      r.detach(this);
    }
    runs.clear();
    for (Run r : cursorRuns) {
      r.forget(this);
    }
    cursorRuns.clear();
    for (SessionState s : sessions) {
      rl.unfollow(s, this);
    }
    sessions.clear();
    Outbox.Pipe sp = outbox.streamPipe();
    if (initiatedByUs) {
      safeClose(connection, reason);
    }
    if (sp != null) {
      // whichever transport went first, the pair goes down together
      safeClose(sp.transport, reason);
    }
    if (initiatedByUs || sp != null) {
      // close first; terminate what the host has not reported closed within the grace
      rl.schedule(
          rl.config.closeGraceNanos,
          () -> {
            if (initiatedByUs && !closeReported) {
              safeTerminate(connection);
            }
            if (sp != null && !streamCloseReported) {
              safeTerminate(sp.transport);
            }
          });
    }
    rl.metricsClosed(id, reason);
  }

  static void safeClose(Connection c, CloseReason reason) {
    try {
      c.close(reason);
    } catch (RuntimeException e) {
      LOG.warn("transport close of {} threw", c.id(), e);
    }
  }

  static void safeTerminate(Connection c) {
    try {
      c.terminate();
    } catch (RuntimeException e) {
      LOG.warn("transport terminate of {} threw", c.id(), e);
    }
  }

  ConnectionStats stats(long nowNanos) {
    Outbox.Pipe p = outbox.primary;
    long lag = p.stallSinceNanos == 0 ? 0 : Math.max(0, nowNanos - p.stallSinceNanos);
    return new ConnectionStats(
        id,
        principal,
        outbox.queuedFrames(),
        outbox.queuedBytes(),
        outbox.inFlight(),
        lag,
        outbox.delivered(),
        runs.size(),
        sessions.size());
  }

  @Override
  public String toString() {
    return "Connection[" + id + ", " + principal + "]";
  }
}
