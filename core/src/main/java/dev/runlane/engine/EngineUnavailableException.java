package dev.runlane.engine;

/**
 * The engine's store cannot be reached (or did not answer within the engine's own bounded
 * timeout). Thrown by any engine call that needs the store; core turns it into a typed refusal
 * ({@code ENGINE_UNAVAILABLE}) or a stable error to the client, never into a blocked publisher
 * or an exception on a transport's thread. An engine must fail fast: it never blocks a caller
 * longer than its configured command timeout.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public class EngineUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** An unavailable store, with what was being done. */
  public EngineUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }

  /** An unavailable store, with what was being done. */
  public EngineUnavailableException(String message) {
    super(message);
  }
}
