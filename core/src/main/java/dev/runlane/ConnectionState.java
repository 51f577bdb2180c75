package dev.runlane;

import dev.runlane.codec.Outbound;
import dev.runlane.engine.EncodedFrame;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Lane;
import dev.runlane.transport.Payload;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runlane's side of one connection: identity, outbox, its links to runs and followed sessions, and
 * the entry point of its inbound frames. It knows runs and sessions only through {@link RunLink}
 * and {@link Followed}, and its owner through {@link Owner}, so it depends on no other engine part.
 *
 * <p><b>Thread safety:</b> safe for concurrent use. Inbound methods are serialized by the host
 * (rule T7.1) and never throw (rule T7.3).
 */
final class ConnectionState implements InboundHandler, OutboxOwner {
  private static final Logger LOG = LoggerFactory.getLogger(ConnectionState.class);

  /** What a connection needs from the registry that holds it. */
  interface Owner {
    /** Executes one inbound frame (never throws past the caller's guard). */
    void inbound(ConnectionState c, Payload payload);

    /** The connection closed: drop it from the registry. */
    void closed(ConnectionState c, CloseReason reason);
  }

  /** A run this connection has an edge with: a recipient, or holding one of its cursors. */
  interface RunLink {
    String sessionId();

    /** Whether the connection currently receives the run's events. */
    boolean isRecipient();

    /** Stops receiving the run's events; the connection stays open. */
    void detach();

    /** The connection closed: drop its edge. */
    void connectionClosed();

    /** This connection's backlog shrank: the run re-checks its backlog waiters. */
    void backlogShrank();
  }

  /** A session this connection follows. */
  interface Followed {
    String sessionId();

    /** The connection stops following (on close or unsubscribe). */
    void unfollow(ConnectionState c);
  }

  private final Owner owner;
  private final HostHooks hooks;
  final Connection connection;
  final String id;
  final String principal;
  final long generation;
  final Outbox outbox;
  final CommandBudget budget;
  /**
   * Edges to runs. A link is added before the run checks {@link #isClosed()}, and this connection
   * sets closed before walking its links: either the run sees the close, or the close sees the
   * link (see {@link #closeLocally}).
   */
  final Set<RunLink> runLinks = ConcurrentHashMap.newKeySet(1);
  /** Sessions this connection follows. */
  final Set<Followed> follows = ConcurrentHashMap.newKeySet(1);
  // Both sized for one entry (a table of 2, 24 bytes, where the default 16 take 80): a connection
  // usually watches one run of one session; the sets grow as any ConcurrentHashMap does.

  private volatile boolean closed;
  private volatile boolean closeReported;
  private volatile boolean streamCloseReported;
  /** Any inbound frame or activity since the last housekeeping tick. */
  volatile boolean inboundSinceTick;
  // housekeeping, timer thread only
  long lastInboundAtNanos;
  /** When liveness was last probed (a transport ping or a heartbeat); timer thread only. */
  long lastProbeAtNanos;
  /** Whether a transport ping was ever sent; timer thread only. */
  boolean pinged;
  /** Whether the transport declares {@link dev.runlane.transport.Capability#TRANSPORT_PING}. */
  final boolean transportPing;
  /**
   * The wire protocol run events are sent in: 1 until a hello negotiates more, {@link
   * #PINNED_FULL} once this connection must get full (protocol-1) frames for good. Read once per
   * frame by the drain loop; written through {@link #PROTOCOL}.
   */
  private volatile int protocol = 1;

  /**
   * Whether the client negotiated a protocol that accepts joined messages ({@link
   * dev.runlane.codec.WireCodec#joinsFrom()}). Independent of {@link #PINNED_FULL}: a pinned
   * connection's full frames may travel joined too.
   */
  private volatile boolean joins;

  /** {@link #protocol} of a connection that gets full frames for good, whatever it negotiated. */
  static final int PINNED_FULL = 0;

  private static final java.lang.invoke.VarHandle PROTOCOL;

