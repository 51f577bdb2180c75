package dev.runlane;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a connection subscribes to: a session (and so its current and every later run) or one run,
 * with the client's resume position.
 *
 * <p><b>Thread safety:</b> immutable.
 *
 * @param sessionId the session; required
 * @param runId a specific run of that session, or null for "the session's current run, and follow
 *     the session"
 * @param lastSeq the last seq the client processed, 0 for none (a negative one is refused by
 *     subscribe with {@code INVALID_PAYLOAD}, like any other bad argument)
 * @param epoch the epoch the client's {@code lastSeq} belongs to, or null if it has none
 */
public record SubscribeTarget(
    String sessionId, @Nullable String runId, long lastSeq, @Nullable String epoch) {
  public SubscribeTarget {
    Objects.requireNonNull(sessionId, "sessionId");
  }

  /** Follow a session from its current run, resuming after {@code lastSeq} of {@code epoch}. */
  public static SubscribeTarget session(String sessionId, long lastSeq, @Nullable String epoch) {
    return new SubscribeTarget(sessionId, null, lastSeq, epoch);
  }
}
