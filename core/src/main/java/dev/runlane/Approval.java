package dev.runlane;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A pending tool approval raised by a run: sticky until resolved exactly once.
 *
 * <p><b>Thread safety:</b> immutable (the {@code payload} object is the host's).
 *
 * @param approvalId a stable, unguessable id
 * @param runId the run that asked
 * @param sessionId its session
 * @param payload what to show the user (tool name, arguments, …), encoded by the codec
 * @param expiresAtEpochMillis when it expires on its own, or 0 for never
 */
public record Approval(
    String approvalId,
    String runId,
    String sessionId,
    @Nullable Object payload,
    long expiresAtEpochMillis) {
  public Approval {
    Objects.requireNonNull(approvalId, "approvalId");
    Objects.requireNonNull(runId, "runId");
    Objects.requireNonNull(sessionId, "sessionId");
  }

  /** How a pending approval was resolved. */
  public enum Resolution {
    /** A connection answered it; the decision is the client's. */
    ANSWERED,
    /** It expired unanswered. */
    EXPIRED,
    /** Its run ended first. */
    RUN_ENDED
  }

  /**
   * Receives the one resolution of an approval.
   *
   * <p><b>Thread safety:</b> called once, on the thread that resolved it (a connection's inbound
   * thread, the timer thread or the thread that ended the run), never under a Runlane lock.
   */
  @FunctionalInterface
  public interface Callback {
    /**
     * The approval was resolved.
     *
     * @param approval the approval
     * @param resolution how
     * @param decision the client's decision object (as decoded), or null unless {@link
     *     Resolution#ANSWERED}
     * @param principal who answered, or null unless answered
     */
    void resolved(
        Approval approval,
        Resolution resolution,
        @Nullable Object decision,
        @Nullable String principal);
  }
}