  static {
    try {
      PROTOCOL = java.lang.invoke.MethodHandles.lookup().findVarHandle(ConnectionState.class, "protocol", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  ConnectionState(
      Owner owner, HostHooks hooks, Connection connection, long generation, WriteLoops.@Nullable Loop writeLoop) {
    this.owner = owner;
    this.hooks = hooks;
    this.connection = connection;
    this.id = connection.id();
    this.principal = connection.principal();
    this.generation = generation;
    this.transportPing = connection.capabilities().contains(dev.runlane.transport.Capability.TRANSPORT_PING);
    RunlaneConfig c = hooks.config;
    this.outbox =
        new Outbox(
            this,
            connection,
            c.maxQueuedFrames,
            c.maxQueuedBytes,
            c.maxInFlight,
            Math.max(c.maxQueuedFrames, c.replayCapacity),
            hooks.timesDeliveries ? hooks.time : null,
            writeLoop);
    this.budget = new CommandBudget(c.commandBurst, c.commandsPerSecond, hooks.time.nanoTime());
  }

  boolean isClosed() {
    return closed;
  }

  /**
   * A hello asked for {@code requested}: from the next frame sent on, run events travel in the
   * granted version, the lower of it and the codec's newest (unless pinned to full frames).
   *
   * @return the version granted, for the answer
   */
  int negotiate(int requested) {
    dev.runlane.codec.WireCodec codec = hooks.codec();
    int granted = Math.max(1, Math.min(requested, codec.maxProtocol()));
    int joinsFrom = codec.joinsFrom();
    joins = joinsFrom > 0 && granted >= joinsFrom;
    // the frames' forms: protocols that differ only in framing share one, derived once per frame
    int form = Math.max(1, Math.min(granted, codec.formOf(granted)));
    for (; ; ) {
      int cur = protocol;
      if (cur == PINNED_FULL || PROTOCOL.compareAndSet(this, cur, form)) {
        // a pinned connection stays on full frames; its client accepts both forms anyway
        return granted;
      }
    }
  }

  /**
   * From now on this connection gets full (protocol-1) frames for good: it was made a recipient
   * of a run in a way that does not tell its client the run's session and epoch (see {@code
   * docs/reference/protocol.md}, "Protocol 2"). May run under a run's lock.
   */
  void pinFullFrames() {
    protocol = PINNED_FULL;
  }

  @Override
  public dev.runlane.transport.Frame wire(EncodedFrame f) {
    int p = protocol;
    return p <= 1 ? f.frame() : f.frameFor(p, hooks.codec());
  }

  @Override
  public boolean joins() {
    return joins;
  }

  @Override
  public dev.runlane.transport.@Nullable Payload join(java.util.List<dev.runlane.transport.Payload> parts) {
    return hooks.codec().join(parts);
  }

  void enqueue(EncodedFrame f) {
    outbox.enqueue(f);
  }

  /** Queues a frame replayed from a run's log; see {@link Outbox#enqueueReplay}. */
  void enqueueReplay(EncodedFrame f) {
    outbox.enqueueReplay(f);
  }

  void flush() {
    outbox.flush();
  }

  /**
   * Flushes a run's frames pushed here: on the write thread if there is one ({@link
   * Outbox#flushSoon}); {@code lone} if the run pushed them to no other connection.
   */
  void flushSoon(boolean lone) {
    outbox.flushSoon(lone);
  }

  /** Encodes and sends one control message to this connection only. Call under no lock. */
  void sendControl(Outbound message) {
    enqueueControl(message);
    outbox.flush();
  }

  /** Encodes and queues one control message without sending; may run under a lock. */
  void enqueueControl(Outbound message) {
    EncodedFrame f = hooks.encode(message, Lane.CONTROL, null);
    if (f != null) {
      outbox.enqueue(f);
    }
  }

  @Override
  public void deliveryLatency(Lane lane, long latencyNanos) {
    hooks.deliveryLatency(lane, latencyNanos);
  }

  void sendError(ErrorCode code, String message, @Nullable String sessionId, @Nullable String ref) {
    sendControl(new Outbound.ProtocolError(code, message, sessionId, ref));
    hooks.protocolError(id, code);
  }

  /** Runs this connection currently receives. */
  int receivingRuns() {
    int n = 0;
    for (RunLink l : runLinks) {
      if (l.isRecipient()) {
        n++;
      }
    }
    return n;
  }

  // ---------------------------------------------------------------- inbound (rule T7)

  @Override
  public void onFrame(Payload payload) {
    try {
      inboundSinceTick = true;
      if (closed) {
        return;
      }
      owner.inbound(this, payload);
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
  public void drained() {
    if (hooks.backlogWaiters.get() == 0) {
      return; // nobody paces on a backlog: one volatile read per drain pass
    }
    for (RunLink l : runLinks) {
      if (l.isRecipient()) {
        l.backlogShrank();
      }
    }
  }

  @Override
  public void onActivity() {
    inboundSinceTick = true;
  }

  @Override
  public java.time.Duration idleTimeout() {
    return java.time.Duration.ofNanos(hooks.config.idleTimeoutNanos); // rule T8.1: the transport's stays above
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
        hooks.schedule(hooks.config.closeGraceNanos, () -> closeLocally(reason, true));
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
   * <p>Race with attach: a run adds its link to {@link #runLinks} before reading {@link #closed};
   * this method sets {@link #closed} before reading {@link #runLinks}. Either the attach sees
   * closed, or this sees the link and drops it. The same holds for {@link #follows}.
   */
  void closeLocally(CloseReason reason, boolean initiatedByUs) {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    outbox.close();
    owner.closed(this, reason);
    for (RunLink l : runLinks) {
      l.connectionClosed();
    }
    runLinks.clear();
    for (Followed s : follows) {
      s.unfollow(this);
    }
    follows.clear();
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
      hooks.schedule(
          hooks.config.closeGraceNanos,
          () -> {
            if (initiatedByUs && !closeReported) {
              safeTerminate(connection);
            }
            if (sp != null && !streamCloseReported) {
              safeTerminate(sp.transport);
            }
          });
    }
    hooks.connectionClosed(id, reason);
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
        receivingRuns(),
        follows.size());
  }

  @Override
  public String toString() {
    return "Connection[" + id + ", " + principal + "]";
  }
}
