package dev.runlane.codec;

import dev.runlane.ErrorCode;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Thrown by {@link WireCodec#decode} for input it cannot accept; Runlane answers the connection
 * with a {@link Outbound.ProtocolError} carrying {@link #code()} and keeps the connection open.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public final class ProtocolException extends Exception {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;
  private final @Nullable String ref;

  /** Creates an exception with a stable code and a message for the client. */
  public ProtocolException(ErrorCode code, String message) {
    this(code, message, null);
  }

  /** Creates an exception with the client's correlation id, when the codec could read it. */
  public ProtocolException(ErrorCode code, String message, @Nullable String ref) {
    super(message, null, false, false);
    this.code = Objects.requireNonNull(code, "code");
    this.ref = ref;
  }

  /** The stable code. */
  public ErrorCode code() {
    return code;
  }

  /** The client's correlation id, or null. */
  public @Nullable String ref() {
    return ref;
  }
}
