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
 * coalescing key) is kept as its payload bytes, copied into the ring's byte chunks, plus a few
 * numbers per slot; {@link #read} and {@link #get} rebuild an equal frame from them. So the frame a
 * run publishes dies young with its recipients' sends, and a retained event is not a handful of
 * objects the collector must copy and scan for as long as the ring holds it (on a busy node, that
 * copying is what made G1's young pauses long: see docs/benchmarks.md). Frames whose meta carries
 * host objects (the terminal frame's outcome) are kept as they are.
 *
 * <p><b>Chunks, written once.</b> Records go, in seq order, into byte arrays (chunks) that appends
 * never copy again: a record that does not fit in what is left of the current chunk starts a new one,
 * sized after what the ring holds (a power of two, about a sixth of it, from {@value #MIN_CHUNK}
 * bytes to {@value #MAX_CHUNK}), or a chunk of its own size if it is larger than half that. Each
 * slot points at its record's chunk, so a chunk is garbage once its last record is evicted; a full
 * ring keeps the chunk its oldest records have just left and writes it again, so it turns without
 * allocating. Growing a ring therefore allocates each byte once; a single slab compacted into a
 * larger copy allocated it about five times while a run's ring filled, and every copy was young
 * again for the collector (the paced wire scenario's young pauses came twice as often). Held memory
 * is what the records take plus the unused ends of chunks (each less than the record that did not
 * fit, and less than half a chunk), the newest chunk's free end, the oldest's evicted start and the
 * kept spare; a trim that leaves a quarter of that or less copies the held records into one
 * right-sized chunk. The slot arrays start small and double up to {@code capacity}, so a run that
 * publishes a few events does not pay for a full ring.
 *
 * <p><b>Thread safety:</b> not thread-safe; a single writer (the owning run, under its lock).
 */
final class ReplayRing implements RunLog {
  private static final int INITIAL_SLOTS = 8;
  /** The smallest chunk: a run that publishes a few small events takes a few hundred bytes. */
  static final int MIN_CHUNK = 256;
  /** The largest chunk of ordinary records (well under G1's humongous threshold of half a region). */
  static final int MAX_CHUNK = 64 * 1024;
  /** A trim compacts when what is allocated is above this and four times what is held. */
  private static final int SHRINK_ABOVE = 4096;
  /** Rebuilt frames of the newest this many seqs are shared by replays (see {@link #rebuilt}). */
  static final int REBUILT_WINDOW = 64;
  private static final byte STREAM = 1;
  private static final byte BINARY = 2;
  private static final byte[] NO_BYTES = new byte[0];

  private final int capacity;
  private final long byteBudget;
  /** Per slot ({@link #index}): the chunk holding the record (null if none), where it starts, its length. */
  private byte[] @Nullable [] chunkOf;
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
  /** A chunk whose records have all been evicted, kept for the next {@link #newChunk}; or null. */
  private byte @Nullable [] spare;
  /** The chunk records are appended to, and where the next one goes in it. */
  private byte[] chunk = NO_BYTES;
  private int writeAt;
  private long head;
  private long oldest = 1;
  private long bytes;
  /** Bytes of the records kept as bytes (payload bytes of the frames in the chunks). */
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
    chunkOf = new byte[n][];
    offsets = new int[n];
    lengths = new int[n];
    flags = new byte[n];
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
    if (asBytes(frame, seq)) {
      ByteBuffer src = p instanceof Payload.Text ? ((Payload.Text) p).utf8() : ((Payload.Binary) p).data().duplicate();
      int len = src.remaining();
      if (len > chunk.length - writeAt) {
        chunk = newChunk(len);
        writeAt = 0;
      }
      src.get(chunk, writeAt, len);
      chunkOf[i] = chunk;
      offsets[i] = writeAt;
      lengths[i] = len;
      writeAt += len;
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
      chunkOf[i] = null;
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
   * A chunk for a record of {@code len} bytes that does not fit in the current one. Its size is a
   * power of two between a quarter and an eighth of what the ring holds in chunks, from {@link
   * #MIN_CHUNK} to {@link #MAX_CHUNK}: so a ring that grows allocates a few chunks per doubling, and
   * what the newest chunk's unused end and the oldest's evicted start take stays a fraction of what
   * the ring holds. A record larger than half that gets a chunk of its own size instead (else records
   * just over half a chunk would leave every chunk half empty). A full ring reuses the chunk its
   * oldest records have just left ({@link #spare}), so it does not allocate its bytes again on every
   * turn.
   */
  private byte[] newChunk(int len) {
    int want = (int) Math.max(MIN_CHUNK, Math.min(MAX_CHUNK, Long.highestOneBit(Math.max(1, slabHeld)) / 4));
    if (len > want / 2) {
      return new byte[len];
    }
    byte[] s = spare;
    spare = null;
    return s != null && s.length == want ? s : new byte[want];
  }

  /** Copies the held records into one chunk of their size (a trim that left the chunks mostly empty). */
  private void compact() {
    byte[] next = slabHeld == 0 ? NO_BYTES : new byte[(int) Math.min(Integer.MAX_VALUE - 8, slabHeld)];
    int at = 0;
    for (long s = oldest; s <= head; s++) {
      int i = index(s);
      byte[] c = chunkOf[i];
      if (c != null) {
        System.arraycopy(c, offsets[i], next, at, lengths[i]);
        chunkOf[i] = next;
        offsets[i] = at;
        at += lengths[i];
      }
    }
    chunk = next;
    writeAt = at;
    spare = null;
  }

  private void growSlots() {
    int n = (int) Math.min(capacity, (long) offsets.length * 2);
    byte[][] nChunkOf = new byte[n][];
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
      nChunkOf[to] = chunkOf[from];
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
    chunkOf = nChunkOf;
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
    byte[] c = chunkOf[i];
    chunkOf[i] = null; // the chunk goes once its last record does
    lengths[i] = 0;
    @Nullable EncodedFrame @Nullable [] r = rebuilt;
    if (r != null) {
      r[i] = null;
    }
    oldest++;
    if (c != null && c != chunk && c.length > 0) {
      // A chunk holds consecutive records: if the next held record is in another chunk, this one
      // is free (a kept frame next says nothing: leave the chunk to the collector then)
      byte[] next = oldest <= head ? chunkOf[index(oldest)] : null;
      if (oldest > head || (next != null && next != c)) {
        spare = c;
      }
    }
    if (slabHeld == 0) { // no record needs the current chunk: start it over, unless it is a giant
      if (chunk.length > MAX_CHUNK) {
        chunk = NO_BYTES;
      }
      writeAt = 0;
    }
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
    if (oldest == trimCheckedOldest && head == trimCheckedHead) {
      return; // nothing appended or evicted since the last trim looked at the chunks: spare the walk
    }
    trimCheckedOldest = oldest;
    trimCheckedHead = head;
    long allocated = allocatedSlabBytes();
    if (allocated > SHRINK_ABOVE && allocated / 4 > slabHeld) {
      compact(); // and the chunks, now, not as the run turns its ring over (it may never append again)
    }
  }

  /** The ring's bounds when a trim last measured its chunks (a walk of the held slots). */
  private long trimCheckedOldest = -1;
  private long trimCheckedHead = -1;

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
    byte[] c = chunkOf[i];
    if (c != null) {
      System.arraycopy(c, offsets[i], b, 0, b.length);
    }
    byte f = flags[i];
    Payload p = (f & BINARY) != 0 ? Payload.binary(b) : Payload.adoptUtf8Text(b);
    Frame frame = new Frame((f & STREAM) != 0 ? Lane.STREAM : Lane.CONTROL, p);
    return new EncodedFrame(frame, null, FrameMeta.event(seq));
  }


  /** The chunk holding held {@code seq}'s bytes, or null (for tests: appends never move a record). */
  byte @Nullable [] chunkOf(long seq) {
    return seq < oldest || seq > head ? null : chunkOf[index(seq)];
  }

  /** Frames currently held. */
  int size() {
    return (int) (head - oldest + 1);
  }

  /** Slots currently allocated (grows up to the capacity). */
  int allocatedSlots() {
    return offsets.length;
  }

  /** Bytes of the chunks currently referenced: the held records' and the current one (walks the slots). */
  long allocatedSlabBytes() {
    long sum = 0;
    byte @Nullable [] last = null;
    boolean current = false;
    for (long s = oldest; s <= head; s++) {
      byte[] c = chunkOf[index(s)];
      if (c != null && c != last) { // the records of a chunk are consecutive
        sum += c.length;
        last = c;
        current |= c == chunk;
      }
    }
    byte[] s = spare;
    return (current ? sum : sum + chunk.length) + (s == null ? 0 : s.length);
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
    chunkOf = new byte[n][];
    offsets = new int[n];
    lengths = new int[n];
    flags = new byte[n];
    kept = null;
    rebuilt = null;
    chunk = NO_BYTES;
    spare = null;
    writeAt = 0;
    slabHeld = 0;
    bytes = 0;
    oldest = head + 1;
  }
}
