package dev.runlane;

import dev.runlane.transport.CloseReason;

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
}
