package dev.runlane;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The answer to an abort: the run was aborted by this call, or a typed refusal ({@link
 * ErrorCode#NO_ACTIVE_RUN}, {@link ErrorCode#FORBIDDEN}).
 *
 * <p><b>Thread safety:</b> immutable.
 *
 * @param aborted whether this call aborted the run
 * @param refusal the refusal code when not aborted
 * @param runId the run concerned, when one was found
 */
public record AbortResult(boolean aborted, @Nullable ErrorCode refusal, @Nullable String runId) {

  static AbortResult ok(String runId) {
    return new AbortResult(true, null, runId);
  }

  static AbortResult refused(ErrorCode code, @Nullable String runId) {
    return new AbortResult(false, Objects.requireNonNull(code), runId);
  }
}
