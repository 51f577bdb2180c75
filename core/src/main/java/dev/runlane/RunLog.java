package dev.runlane;

import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The seam between a run and where its sequenced frames are kept. The in-memory {@link ReplayRing}
 * is the embedded default; a cluster engine (Redis Streams) will implement the same contract so a
 * client can resume on any node.
 *
 * <p><b>Thread safety:</b> single writer: every method is called under the owning run's lock.
 */
interface RunLog {

  /** Appends the frame of {@code seq}, which is always {@link #head()} + 1. */
  void append(long seq, OutFrame frame);

  /** The newest seq appended, 0 if none. */
  long head();

  /** The oldest seq still held; {@link #head()} + 1 when nothing is held. */
  long oldest();

  /** The frame of {@code seq} if still held. */
  @Nullable OutFrame get(long seq);

  /** Hands the held frames of {@code from..to} (clamped to what is held) to {@code sink}, in order. */
  default void forEach(long from, long to, Consumer<OutFrame> sink) {
    long start = Math.max(from, oldest());
    long end = Math.min(to, head());
    for (long s = start; s <= end; s++) {
      OutFrame f = get(s);
      if (f != null) {
        sink.accept(f);
      }
    }
  }

  /** Drops everything (on eviction) so the frames can be collected. */
  void clear();
}
