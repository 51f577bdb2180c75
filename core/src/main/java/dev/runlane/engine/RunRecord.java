package dev.runlane.engine;

import dev.runlane.RunOutcome;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What the directory keeps of one run instance, so that any node can find it: recorded by {@link
 * RunDirectory#claim} when the run starts and completed with its outcome by {@link
 * RunDirectory#end}. A cluster engine keeps it beside the run's log (Redis: the run's hash) for as
 * long as the log is kept; an ended record lives {@code retentionMillis} after its end.
 *
 * <p><b>Thread safety:</b> immutable (the outcome's {@code result} object is the host's, and may be
 * null on another node: an engine that crosses a process boundary need not carry it, the terminal
 * frame's bytes do).
 *
 * @param runId the run
 * @param sessionId its session
 * @param epoch the run instance's epoch
 * @param nodeId the {@link Engine#nodeId()} of the node running its runtime
 * @param owner the principal that started it
 * @param sessionOwner the owner of the session it was started in (a subscribe naming the run is
 *     authorized against it)
 * @param retentionMillis how long the record and the run's log are kept after the end
 * @param outcome how it ended; null while it runs
 */
public record RunRecord(
    String runId,
    String sessionId,
    String epoch,
    String nodeId,
    String owner,
    String sessionOwner,
    long retentionMillis,
    @Nullable RunOutcome outcome) {
  public RunRecord {
    Objects.requireNonNull(runId, "runId");
    Objects.requireNonNull(sessionId, "sessionId");
    Objects.requireNonNull(epoch, "epoch");
    Objects.requireNonNull(nodeId, "nodeId");
    Objects.requireNonNull(owner, "owner");
    Objects.requireNonNull(sessionOwner, "sessionOwner");
  }

  /** Whether the run has ended. */
  public boolean ended() {
    return outcome != null;
  }

  /** This record with its end recorded. */
  public RunRecord withOutcome(RunOutcome o) {
    return new RunRecord(runId, sessionId, epoch, nodeId, owner, sessionOwner, retentionMillis, o);
  }
}
