package dev.runlane;

import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A request to start a run in a session on behalf of a principal.
 *
 * <pre>{@code
 * runlane.startRun(StartRequest.of("session-42", "alice").fromConnection(connId).withInput(prompt));
 * }</pre>
 *
 * <p><b>Thread safety:</b> immutable.
 *
 * @param sessionId the session
 * @param principal who starts it (becomes the run's owner)
 * @param connectionId the connection that started it (becomes a recipient), or null; it must be
 *     a connection of {@code principal} (otherwise the start is refused with {@link
 *     ErrorCode#FORBIDDEN}); an unknown or closed connection is ignored
 * @param input the runtime's input, carried by the {@code run.started} event, or null
 * @param timeout the run's deadline (plus the configured grace), or null for the default
 * @param followSession whether {@code connectionId} also follows the session's later runs
 */
public record StartRequest(
    String sessionId,
    String principal,
    @Nullable String connectionId,
    @Nullable Object input,
    @Nullable Duration timeout,
    boolean followSession) {
  public StartRequest {
    Objects.requireNonNull(sessionId, "sessionId");
    Objects.requireNonNull(principal, "principal");
    if (timeout != null && timeout.isNegative()) {
      throw new IllegalArgumentException("timeout must not be negative: " + timeout);
    }
  }

  /** A request with no connection, no input and the default timeout. */
  public static StartRequest of(String sessionId, String principal) {
    return new StartRequest(sessionId, principal, null, null, null, false);
  }

  /** The same request, with the starting connection as a recipient. */
  public StartRequest fromConnection(String connectionId) {
    return new StartRequest(sessionId, principal, connectionId, input, timeout, followSession);
  }

  /** The same request, with an input. */
  public StartRequest withInput(@Nullable Object input) {
    return new StartRequest(sessionId, principal, connectionId, input, timeout, followSession);
  }

  /**
   * The same request, with a run timeout (clamped to the configured bounds, plus the grace); {@link
   * Duration#ZERO} means this run has no deadline, whatever the builder's default.
   */
  public StartRequest withTimeout(Duration timeout) {
    return new StartRequest(sessionId, principal, connectionId, input, timeout, followSession);
  }

  /** The same request; the starting connection also follows the session. */
  public StartRequest following() {
    return new StartRequest(sessionId, principal, connectionId, input, timeout, true);
  }
}
