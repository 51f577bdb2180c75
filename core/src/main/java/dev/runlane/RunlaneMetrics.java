package dev.runlane;

import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Lane;

/**
 * A small listener a host bridges to its metrics system (Micrometer, Prometheus, …). All methods
 * default to no-ops.
 *
 * <p><b>Thread safety:</b> called concurrently from any Runlane thread, never under a Runlane lock;
 * must be fast and must not throw (exceptions are logged and ignored).
 */
public interface RunlaneMetrics {

  /** A connection left, with the reason Runlane closed it for, or the reason the host reported. */
  default void connectionClosed(String connectionId, CloseReason reason) {}

  /**
   * Periodic sample of one connection's outbox, at every housekeeping tick (about once a second,
   * or as often as the heartbeat interval if shorter).
   */
  default void connectionSample(ConnectionStats stats) {}

  /** A run ended (also delivered to {@link RunListener}s). */
  default void runEnded(RunOutcome outcome) {}

  /**
   * A subscribe was acknowledged with {@code status} ({@link ResumeStatus#EXACT}, {@link
   * ResumeStatus#TRUNCATED}, …): count recoveries, alert on truncation.
   */
  default void subscribed(String connectionId, ResumeStatus status) {}

  /** A protocol error was sent to a connection. */
  default void protocolError(String connectionId, ErrorCode code) {}

  /**
   * Whether this listener wants {@link #deliveryLatency}. Read once, when Runlane is built. The
   * default, false, costs nothing: Runlane then reads no clock per publish or per send.
   */
  default boolean timesDeliveries() {
    return false;
  }

  /**
   * A live frame of a run reached a connection: its transport send succeeded {@code latencyNanos}
   * after the run published it (both read from the Runlane's {@link TimeSource}), so the figure
   * includes the engine's write, the wait in the connection's outbox and the transport's send.
   * Called only if {@link #timesDeliveries()}, once per recipient of each event, terminal event,
   * approval and status frame the connection received live; called on the thread that completed
   * the send (a transport's thread, or the publishing thread when the send completes at once).
   *
   * <p>Not reported: frames replayed on a subscribe (their latency would be the age of the event,
   * not a delivery's), frames no run publishes (acks, errors, notices, heartbeats), and sends that
   * failed. In a cluster, a frame that a run on another node published is timed from when this node
   * received it from the engine.
   *
   * @param lane the lane the frame travelled on ({@link Lane#CONTROL} for approvals)
   */
  default void deliveryLatency(Lane lane, long latencyNanos) {}
}
