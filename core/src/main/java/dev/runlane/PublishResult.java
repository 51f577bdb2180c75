package dev.runlane;

/**
 * The answer to {@link RunHandle#publish}: the seq the event was recorded under, or why it was
 * dropped (a dropped event takes no seq and reaches nobody).
 *
 * <p><b>Thread safety:</b> immutable.
 *
 * @param seq the event's seq, or {@code -1} when dropped
 * @param status what happened
 */
public record PublishResult(long seq, Status status) {

  /** What happened to a published event. */
  public enum Status {
    /** Recorded under {@link #seq()} and handed to every recipient's outbox. */
    RECORDED,
    /** Dropped: the run has ended or is being cancelled. */
    DROPPED_RUN_ENDED,
    /** Dropped: the codec threw while encoding it (logged with the run id). */
    DROPPED_ENCODE_FAILED
  }

  static final PublishResult ENDED = new PublishResult(-1, Status.DROPPED_RUN_ENDED);
  static final PublishResult ENCODE_FAILED = new PublishResult(-1, Status.DROPPED_ENCODE_FAILED);

  /** Whether the event was recorded. */
  public boolean recorded() {
    return status == Status.RECORDED;
  }
}
