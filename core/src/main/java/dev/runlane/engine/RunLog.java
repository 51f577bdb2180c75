package dev.runlane.engine;

import java.util.function.Consumer;

/**
 * Where one run's sequenced frames are kept for resume: appended in seq order, read by range,
 * trimmed from the oldest end to stay within a count and a byte bound. The in-memory engine keeps a
 * ring per run; a cluster engine keeps a stream per run (Redis: {@code XADD} with the entry id
 * derived from the seq, {@code XRANGE} from {@code lastSeq + 1}, {@code MAXLEN} and a byte budget).
 *
 * <p><b>Thread safety:</b> single writer. Every method is called by the owning run under its lock
 * (see {@code docs/design/engine.md}); an implementation needs no locking of its own, and must not
 * block for long: it sits on the publish path.
 */
public interface RunLog {

  /**
   * Appends the frame of {@code seq}, which is always {@link #head()} + 1, then trims from the
   * oldest end to the log's bounds (the newest frame is always kept). The frame carries its {@link
   * EncodedFrame#meta()} ({@link FrameMeta.Type#EVENT} or {@link FrameMeta.Type#TERMINAL} with
   * this seq), which a cluster engine stores beside the payload.
   *
   * @throws EngineUnavailableException if the store cannot be reached: nothing was appended and
   *     the head did not move (the publish is refused; the caller may retry the same seq)
   * @throws RunFencedException if the run's end was recorded by another call: only the winner's
   *     terminal frame is appended after an end
   */
  void append(long seq, EncodedFrame frame);


  /**
   * Writes an unsequenced frame of the run for other nodes' recipients: an approval request or
   * resolution, or a status ({@link EncodedFrame#meta()} says which). Takes no seq and is never
   * replayed; a {@link RunFeed} tail hands it in write order relative to the appended frames, and
   * the engine tracks pending approvals from it for {@link RunLogView#pendingApprovals()}. Called
   * under the run's lock like {@link #append}. An engine whose runs are all local ignores it.
   *
   * @throws EngineUnavailableException if the store cannot be reached (an approval is then not
   *     raised; a status is dropped)
   */
  default void signal(EncodedFrame frame) {}

  /** The newest seq appended, 0 if none. */
  long head();

  /** The oldest seq still held; {@link #head()} + 1 when nothing is held. */
  long oldest();

  /**
   * Hands the held frames of {@code from..to} (clamped to what is held) to {@code sink}, in seq
   * order, without gaps: one range read.
   */
  void read(long from, long to, Consumer<EncodedFrame> sink);

  /**
   * Payload bytes held in this process's memory (counted against {@code maxRetainedBytes}); a
   * cluster engine that keeps the frames only in its store reports 0 and bounds the store itself.
   */
  long retainedBytes();

  /** Frames held. */
  default long retainedFrames() {
    return head() - oldest() + 1;
  }

  /**
   * Evicts the oldest frames until at most {@code maxBytes} payload bytes are held, never the
   * newest frame (a process-wide retention budget trims running runs this way).
   */
  void trim(long maxBytes);

  /**
   * Drops everything (on eviction) so the frames can be collected; head stays where it was. A
   * cluster engine drops only what this node holds in memory: the store's copy is kept for the
   * run record's retention (see {@link RunDirectory#end}), for other nodes and later resumes.
   */
  void clear();
}
