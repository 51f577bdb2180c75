package dev.runlane;

/**
 * Called exactly once per run with its outcome, whether or not any connection is attached: the
 * place to persist a turn once (not once per tab, and also when every tab is closed).
 *
 * <p><b>Thread safety:</b> called on the thread that ended the run, after the terminal event was
 * recorded and handed to the recipients' outboxes, never under a Runlane lock. An exception is
 * logged and ignored.
 */
@FunctionalInterface
public interface RunListener {
  /** The run ended. */
  void onRunEnded(RunOutcome outcome);
}
