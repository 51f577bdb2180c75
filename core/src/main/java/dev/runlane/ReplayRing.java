package dev.runlane;

import org.jspecify.annotations.Nullable;

/**
 * A bounded ring of a run's most recent sequenced frames: at most {@code capacity} frames and, if
 * set, at most {@code byteBudget} payload bytes (the newest frame is always kept). Appending evicts
 * the oldest. Memory is bounded by configuration, not by traffic.
 *
 * <p><b>Thread safety:</b> not thread-safe; a single writer (the owning run, under its lock).
 */
final class ReplayRing implements RunLog {
  private final @Nullable OutFrame[] slots;
  private final int[] sizes;
  private final long byteBudget;
  private long head;
  private long oldest = 1;
  private long bytes;

  /**
   * @param capacity maximum frames held, at least 1
   * @param byteBudget maximum payload bytes held, or 0 for no byte limit
   */
  ReplayRing(int capacity, long byteBudget) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity < 1: " + capacity);
    }
    this.slots = new OutFrame[capacity];
    this.sizes = new int[capacity];
    this.byteBudget = byteBudget;
  }

  private int index(long seq) {
    return (int) ((seq - 1) % slots.length);
  }

  @Override
  public void append(long seq, OutFrame frame) {
    if (seq != head + 1) {
      throw new IllegalStateException("append out of order: " + seq + " after " + head);
    }
    if (head - oldest + 1 == slots.length) {
      evictOldest();
    }
    int i = index(seq);
    int size = frame.bytes;
    slots[i] = frame;
    sizes[i] = size;
    bytes += size;
    head = seq;
    if (byteBudget > 0) {
      while (bytes > byteBudget && oldest < head) {
        evictOldest();
      }
    }
  }

  private void evictOldest() {
    int i = index(oldest);
    slots[i] = null;
    bytes -= sizes[i];
    sizes[i] = 0;
    oldest++;
  }

  @Override
  public long head() {
    return head;
  }

  @Override
  public long oldest() {
    return oldest;
  }

  /** Payload bytes currently held. */
  long bytes() {
    return bytes;
  }

  /** Frames currently held. */
  int size() {
    return (int) (head - oldest + 1);
  }

  @Override
  public @Nullable OutFrame get(long seq) {
    if (seq < oldest || seq > head) {
      return null;
    }
    return slots[index(seq)];
  }

  @Override
  public void clear() {
    java.util.Arrays.fill(slots, null);
    java.util.Arrays.fill(sizes, 0);
    bytes = 0;
    oldest = head + 1;
  }
}
