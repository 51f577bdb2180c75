package dev.runlane;

import java.util.Objects;

/**
 * Thrown by {@link Result#orElseThrow()} when the operation was refused.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public final class RefusedException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final ErrorCode code;

  /** Creates the exception for a refusal. */
  public RefusedException(ErrorCode code, String message) {
    super(code + ": " + message);
    this.code = Objects.requireNonNull(code, "code");
  }

  /** The refusal's stable code. */
  public ErrorCode code() {
    return code;
  }
}
