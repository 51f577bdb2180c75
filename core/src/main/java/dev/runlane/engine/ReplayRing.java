package dev.runlane.engine;

import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A bounded ring of a run's most recent sequenced frames: at most {@code capacity} frames and, if
 * set, at most {@code byteBudget} payload bytes (the newest frame is always kept). Appending evicts
 * the oldest. Memory is bounded by configuration, not by traffic.
 *
 * <p>The slot array starts small and doubles up to {@code capacity} as the run grows, so a run that
 * publishes a few events does not pay for a full ring.
 *
 * <p><b>Thread safety:</b> not thread-safe; a single writer (the owning run, under its lock).
 */
final class ReplayRing implements RunLog {
  private static final int INITIAL_SLOTS = 8;

  private final int capacity;
  private @Nullable EncodedFrame[] slots;
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
    this.capacity = capacity;
    this.slots = new EncodedFrame[Math.min(capacity, INITIAL_SLOTS)];
    this.byteBudget = byteBudget;
  }

  private int index(long seq) {
    return (int) ((seq - 1) % slots.length);
  }

  @Override
  public void append(long seq, EncodedFrame frame) {
    if (seq != head + 1) {
      throw new IllegalStateException("append out of order: " + seq + " after " + head);
    }
    int held = (int) (head - oldest + 1);
    if (held == slots.length) {
      if (slots.length < capacity) {
        grow();
      } else {
        evictOldest();
      }
    }
    slots[index(seq)] = frame;
    bytes += frame.bytes();
    head = seq;
    if (byteBudget > 0) {
      while (bytes > byteBudget && oldest < head) {
        evictOldest();
      }
    }
  }

  private void grow() {
    @Nullable EncodedFrame[] next = new EncodedFrame[(int) Math.min(capacity, (long) slots.length * 2)];
    for (long s = oldest; s <= head; s++) {
      next[(int) ((s - 1) % next.length)] = slots[index(s)];
    }
    slots = next;
  }

  private void evictOldest() {
    int i = index(oldest);
    EncodedFrame f = slots[i];
    if (f != null) {
      bytes -= f.bytes();
    }
    slots[i] = null;
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

  @Override
  public long retainedBytes() {
    return bytes;
  }

  @Override
  public void trim(long maxBytes) {
    while (bytes > maxBytes && oldest < head) {
      evictOldest();
    }
  }

  @Override
  public void read(long from, long to, Consumer<EncodedFrame> sink) {
    long start = Math.max(from, oldest);
    long end = Math.min(to, head);
    for (long s = start; s <= end; s++) {
      EncodedFrame f = slots[index(s)];
      if (f != null) {
        sink.accept(f);
      }
    }
  }

  /** Frames currently held. */
  int size() {
    return (int) (head - oldest + 1);
  }

  /** Slots currently allocated (grows up to the capacity). */
  int allocatedSlots() {
    return slots.length;
  }

  /** The frame of {@code seq} if still held. */
  @Nullable EncodedFrame get(long seq) {
    if (seq < oldest || seq > head) {
      return null;
    }
    return slots[index(seq)];
  }

  @Override
  public void clear() {
    slots = new EncodedFrame[Math.min(capacity, INITIAL_SLOTS)];
    bytes = 0;
    oldest = head + 1;
  }
}
