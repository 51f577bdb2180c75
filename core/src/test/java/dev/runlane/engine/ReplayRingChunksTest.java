package dev.runlane.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.Payload;
import java.lang.reflect.Method;
import org.junit.jupiter.api.Test;

/**
 * The ring's chunks: a record is written once and never moved, so growing a ring allocates each
 * byte about once (the collector then copies a young record only until it is tenured, not every
 * time the ring grows). Bounds, not timings.
 */
class ReplayRingChunksTest {

  /** A record stays in the chunk it was written to while the ring grows around it. */
  @Test
  void recordsAreNeverMovedWhileTheRingGrows() {
    ReplayRing ring = new ReplayRing(1024, 0);
    ring.append(1, ReplayRingTest.frame(1, 100));
    byte[] first = ring.chunkOf(1);
    assertNotNull(first);
    byte[][] chunkOfSeq = new byte[1001][];
    chunkOfSeq[1] = first;
    for (long seq = 2; seq <= 1000; seq++) {
      ring.append(seq, ReplayRingTest.frame(seq, 100));
      chunkOfSeq[(int) seq] = ring.chunkOf(seq);
    }
    for (int seq = 1; seq <= 1000; seq++) {
      assertSame(chunkOfSeq[seq], ring.chunkOf(seq), "seq " + seq + " moved to another array");
      ReplayRingTest.assertFrame(ReplayRingTest.frame(seq, 100), ring.get(seq), "seq " + seq);
    }
    assertTrue(ring.allocatedSlabBytes() <= ring.bytes() + ring.bytes() / 2, // the records, a quarter more on average
        "chunks " + ring.allocatedSlabBytes() + " B for " + ring.bytes() + " B");
  }

  /** Chunks grow with what the ring holds, from small (a short run stays small) to the cap. */
  @Test
  void chunksAreSizedAfterWhatTheRingHolds() {
    ReplayRing ring = new ReplayRing(100_000, 0);
    ring.append(1, ReplayRingTest.frame(1, 50));
    assertEquals(ReplayRing.MIN_CHUNK, ring.chunkOf(1).length, "a new run's first chunk is the smallest");
    long seq = 1;
    while (ring.bytes() < 8L * ReplayRing.MAX_CHUNK) {
      seq++;
      ring.append(seq, ReplayRingTest.frame(seq, 50));
    }
    assertEquals(ReplayRing.MAX_CHUNK, ring.chunkOf(seq).length, "a large ring's chunks are capped");
    assertTrue(ring.allocatedSlabBytes() <= ring.bytes() + 2 * ReplayRing.MAX_CHUNK,
        "chunks " + ring.allocatedSlabBytes() + " B for " + ring.bytes() + " B");
    ring.append(seq + 1, ReplayRingTest.frame(seq + 1, 3 * ReplayRing.MAX_CHUNK));
    assertEquals(3 * ReplayRing.MAX_CHUNK, ring.chunkOf(seq + 1).length, "a larger record has a chunk of its own size");
  }

  /**
   * Filling a ring allocates little more than the bytes it holds: the chunks once, the slot arrays
   * as they double. (A single slab grown by compaction allocated about five times the bytes.)
   */
  @Test
  void fillingARingAllocatesEachByteAboutOnce() throws ReflectiveOperationException {
    // HotSpot's per-thread allocation counter, by reflection: core's tests compile as its module,
    // which does not read java.management (they run on the class path, where this resolves)
    Object mx;
    Method allocatedBytes;
    try {
      mx = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
      allocatedBytes = Class.forName("com.sun.management.ThreadMXBean").getMethod("getThreadAllocatedBytes", long.class);
    } catch (ReflectiveOperationException e) {
      assumeTrue(false, "needs HotSpot's per-thread allocation counter: " + e);
      return;
    }
    int n = 1000;
    EncodedFrame[] frames = new EncodedFrame[n + 1];
    for (int seq = 1; seq <= n; seq++) { // UTF-8 payloads, as a codec makes them (a String one encodes per read)
      byte[] utf8 = String.format("%-100s", "#" + seq).getBytes(java.nio.charset.StandardCharsets.UTF_8);
      frames[seq] = new EncodedFrame(new Frame(Lane.STREAM, Payload.utf8Text(utf8)), null, FrameMeta.event(seq));
    }
    for (int warm = 0; warm < 3; warm++) { // classes loaded and the code paths run once
      fill(new ReplayRing(1024, 0), frames);
    }
    long tid = Thread.currentThread().getId();
    long before = (long) allocatedBytes.invoke(mx, tid);
    ReplayRing ring = fill(new ReplayRing(1024, 0), frames);
    long allocated = (long) allocatedBytes.invoke(mx, tid) - before;
    long held = ring.bytes(); // 100,000 B
    long slots = 2L * 1024 * (4 + 4 + 4 + 1); // the slot arrays (refs, offsets, lengths, flags), doubled up to 1,024
    // ~200 KB: 128 KB of chunks, the slots, a read-only view per payload read; a slab compacted
    // into a quarter more each time it filled allocated ~700 KB
    assertTrue(allocated <= held * 5 / 2 + slots,
        "filling " + held + " B allocated " + allocated + " B");
  }

