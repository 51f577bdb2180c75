package dev.runlane;

/**
 * Why a run {@linkplain RunState#FAILED failed}.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public enum FailureReason {
  /** The runtime reported an error. */
  RUNTIME_ERROR,
  /** The runtime task threw. */
  RUNTIME_THREW,
  /** The runtime task returned without ending its run (the safety net ended it). */
  NO_END_REPORTED,
  /** The host reported that the runtime behind the run died. */
  RUNTIME_DIED,
  /** The run passed its deadline (run timeout plus grace). */
  TIMEOUT,
  /** Runlane is shutting down. */
  SHUTDOWN,
  /**
   * The node running the run's runtime was lost (it stopped renewing its lease in a cluster
   * engine): a surviving node ended the run.
   */
  NODE_LOST
}
