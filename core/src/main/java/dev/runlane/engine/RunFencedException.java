package dev.runlane.engine;

/**
 * A write to a run's log after the run's end was recorded by another call (on any node): the
 * writer lost the run (a node that froze, was declared lost, and woke up). The only append an
 * engine accepts after {@link RunDirectory#end} is the terminal frame of the call that won it, at
 * the recorded terminal seq. Core turns it into {@code RUN_ENDED} and ends its local copy of the
 * run with the recorded outcome.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public class RunFencedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** A refused write to {@code runId}'s log. */
  public RunFencedException(String runId) {
    super("run " + runId + " was ended by another call; the write was refused");
  }
}
