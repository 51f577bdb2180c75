package dev.runlane;

import java.util.Objects;

/**
 * The answer to starting a run: {@link Started} with the new run, or {@link Refused} with a stable
 * code and no side effect.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public sealed interface StartResult permits StartResult.Started, StartResult.Refused {

  /** The run was started; its "started" event is seq 1. */
  record Started(RunHandle run) implements StartResult {
    public Started {
      Objects.requireNonNull(run, "run");
    }
  }

  /**
   * The run was not started: {@link ErrorCode#RUN_IN_PROGRESS}, {@link ErrorCode#FORBIDDEN},
   * {@link ErrorCode#SESSION_NOT_FOUND}, {@link ErrorCode#SESSION_ID_REQUIRED} or {@link
   * ErrorCode#UNSUPPORTED}.
   */
  record Refused(ErrorCode code, String message) implements StartResult {
    public Refused {
      Objects.requireNonNull(code, "code");
      Objects.requireNonNull(message, "message");
    }
  }
}