  /**
   * A ring that is full keeps turning without allocating its records' bytes again: the chunk its
   * oldest records leave is the next one it writes.
   */
  @Test
  void aFullRingReusesTheChunksItsOldestRecordsLeave() throws ReflectiveOperationException {
    Object mx;
    Method allocatedBytes;
    try {
      mx = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
      allocatedBytes = Class.forName("com.sun.management.ThreadMXBean").getMethod("getThreadAllocatedBytes", long.class);
    } catch (ReflectiveOperationException e) {
      assumeTrue(false, "needs HotSpot's per-thread allocation counter: " + e);
      return;
    }
    int turns = 6_000;
    EncodedFrame[] frames = new EncodedFrame[turns + 1];
    for (int seq = 1; seq <= turns; seq++) {
      frames[seq] = utf8Frame(seq, 300);
    }
    ReplayRing ring = new ReplayRing(1024, 0);
    for (int seq = 1; seq <= 3_000; seq++) { // full, and turned over twice
      ring.append(seq, frames[seq]);
    }
    long tid = Thread.currentThread().getId();
    long before = (long) allocatedBytes.invoke(mx, tid);
    for (int seq = 3_001; seq <= turns; seq++) {
      ring.append(seq, frames[seq]);
    }
    long perAppend = ((long) allocatedBytes.invoke(mx, tid) - before) / (turns - 3_000);
    // a read-only view of each payload (~48 B) and little else; writing each record into a new
    // chunk cost ~400 B per append
    assertTrue(perAppend <= 150, perAppend + " B allocated per append to a full ring of 300-byte records");
    for (long seq = ring.oldest(); seq <= ring.head(); seq++) {
      ReplayRingTest.assertFrame(frames[(int) seq], ring.get(seq), "seq " + seq);
    }
  }

  /** Records just over half a chunk get chunks of their own size: no chunk left half empty. */
  @Test
  void recordsOverHalfAChunkDoNotLeaveChunksHalfEmpty() {
    ReplayRing big = new ReplayRing(100_000, 0);
    for (int seq = 1; seq <= 200; seq++) {
      big.append(seq, utf8Frame(seq, ReplayRing.MAX_CHUNK / 2 + 1));
    }
    assertTrue(big.allocatedSlabBytes() <= big.bytes() + big.bytes() / 10,
        "chunks " + big.allocatedSlabBytes() + " B for " + big.bytes() + " B of records just over half a chunk");
    ReplayRing small = new ReplayRing(12, 0);
    for (int seq = 1; seq <= 100; seq++) {
      small.append(seq, utf8Frame(seq, ReplayRing.MIN_CHUNK / 2 + 1));
    }
    assertTrue(small.allocatedSlabBytes() <= small.bytes() + small.bytes() / 2,
        "chunks " + small.allocatedSlabBytes() + " B for " + small.bytes() + " B");
  }

  private static EncodedFrame utf8Frame(int seq, int size) {
    byte[] utf8 = String.format("%-" + size + "s", "#" + seq).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    return new EncodedFrame(new Frame(Lane.STREAM, Payload.utf8Text(utf8)), null, FrameMeta.event(seq));
  }

  private static ReplayRing fill(ReplayRing ring, EncodedFrame[] frames) {
    for (int seq = 1; seq < frames.length; seq++) {
      ring.append(seq, frames[seq]);
    }
    return ring;
  }
}
