package dev.runlane;

/**
 * The typed result of a subscribe with {@code lastSeq}, carried by {@link SubscribeAck}. See
 * {@code docs/concepts/resume.md}.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public enum ResumeStatus {
  /** Every event after {@code lastSeq} is replayed, then the live stream: nothing missed. */
  EXACT,
  /**
   * Events after {@code lastSeq} were already evicted: the replay starts at {@link
   * SubscribeAck#replayFrom()} (the oldest seq still held). The client must refetch the gap.
   */
  TRUNCATED,
  /**
   * The epoch the client sent is not this run instance's (another run of the session, or a
   * restarted server): its {@code lastSeq} is meaningless, so the run is replayed from its oldest
   * retained event ({@link SubscribeAck#truncated()} says whether that is seq 1).
   */
  EPOCH_CHANGED,
  /**
   * {@code lastSeq} is ahead of the run's head: the client's seq belongs to something else. Treated
   * like {@link #EPOCH_CHANGED}: replay from the oldest retained event.
   */
  AHEAD_OF_HEAD,
  /**
   * The run has ended: the missed tail including the terminal event is replayed (unless the host
   * turned off replay of finished runs), then nothing more of this run.
   */
  FINISHED,
  /**
   * The client followed a session that holds no run, and had no position in it: nothing is lost,
   * the session's next run will be delivered from its {@code run.started} event.
   */
  NO_RUN_YET,
  /**
   * The position the client holds is gone: no such run (never existed, evicted after its
   * retention, or the server restarted), or the session it named a run of holds none.
   */
  UNKNOWN_RUN
}
