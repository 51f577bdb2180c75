package dev.runlane;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * How a run ended: the data of its terminal event and of {@link RunListener#onRunEnded}.
 *
 * <p><b>Thread safety:</b> immutable (the {@code result} object is the host's).
 *
 * @param runId the run
 * @param sessionId its session
 * @param epoch the run instance's epoch
 * @param owner the principal that started it
 * @param state {@link RunState#COMPLETED}, {@link RunState#ABORTED} or {@link RunState#FAILED}
 * @param failureReason why it failed; null unless failed
 * @param exitCode 0 for completed, the runtime's code otherwise (1 by default for failures, 130
 *     for aborts)
 * @param message a human-readable detail, or null
 * @param result the host's result object passed to {@link RunHandle#complete(Object)}, or null
 * @param terminalSeq the seq of the terminal event (the run's last seq)
 * @param abortedBy the principal that aborted the run, or null
 */
public record RunOutcome(
    String runId,
    String sessionId,
    String epoch,
    String owner,
    RunState state,
    @Nullable FailureReason failureReason,
    int exitCode,
    @Nullable String message,
    @Nullable Object result,
    long terminalSeq,
    @Nullable String abortedBy) {
  public RunOutcome {
    Objects.requireNonNull(runId, "runId");
    Objects.requireNonNull(sessionId, "sessionId");
    Objects.requireNonNull(epoch, "epoch");
    Objects.requireNonNull(owner, "owner");
    if (!state.isTerminal()) {
      throw new IllegalArgumentException("not a terminal state: " + state);
    }
  }
}
