package dev.runlane.transport.jetty;

import java.nio.channels.SelectableChannel;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.SelectorManager;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.util.component.LifeCycle;
import org.eclipse.jetty.websocket.core.WebSocketConnection;
import org.jspecify.annotations.Nullable;

/**
 * Keeps a reconnect storm from starving the connections already back: a connector stops accepting
 * while {@code maxPending} of its connections are between their accept and their WebSocket upgrade,
 * and accepts again as they upgrade, close or age past {@code maxWait}.
 *
 * <p><b>Why.</b> When thousands of clients reconnect at once, every accepted connection becomes a
 * job for Jetty's thread pool (read the upgrade request, upgrade), and a connection already
 * upgraded shares the pool and the cores with all of them: its {@code hello} and {@code subscribe}
 * wait behind the upgrades. In the wire harness's 10,000-client storm on 2 cores, a client was
 * caught up about 1 s (median) after its own upgrade and up to 1.6 s on a quiet machine, up to 2–6 s
 * on a busy one. With admission, the connections not yet accepted wait in the kernel's listen queue
 * instead, and a client that is back was caught up within 0.1 s (median), 0.5–0.8 s at most, busy
 * machine or not. The storm as a whole is not shorter (the server's CPU is the bound): on a quiet
 * machine it took up to 15 % longer, its later connects waiting in the listen queue (figures in
 * docs/benchmarks.md).
 *
 * <p><b>Pair it with a listen backlog</b> large enough for the bursts you expect ({@code
 * ServerConnector.setAcceptQueueSize}, capped by the kernel's {@code net.core.somaxconn}): while
 * accepting is paused, connects beyond the backlog are dropped and the client's kernel retries them
 * a second or more later.
 *
 * <p>A connection counts from its accept until it is a WebSocket connection (over TLS too), its
 * channel closes, or {@code maxWait} has passed. So a connection that never upgrades (a plain HTTP
 * keep-alive, or a client that connects and sends nothing) holds a place for at most {@code
 * maxWait}: like Jetty's own {@code ConnectionLimit}, a flood of such connects (about {@code
 * maxPending} per {@code maxWait}) keeps the connector paused and real clients in the listen queue
 * while it lasts. Serve plain HTTP on another connector if that matters more than storms.
 *
 * <p>Needs a connector with at least one acceptor thread (the default): accepting in the selector
 * drains the listen queue before a pause takes hold. Install it before the connector starts.
 *
 * <p><b>Thread safety:</b> thread-safe; Jetty calls it from its acceptor, selector and pool
 * threads, and the expiry runs on the connector's scheduler.
 */
public final class UpgradeAdmission implements Connection.Listener, SelectorManager.AcceptListener, LifeCycle.Listener {
  private static final long SWEEP_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  private final AbstractConnector connector;
  private final int maxPending;
  private final long maxWaitNanos;
  /** Accepted channels not yet upgraded, with when they were accepted. */
  private final Map<Object, Long> pending = new ConcurrentHashMap<>();
  private boolean limited; // guarded by this
  private boolean sweepScheduled; // guarded by this

  private UpgradeAdmission(AbstractConnector connector, int maxPending, long maxWaitMillis) {
    this.connector = connector;
    this.maxPending = maxPending;
    this.maxWaitNanos = TimeUnit.MILLISECONDS.toNanos(maxWaitMillis);
  }

  /**
   * Installs admission on {@code connector} (before it starts): at most {@code maxPending}
   * connections between accept and upgrade, each counted for at most 1 second.
   *
   * @param maxPending at least 1. The example and the benchmarks use 512 on 2 cores; 64 and 128
   *     cut the time from upgrade to caught up further (0.2–0.7 s at most) but lengthened the
   *     storm as a whole more.
   * @return the installed admission, for its figures
   */
  public static UpgradeAdmission install(AbstractConnector connector, int maxPending) {
    return install(connector, maxPending, 1_000);
  }

