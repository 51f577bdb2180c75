package dev.runlane;

/**
 * The answer to {@link Runlane#attach}.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public enum AttachResult {
  /** The connection now receives the run's future events. */
  ATTACHED,
  /** No such (live) connection. */
  UNKNOWN_CONNECTION,
  /** No such run, or it has been evicted. */
  UNKNOWN_RUN,
  /** The run has ended: nothing more will be delivered. */
  RUN_ENDED,
  /** The authorizer refused. */
  FORBIDDEN
}
