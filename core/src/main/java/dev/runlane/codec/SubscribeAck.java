package dev.runlane.codec;

import dev.runlane.Approval;
import dev.runlane.ResumeStatus;
import dev.runlane.RunOutcome;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The acknowledgement of a subscribe, sent on the control lane before any replayed event.
 *
 * <p>The replayed range is {@code replayFrom..replayTo} inclusive (empty when {@code replayFrom >
 * replayTo}); after it the live stream continues at {@code replayTo + 1} while the run is
 * processing. See {@code docs/concepts/resume.md}.
 *
 * <p><b>Thread safety:</b> immutable.
 *
 * @param sessionId the session subscribed to
 * @param runId the run resumed, or null when the session has no run ({@link
 *     ResumeStatus#UNKNOWN_RUN})
 * @param epoch the run's epoch (the client stores it with its lastSeq), or null with no run
 * @param status the typed resume result
 * @param processing whether the run is still running
 * @param headSeq the run's newest seq at the linearization point (0 with no run)
 * @param oldestSeq the oldest seq still held (headSeq + 1 when none is held)
 * @param replayFrom first replayed seq
 * @param replayTo last replayed seq
 * @param truncated whether events the client asked for were already evicted (it must refetch)
 * @param following whether the connection now follows the session's later runs
 * @param pendingApprovals the run's unresolved approvals
 * @param outcome the run's outcome if it has ended, else null
 * @param requestedLastSeq the lastSeq the client sent
 */
public record SubscribeAck(
    String sessionId,
    @Nullable String runId,
    @Nullable String epoch,
    ResumeStatus status,
    boolean processing,
    long headSeq,
    long oldestSeq,
    long replayFrom,
    long replayTo,
    boolean truncated,
    boolean following,
    List<Approval> pendingApprovals,
    @Nullable RunOutcome outcome,
    long requestedLastSeq) {
  public SubscribeAck {
    Objects.requireNonNull(sessionId, "sessionId");
    Objects.requireNonNull(status, "status");
    pendingApprovals = List.copyOf(pendingApprovals);
  }

  /** Number of replayed events. */
  public long replayCount() {
    return Math.max(0, replayTo - replayFrom + 1);
  }
}