  /**
   * As {@link #install(AbstractConnector, int)}, with how long a connection that neither upgrades
   * nor closes is counted.
   *
   * @param maxWaitMillis at least 1
   */
  public static UpgradeAdmission install(AbstractConnector connector, int maxPending, long maxWaitMillis) {
    Objects.requireNonNull(connector, "connector");
    if (connector.isStarted()) { // Jetty hands a connector's accept listeners to its selector when it starts
      throw new IllegalStateException("install before the connector starts");
    }
    if (connector.getAcceptors() < 1) { // accepting in the selector drains the backlog before a pause holds
      throw new IllegalArgumentException("needs at least one acceptor thread: " + connector.getAcceptors());
    }
    if (maxPending < 1) {
      throw new IllegalArgumentException("maxPending < 1: " + maxPending);
    }
    if (maxWaitMillis < 1) {
      throw new IllegalArgumentException("maxWaitMillis < 1: " + maxWaitMillis);
    }
    UpgradeAdmission a = new UpgradeAdmission(connector, maxPending, maxWaitMillis);
    connector.addBean(a); // Jetty hands its beans of these types to its selector, its connections and its life cycle
    return a;
  }

  /** Connections accepted and not yet upgraded (nor closed, nor older than {@code maxWait}). */
  public int pending() {
    return pending.size();
  }

  /** Whether the connector's accepting is paused by this admission right now. */
  public synchronized boolean limiting() {
    return limited;
  }

  @Override
  public void onAccepting(SelectableChannel channel) {
    pending.put(channel, System.nanoTime());
    if (pending.size() >= maxPending) {
      expire(System.nanoTime());
      if (pending.size() >= maxPending) {
        limit();
      }
    }
  }

  @Override
  public void onAcceptFailed(SelectableChannel channel, Throwable cause) {
    done(channel);
  }

  @Override
  public void onClosed(SelectableChannel channel) {
    done(channel);
  }

  @Override
  public void onOpened(Connection connection) {
    if (connection instanceof WebSocketConnection) { // upgraded (its channel's close is onClosed(channel))
      done(channelOf(connection.getEndPoint()));
    }
  }

  /**
   * The network channel under {@code endPoint}: over TLS a connection's end point is the decrypted
   * one, whose transport is the network end point, not the channel that was accepted.
   */
  private static @Nullable Object channelOf(EndPoint endPoint) {
    Object t = endPoint.getTransport();
    for (int i = 0; i < 8 && t instanceof EndPoint; i++) {
      t = ((EndPoint) t).getTransport();
    }
    return t;
  }

  /** The connector stopped: its connections are gone, and a restart must find it accepting. */
  @Override
  public void lifeCycleStopped(LifeCycle event) {
    if (event == connector) {
      pending.clear();
      synchronized (this) {
        if (limited) {
          limited = false;
          connector.setAccepting(true);
        }
      }
    }
  }

  private void done(@Nullable Object channel) {
    if (channel != null && pending.remove(channel) != null) {
      unlimitIfRoom();
    }
  }

  private synchronized void limit() {
    if (!limited) {
      limited = true;
      connector.setAccepting(false);
      scheduleSweep();
    }
  }

  private synchronized void unlimitIfRoom() {
    if (limited && pending.size() < maxPending) {
      limited = false;
      connector.setAccepting(true);
    }
  }

  private synchronized void scheduleSweep() {
    if (!sweepScheduled) {
      sweepScheduled = true;
      connector.getScheduler().schedule(this::sweep, SWEEP_NANOS, TimeUnit.NANOSECONDS);
    }
  }

  /** While limited: expire connections past {@code maxWait}, and accept again if there is room. */
  private void sweep() {
    synchronized (this) {
      sweepScheduled = false;
    }
    expire(System.nanoTime());
    unlimitIfRoom();
    synchronized (this) {
      if (limited) {
        scheduleSweep();
      }
    }
  }

  private void expire(long now) {
    for (Iterator<Long> it = pending.values().iterator(); it.hasNext(); ) {
      if (now - it.next() > maxWaitNanos) {
        it.remove();
      }
    }
  }
}
