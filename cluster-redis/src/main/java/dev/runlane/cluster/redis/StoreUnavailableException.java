package dev.runlane.cluster.redis;

import dev.runlane.engine.EngineUnavailableException;

/**
 * Redis could not be reached in time, refused a command, or a pipelined write failed: the engine
 * call did not take effect (or, for a pipelined append, an earlier one did not).
 *
 * <p><b>Thread safety:</b> immutable.
 */
final class StoreUnavailableException extends EngineUnavailableException {
  private static final long serialVersionUID = 1L;

  StoreUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }

  StoreUnavailableException(String message) {
    super(message);
  }
}
