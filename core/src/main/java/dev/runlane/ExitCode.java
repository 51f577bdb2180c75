package dev.runlane;

/**
 * The exit codes Runlane gives a run's end ({@link RunOutcome#exitCode()}), named after the shell
 * conventions agent runtimes already use. A runtime may end a failed run with any other code.
 *
 * <p><b>Thread safety:</b> constants only.
 */
public final class ExitCode {
  /** Completed normally. */
  public static final int OK = 0;
  /** Failed: the runtime threw, died, reported no end, or the server shut down. */
  public static final int FAILED = 1;
  /** Failed because the run's timeout expired (as {@code timeout(1)} reports). */
  public static final int TIMED_OUT = 124;
  /** Aborted by a principal (as a shell reports an interrupt, 128 + SIGINT). */
  public static final int ABORTED = 130;

  private ExitCode() {}
}
