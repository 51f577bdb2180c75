package dev.runlane;

import dev.runlane.codec.Outbound;
import dev.runlane.engine.EncodedFrame;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Lane;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The periodic tick: stalled sends, idle connections, heartbeats and metrics samples, over every
 * live connection. Runs on the host's {@link TimeSource} timer; reschedules itself until stopped.
 *
 * <p><b>Thread safety:</b> the tick runs on the timer thread, one at a time; {@link #stop()} may
 * be called from any thread.
 */
final class Housekeeping {
  private static final Logger LOG = LoggerFactory.getLogger(Housekeeping.class);

  private final HostHooks hooks;
  private final Connections connections;
  private volatile boolean stopped;
  private volatile TimeSource.@Nullable Cancellable next;

  Housekeeping(HostHooks hooks, Connections connections) {
    this.hooks = hooks;
    this.connections = connections;
  }

  void start() {
    schedule();
  }

  void stop() {
    stopped = true;
    TimeSource.Cancellable n = next;
    if (n != null) {
      n.cancel();
    }
  }

  private void schedule() {
    if (!stopped) {
      RunlaneConfig config = hooks.config;
      // a heartbeat interval shorter than the tick shortens the tick (see RunlaneMetrics)
      long tick =
          config.heartbeatNanos > 0 ? Math.min(config.housekeepingNanos, config.heartbeatNanos) : config.housekeepingNanos;
      next = hooks.schedule(tick, this::tick);
    }
  }

  /** One tick: stalled sends, idle connections, heartbeats, metrics samples. */
  void tick() {
    try {
      RunlaneConfig config = hooks.config;
      long now = hooks.time.nanoTime();
      EncodedFrame hbControl = null;
      EncodedFrame hbStream = null;
      for (ConnectionState c : connections.all()) {
        if (c.isClosed()) {
          continue;
        }
        if (c.lastInboundAtNanos == 0 || c.inboundSinceTick) {
          c.inboundSinceTick = false;
          c.lastInboundAtNanos = now;
        } else if (config.idleTimeoutNanos > 0 && now - c.lastInboundAtNanos >= config.idleTimeoutNanos) {
          c.deliveryFailed(CloseReason.IDLE_TIMEOUT, null);
          continue;
        }
        if (stalled(c.outbox.primary, now) || stalledStream(c, now)) {
          c.deliveryFailed(CloseReason.SLOW_CONSUMER, null);
          continue;
        }
        if (config.heartbeatNanos > 0) {
          // Liveness is server-driven (issue 12 item 6): a connection quiet inbound for an interval
          // is asked to show life, by a transport ping if it has them, else by a heartbeat.
          boolean probe = probeDue(c, now);
          if (probe) {
            c.lastProbeAtNanos = now;
            if (c.transportPing) {
              try {
                c.pinged = true;
                c.connection.ping(); // rule T8.2: the pong comes back through onActivity()
              } catch (RuntimeException e) {
                LOG.debug("transport ping of {} threw", c.id, e);
              }
            }
          }
          // recent pings are outbound traffic too: they keep proxies' idle timers at bay
          boolean pinged = c.pinged && now - c.lastProbeAtNanos < 2 * config.heartbeatNanos;
          if ((probe && !c.transportPing) || (!pinged && heartbeatDue(c.outbox.primary, now))) {
            if (hbControl == null) {
              hbControl = hooks.encode(new Outbound.Heartbeat(hooks.time.epochMillis()), Lane.CONTROL, null);
            }
            if (hbControl != null) {
              c.enqueue(hbControl);
            }
          }
          Outbox.Pipe sp = c.outbox.streamPipe();
          if (sp != null && heartbeatDue(sp, now)) {
            if (hbStream == null) {
              hbStream = hooks.encode(new Outbound.Heartbeat(hooks.time.epochMillis()), Lane.STREAM, null);
            }
            if (hbStream != null) {
              c.enqueue(hbStream);
            }
          }
          c.flush();
        }
        if (hooks.hasMetrics()) {
          hooks.connectionSample(c.stats(now));
        }
      }
    } catch (RuntimeException e) {
      LOG.error("housekeeping tick failed", e);
    } finally {
      schedule();
    }
  }

  private boolean stalledStream(ConnectionState c, long now) {
    Outbox.Pipe sp = c.outbox.streamPipe();
    return sp != null && stalled(sp, now);
  }

  private boolean stalled(Outbox.Pipe p, long now) {
    long completed;
    int inFlight;
    synchronized (p.outbox()) {
      completed = p.completed();
      inFlight = (int) (p.sent - completed);
    }
    if (inFlight == 0 || completed != p.lastSeenCompleted) {
      p.lastSeenCompleted = completed;
      p.stallSinceNanos = inFlight == 0 ? 0 : now;
      return false;
    }
    if (p.stallSinceNanos == 0) {
      p.stallSinceNanos = now;
      return false;
    }
    long stall = hooks.config.sendStallNanos;
    return stall > 0 && now - p.stallSinceNanos >= stall;
  }

  /**
   * Whether {@code c} must be asked to show life: nothing inbound (no frame, no pong) for a
   * heartbeat interval, and not asked within the last interval.
   */
  private boolean probeDue(ConnectionState c, long now) {
    long hb = hooks.config.heartbeatNanos;
    return now - c.lastInboundAtNanos >= hb && now - c.lastProbeAtNanos >= hb;
  }

  private boolean heartbeatDue(Outbox.Pipe p, long now) {
    if (p.sentSinceTick || p.lastSendAtNanos == 0) {
      p.sentSinceTick = false;
      p.lastSendAtNanos = now;
      return false;
    }
    if (now - p.lastSendAtNanos >= hooks.config.heartbeatNanos) {
      p.lastSendAtNanos = now;
      return true;
    }
    return false;
  }
}
