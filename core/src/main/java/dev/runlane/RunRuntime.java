package dev.runlane;

import org.jspecify.annotations.Nullable;

/**
 * The host's agent or model runtime, started by Runlane for a client's start command, or by the
 * host through {@link Runlane#runGuarded}.
 *
 * <p>The runtime publishes events through the {@link RunHandle} and ends the run with {@link
 * RunHandle#complete} or {@link RunHandle#fail}. Runlane guarantees an end (the safety net): if
 * {@link #run} returns or throws without ending the run, that run instance, and only it, is
 * failed. Aborts reach the runtime through {@link #cancel}.
 *
 * <p><b>Thread safety:</b> {@link #run} is called on the configured runtime executor, one call per
 * run; {@link #cancel} may be called from any thread concurrently with {@link #run}, never under a
 * Runlane lock, at most once per run.
 */
public interface RunRuntime {

  /**
   * Executes the run to its end, publishing events as it goes.
   *
   * @param run the run's handle
   * @param input the client's input (the decoded start command's payload), or null
   */
  void run(RunHandle run, @Nullable Object input) throws Exception;

  /**
   * Asks the runtime to stop the run (abort or expiry). Runlane ends the run on the runtime's
   * behalf right after this returns; whatever the runtime publishes afterwards is dropped.
   */
  default void cancel(RunHandle run) {}
}
