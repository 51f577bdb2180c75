package dev.runlane;

import org.jspecify.annotations.Nullable;

/**
 * The id grammar, one rule for wire commands and host calls alike (see {@code
 * docs/reference/protocol.md#ids}): a session, run, approval or connection id is 1 to {@code
 * maxIdLength} UTF-16 units long, not blank, with no control character (C0, DEL, C1) and no unpaired
 * surrogate. A missing or blank session id is refused with {@link ErrorCode#SESSION_ID_REQUIRED};
 * any other id outside the grammar with {@link ErrorCode#INVALID_PAYLOAD}. Ids are compared exactly
 * as sent, never normalized, so the id the server uses is the one the client sent.
 *
 * <p><b>Thread safety:</b> stateless.
 */
final class Ids {
  private Ids() {}

  /** Null when {@code sessionId} is valid, else the refusal. */
  static <T> Result.@Nullable Refused<T> checkSession(@Nullable String sessionId, int maxLength) {
    if (sessionId == null || sessionId.isBlank()) {
      return new Result.Refused<>(ErrorCode.SESSION_ID_REQUIRED, "a session id is required");
    }
    return check("session id", sessionId, maxLength);
  }

  /** Null when {@code id} is valid, else the refusal ({@link ErrorCode#INVALID_PAYLOAD}). */
  static <T> Result.@Nullable Refused<T> check(String what, @Nullable String id, int maxLength) {
    String problem = problem(id, maxLength);
    return problem == null ? null : new Result.Refused<>(ErrorCode.INVALID_PAYLOAD, what + " " + problem);
  }

  /** What is wrong with {@code id}, or null if nothing. */
  static @Nullable String problem(@Nullable String id, int maxLength) {
    if (id == null || id.isBlank()) {
      return "is missing or blank";
    }
    int n = id.length();
    if (n > maxLength) {
      return "is longer than " + maxLength + " characters";
    }
    for (int i = 0; i < n; i++) {
      char ch = id.charAt(i);
      if (Character.isISOControl(ch)) {
        return "contains a control character";
      }
      if (Character.isHighSurrogate(ch)) {
        if (i + 1 < n && Character.isLowSurrogate(id.charAt(i + 1))) {
          i++;
        } else {
          return "contains an unpaired surrogate";
        }
      } else if (Character.isLowSurrogate(ch)) {
        return "contains an unpaired surrogate";
      }
    }
    return null;
  }
}
