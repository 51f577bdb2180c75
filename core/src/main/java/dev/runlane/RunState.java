package dev.runlane;

/**
 * The state of a run. A run is {@link #RUNNING} until exactly one terminal transition to {@link
 * #COMPLETED}, {@link #ABORTED} or {@link #FAILED}; see {@code docs/concepts/lifecycle.md}.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public enum RunState {
  /** Accepting events. */
  RUNNING,
  /**
   * An abort or expiry was accepted and the host's cancel hook is being called; the runtime's
   * events and end calls are already dropped. Ends as {@link #ABORTED} or {@link #FAILED}.
   */
  CANCELLING,
  /** Ended normally. */
  COMPLETED,
  /** Ended by an abort. */
  ABORTED,
  /** Ended by a failure: runtime error, timeout, runtime death, or no end reported. */
  FAILED;

  /** Whether this state is an end. */
  public boolean isTerminal() {
    return this == COMPLETED || this == ABORTED || this == FAILED;
  }
}
