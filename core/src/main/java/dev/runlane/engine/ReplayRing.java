package dev.runlane.engine;

import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.Payload;
import java.nio.ByteBuffer;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A bounded ring of a run's most recent sequenced frames: at most {@code capacity} frames and, if
 * set, at most {@code byteBudget} payload bytes (the newest frame is always kept). Appending evicts
 * the oldest. Memory is bounded by configuration, not by traffic.
 *
 * <p><b>Bytes, not objects.</b> An ordinary event (a {@link FrameMeta.Type#EVENT} frame without a
 * coalescing key) is kept as its payload bytes, copied into one byte array per ring (the slab),
 * plus a few numbers per slot; {@link #read} and {@link #get} rebuild an equal frame from them.
 * So the frame a run publishes dies young with its recipients' sends, and a retained event is not
 * a handful of objects the collector must copy and scan for as long as the ring holds it (on a
 * busy node, that copying is what made G1's young pauses long: see docs/benchmarks.md). Frames
 * whose meta carries host objects (the terminal frame's outcome) are kept as they are.
 *
 * <p>The slab is a ring of variable-sized records in seq order: a record that does not fit before
 * the slab's end starts again at 0 if the oldest record leaves room there, else the records are
 * compacted into a slab a quarter larger than they need. The slot arrays start small and double up
 * to {@code capacity}, so a run that publishes a few events does not pay for a full ring.
 *
 * <p><b>Thread safety:</b> not thread-safe; a single writer (the owning run, under its lock).
 */
final class ReplayRing implements RunLog {
  private static final int INITIAL_SLOTS = 8;
  private static final int INITIAL_SLAB = 64;
  /** The largest slab: about a gigabyte, under the JVM's array limit. */
  private static final long MAX_SLAB = 1L << 30;
  /** A slab larger than this shrinks when it is four times what it holds (after an append or trim). */
  private static final int SHRINK_ABOVE = 4096;
  /** Rebuilt frames of the newest this many seqs are shared by replays (see {@link #rebuilt}). */
  static final int REBUILT_WINDOW = 64;
  private static final byte STREAM = 1;
  private static final byte BINARY = 2;

  private final int capacity;
  private final long byteBudget;
  /** Per slot ({@link #index}): where the record starts in {@link #slab} and its length. */
  private int[] offsets;
  private int[] lengths;
  /** Per slot: {@link #STREAM} if on the stream lane, {@link #BINARY} if a binary payload. */
  private byte[] flags;
  /** Per slot: the frame itself when it is not kept as bytes; null until one needs it. */
  private @Nullable EncodedFrame @Nullable [] kept;
  /**
   * Per slot: the frame last rebuilt from its bytes, so the clients resuming over the same seqs
   * share one object and its derived protocol forms ({@link EncodedFrame#frameFor}). Only the
   * newest {@link #REBUILT_WINDOW} seqs are cached (what a burst of reconnects replays): an append
   * drops the entry that falls out of that window, a trim drops them all. Null until a replay.
   */
  private @Nullable EncodedFrame @Nullable [] rebuilt;
  private byte[] slab;
  /** Where the next record goes in {@link #slab}. */
  private int writeAt;
  private long head;
  private long oldest = 1;
  private long bytes;
  /** Bytes of the records in {@link #slab} (payload bytes of the frames kept as bytes). */
  private long slabHeld;

  /**
   * @param capacity maximum frames held, at least 1
   * @param byteBudget maximum payload bytes held, or 0 for no byte limit
   */
  ReplayRing(int capacity, long byteBudget) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity < 1: " + capacity);
    }
    this.capacity = capacity;
    this.byteBudget = byteBudget;
    int n = Math.min(capacity, INITIAL_SLOTS);
    offsets = new int[n];
    lengths = new int[n];
    flags = new byte[n];
    slab = new byte[0];
  }

  private int index(long seq) {
    return (int) ((seq - 1) % offsets.length);
  }

  /** Whether {@code f} is kept as its bytes (else as the object): an event carrying its meta. */
  private static boolean asBytes(EncodedFrame f, long seq) {
    FrameMeta m = f.meta();
    return f.coalesceKey() == null && m != null && m.type() == FrameMeta.Type.EVENT && m.seq() == seq;
  }

  @Override
  public void append(long seq, EncodedFrame frame) {
    if (seq != head + 1) {
      throw new IllegalStateException("append out of order: " + seq + " after " + head);
    }
    if (size() == offsets.length) {
      if (offsets.length < capacity) {
        growSlots();
      } else {
        evictOldest();
      }
    }
    int i = index(seq);
    Payload p = frame.frame().payload();
    byte f = (byte) ((frame.lane() == Lane.STREAM ? STREAM : 0) | (p instanceof Payload.Binary ? BINARY : 0));
    ByteBuffer src = p instanceof Payload.Text ? ((Payload.Text) p).utf8() : ((Payload.Binary) p).data().duplicate();
    int len = src.remaining();
    if (asBytes(frame, seq) && len <= MAX_SLAB / 2) { // a giant is kept as the object it is
      int at = place(len);
      src.get(slab, at, len);
      offsets[i] = at;
      lengths[i] = len;
      writeAt = at + len;
      slabHeld += len;
      bytes += len;
      if (kept != null) {
        kept[i] = null;
      }
    } else {
      @Nullable EncodedFrame @Nullable [] k = kept;
      if (k == null) {
        k = new EncodedFrame[offsets.length];
        kept = k;
      }
      k[i] = frame;
      offsets[i] = writeAt; // an empty record where the next one would start (see place)
      lengths[i] = 0;
      bytes += frame.bytes();
    }
    flags[i] = f;
    @Nullable EncodedFrame @Nullable [] r = rebuilt;
    if (r != null) {
      r[i] = null;
      if (seq - REBUILT_WINDOW >= oldest) {
        r[index(seq - REBUILT_WINDOW)] = null; // out of the window: rebuilt afresh if replayed again
      }
    }
    head = seq;
    if (byteBudget > 0) {
      while (bytes > byteBudget && oldest < head) {
        evictOldest();
      }
    }
  }

  /**
   * Where a record of {@code len} bytes goes. The held records lie in the circular interval from
   * the oldest slot's offset to {@link #writeAt} (an object slot's offset is where the next record
   * would have started, so the interval may be wider than the bytes, never narrower): the record
   * goes after them, or at 0 if they leave room there, or the slab is compacted (and grown if
   * need be).
   */
  private int place(int len) {
    if (slab.length > SHRINK_ABOVE && slab.length / 4 > slabHeld + len) {
      compact(len); // the run's events got smaller or fewer: give back what a burst made it take
      return writeAt;
    }
    if (slabHeld == 0) {
      writeAt = 0;
      for (long s = oldest; s <= head; s++) {
        offsets[index(s)] = 0; // object slots only, holding no bytes: the interval starts at 0 again
      }
      if (len <= slab.length) {
        return 0;
      }
    } else {
      int start = offsets[index(oldest)];
      if (start < writeAt) { // not wrapped: held in [start, writeAt)
        if (writeAt + len <= slab.length) {
          return writeAt;
        }
        if (len <= start) {
          return 0; // wraps; the tail after writeAt is free again once the oldest records go
        }
      } else if (start > writeAt && writeAt + len <= start) { // wrapped: free in [writeAt, start)
        return writeAt;
      }
    }
    compact(len);
    return writeAt;
  }

  /**
   * Copies the held records to the start of a new slab with room for {@code len} more bytes and a
   * quarter as much again (at least {@value #INITIAL_SLAB} bytes, in steps of 64): room enough to
   * wrap around without compacting every few appends, little enough that a full ring's slab stays
   * close to what it holds. The same rule shrinks the slab ({@link #place}).
   */
  private void compact(int len) {
    long need = slabHeld + len;
    while (need + need / 4 > MAX_SLAB && slabHeld > 0) {
      evictOldest(); // one array's limit is a bound like any other: the oldest go first
      need = slabHeld + len;
    }
    long cap = Math.min(MAX_SLAB, Math.max(INITIAL_SLAB, (need + need / 4 + 63) & ~63L));
    byte[] next = new byte[(int) cap];
    int at = 0;
    for (long s = oldest; s <= head; s++) {
      int i = index(s);
      System.arraycopy(slab, offsets[i], next, at, lengths[i]);
      offsets[i] = at;
      at += lengths[i];
    }
    slab = next;
    writeAt = at;
  }

  private void growSlots() {
    int n = (int) Math.min(capacity, (long) offsets.length * 2);
    int[] nOffsets = new int[n];
    int[] nLengths = new int[n];
    byte[] nFlags = new byte[n];
    @Nullable EncodedFrame @Nullable [] oldKept = kept;
    @Nullable EncodedFrame @Nullable [] nKept = oldKept == null ? null : new EncodedFrame[n];
    @Nullable EncodedFrame @Nullable [] oldRebuilt = rebuilt;
    @Nullable EncodedFrame @Nullable [] nRebuilt = oldRebuilt == null ? null : new EncodedFrame[n];
    for (long s = oldest; s <= head; s++) {
      int from = index(s);
      int to = (int) ((s - 1) % n);
      nOffsets[to] = offsets[from];
      nLengths[to] = lengths[from];
      nFlags[to] = flags[from];
      if (nKept != null && oldKept != null) {
        nKept[to] = oldKept[from];
      }
      if (nRebuilt != null && oldRebuilt != null) {
        nRebuilt[to] = oldRebuilt[from];
      }
    }
    offsets = nOffsets;
    lengths = nLengths;
    flags = nFlags;
    kept = nKept;
    rebuilt = nRebuilt;
  }

  private void evictOldest() {
    int i = index(oldest);
    @Nullable EncodedFrame @Nullable [] k = kept;
    if (k != null && k[i] != null) {
      bytes -= k[i].bytes();
      k[i] = null;
    } else {
      bytes -= lengths[i];
      slabHeld -= lengths[i];
    }
    lengths[i] = 0;
    @Nullable EncodedFrame @Nullable [] r = rebuilt;
    if (r != null) {
      r[i] = null;
    }
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
    rebuilt = null; // a trim is memory pressure: give back the shared copies too
    if (slab.length > SHRINK_ABOVE && slab.length / 4 > slabHeld) {
      compact(0); // and the slab, now, not at the run's next append (it may never come)
    }
  }

  @Override
  public void read(long from, long to, Consumer<EncodedFrame> sink) {
    long start = Math.max(from, oldest);
    long end = Math.min(to, head);
    for (long s = start; s <= end; s++) {
      sink.accept(frameAt(s));
    }
  }

  /** The frame of held {@code seq}: the kept one, or an equal one rebuilt from its bytes. */
  private EncodedFrame frameAt(long seq) {
    int i = index(seq);
    @Nullable EncodedFrame @Nullable [] k = kept;
    if (k != null && k[i] != null) {
      return k[i];
    }
    @Nullable EncodedFrame @Nullable [] r = rebuilt;
    if (r != null && r[i] != null) {
      return r[i];
    }
    EncodedFrame e = fromSlab(seq);
    if (seq > head - REBUILT_WINDOW) { // the newest seqs: what a burst of reconnects replays
      if (r == null) {
        r = new EncodedFrame[offsets.length];
        rebuilt = r;
      }
      r[i] = e;
    }
    return e;
  }

  /** A frame rebuilt from held {@code seq}'s bytes (kept as bytes), bypassing every cache. */
  EncodedFrame fromSlab(long seq) {
    int i = index(seq);
    byte[] b = new byte[lengths[i]];
    System.arraycopy(slab, offsets[i], b, 0, b.length);
    byte f = flags[i];
    Payload p = (f & BINARY) != 0 ? Payload.binary(b) : Payload.utf8Text(b);
    Frame frame = new Frame((f & STREAM) != 0 ? Lane.STREAM : Lane.CONTROL, p);
    return new EncodedFrame(frame, null, FrameMeta.event(seq));
  }


  /** Frames currently held. */
  int size() {
    return (int) (head - oldest + 1);
  }

  /** Slots currently allocated (grows up to the capacity). */
  int allocatedSlots() {
    return offsets.length;
  }

  /** Bytes of the slab currently allocated (a quarter more than held after a compaction; shrinks at 4x). */
  int allocatedSlabBytes() {
    return slab.length;
  }

  /** The frame of {@code seq} if still held (rebuilt from its bytes if kept as bytes). */
  @Nullable EncodedFrame get(long seq) {
    if (seq < oldest || seq > head) {
      return null;
    }
    return frameAt(seq);
  }

  @Override
  public void clear() {
    int n = Math.min(capacity, INITIAL_SLOTS);
    offsets = new int[n];
    lengths = new int[n];
    flags = new byte[n];
    kept = null;
    rebuilt = null;
    slab = new byte[0];
    writeAt = 0;
    slabHeld = 0;
    bytes = 0;
    oldest = head + 1;
  }
}
