package dev.runlane.engine;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.Payload;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The replay ring at capacity 1, 2 and powers of two, across many wrap-arounds, with and without a
 * byte budget, against a trivially correct model (a deque).
 */
class ReplayRingTest {

  /** A distinct frame of {@code size} payload bytes (ASCII). */
  static EncodedFrame frame(long seq, int size) {
    String tag = "#" + seq;
    StringBuilder sb = new StringBuilder(Math.max(size, tag.length()));
    sb.append(tag.length() <= size ? tag : "");
    while (sb.length() < size) {
      sb.append('x');
    }
    Frame frame = new Frame(Lane.STREAM, Payload.text(sb.toString()));
    EncodedFrame f = seq > 0 ? new EncodedFrame(frame, null, FrameMeta.event(seq)) : new EncodedFrame(frame, null);
    assertEquals(size, f.bytes());
    return f;
  }

  /**
   * The ring keeps an event as its bytes and hands back an equal frame, not the same object: same
   * lane, payload, meta and size. Frames it keeps as objects (no event meta) come back as they are.
   */
  static void assertFrame(EncodedFrame want, @org.jspecify.annotations.Nullable EncodedFrame got, String where) {
    assertNotNull(got, where);
    if (want.meta() == null || want.meta().type() != FrameMeta.Type.EVENT) {
      assertSame(want, got, where + ": kept as the object");
      return;
    }
    assertEquals(want.lane(), got.lane(), where);
    assertEquals(want.frame().payload(), got.frame().payload(), where);
    assertEquals(want.meta(), got.meta(), where);
    assertEquals(want.bytes(), got.bytes(), where);
    assertNull(got.coalesceKey(), where);
  }

  @Test
  void emptyRingHoldsNothing() {
    ReplayRing ring = new ReplayRing(4, 0);
    assertEquals(0, ring.head());
    assertEquals(1, ring.oldest(), "oldest is head + 1 when nothing is held");
    assertEquals(0, ring.size());
    assertEquals(0, ring.bytes());
    assertNull(ring.get(0));
    assertNull(ring.get(1));
    assertNull(ring.get(-1));
  }

  @Test
  void capacityBelowOneIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new ReplayRing(0, 0));
    assertThrows(IllegalArgumentException.class, () -> new ReplayRing(-3, 0));
  }

  @ParameterizedTest(name = "capacity {0}")
  @ValueSource(ints = {1, 2, 3, 8, 10, 100, 1024})
  void holdsExactlyTheNewestFramesAcrossManyWrapArounds(int capacity) {
    ReplayRing ring = new ReplayRing(capacity, 0);
    Map<Long, EncodedFrame> appended = new HashMap<>();
    long total = capacity * 9L + 5; // wraps the slots nine times and stops mid-ring
    for (long seq = 1; seq <= total; seq++) {
      EncodedFrame f = frame(seq, 3);
      appended.put(seq, f);
      ring.append(seq, f);

      long oldest = Math.max(1, seq - capacity + 1);
      assertEquals(seq, ring.head());
      assertEquals(oldest, ring.oldest(), "oldest after seq " + seq);
      assertEquals((int) Math.min(seq, capacity), ring.size());
      assertEquals(3L * ring.size(), ring.bytes());
      assertFrame(f, ring.get(seq), "newest frame");
      assertFrame(appended.get(oldest), ring.get(oldest), "oldest frame");
      assertNull(ring.get(oldest - 1), "evicted frame must not be returned (it would be a stale slot)");
      assertNull(ring.get(seq + 1), "a seq beyond head");
      if (seq % capacity == 0 || seq == total) {
        for (long s = 1; s <= seq; s++) {
          if (s < oldest) {
            assertNull(ring.get(s), "seq " + s + " evicted");
          } else {
            assertFrame(appended.get(s), ring.get(s), "seq " + s + " held");
          }
        }
      }
    }
  }

  @ParameterizedTest(name = "capacity {0}")
  @ValueSource(ints = {1, 2, 8})
  void truncationBoundary(int capacity) {
    ReplayRing ring = new ReplayRing(capacity, 0);
    for (long seq = 1; seq <= 20; seq++) {
      ring.append(seq, frame(seq, 1));
    }
    long oldest = ring.oldest();
    assertEquals(20 - capacity + 1, oldest);
    // what a resume after lastSeq = oldest - 1 needs (oldest..head) is all held: exact
    for (long s = oldest; s <= ring.head(); s++) {
      assertNotNull(ring.get(s), "seq " + s);
    }
    // a resume after lastSeq = oldest - 2 needs oldest - 1, which is gone: truncated
    assertNull(ring.get(oldest - 1));
  }

  @Test
  void appendOutOfOrderThrowsAndChangesNothing() {
    ReplayRing ring = new ReplayRing(4, 0);
    assertThrows(IllegalStateException.class, () -> ring.append(2, frame(2, 1)), "first seq must be 1");
    assertThrows(IllegalStateException.class, () -> ring.append(0, frame(0, 1)));
    EncodedFrame one = frame(1, 1);
    ring.append(1, one);
    assertThrows(IllegalStateException.class, () -> ring.append(1, frame(1, 1)), "duplicate seq");
    assertThrows(IllegalStateException.class, () -> ring.append(3, frame(3, 1)), "hole");
    assertEquals(1, ring.head());
    assertEquals(1, ring.oldest());
    assertEquals(1, ring.size());
    assertEquals(1, ring.bytes());
    assertFrame(one, ring.get(1), "seq 1");
    ring.append(2, frame(2, 1));
    assertEquals(2, ring.head());
  }

  @Test
  void byteBudgetEvictsOldestButAlwaysKeepsTheNewest() {
    ReplayRing ring = new ReplayRing(8, 10);
    ring.append(1, frame(1, 4));
    ring.append(2, frame(2, 4));
    assertEquals(1, ring.oldest());
    assertEquals(8, ring.bytes());
    ring.append(3, frame(3, 4)); // 12 > 10: seq 1 goes
    assertEquals(2, ring.oldest());
    assertEquals(8, ring.bytes());
    assertNull(ring.get(1));
    EncodedFrame big = frame(4, 25); // larger than the whole budget
    ring.append(4, big);
    assertEquals(4, ring.oldest(), "everything older goes, the newest stays although it exceeds the budget");
    assertEquals(1, ring.size());
    assertEquals(25, ring.bytes());
    assertFrame(big, ring.get(4), "seq 4");
    ring.append(5, frame(5, 1)); // 26 > 10: the big one goes now
    assertEquals(5, ring.oldest());
    assertEquals(1, ring.bytes());
  }

  @Test
  void capacityStillAppliesUnderAByteBudget() {
    ReplayRing ring = new ReplayRing(2, 1_000);
    for (long seq = 1; seq <= 5; seq++) {
      ring.append(seq, frame(seq, 2));
    }
    assertEquals(4, ring.oldest());
    assertEquals(2, ring.size());
    assertEquals(4, ring.bytes());
  }

  @Test
  void matchesADequeModelUnderRandomSizesAndBudgets() {
    long base = Long.getLong("runlane.seed", 20240611L);
    int rounds = Integer.getInteger("runlane.model.sequences", 200);
    for (int round = 0; round < rounds; round++) {
      long seed = base + round;
      Random rnd = new Random(seed);
      int capacity = new int[] {1, 2, 4, 8, 10, 16, 100, 1024}[rnd.nextInt(8)];
      long budget = rnd.nextBoolean() ? 0 : 1 + rnd.nextInt(64);
      ReplayRing ring = new ReplayRing(capacity, budget);
      ArrayDeque<long[]> model = new ArrayDeque<>(); // {seq, size}
      Map<Long, EncodedFrame> frames = new HashMap<>();
      long modelBytes = 0;
      int steps = 50 + rnd.nextInt(300);
      for (long seq = 1; seq <= steps; seq++) {
        int size = rnd.nextInt(4) == 0 ? rnd.nextInt(40) : rnd.nextInt(6);
        EncodedFrame f = frame(seq, size);
        frames.put(seq, f);
        ring.append(seq, f);
        model.addLast(new long[] {seq, size});
        modelBytes += size;
        while (model.size() > capacity) {
          modelBytes -= model.removeFirst()[1];
        }
        while (budget > 0 && modelBytes > budget && model.size() > 1) {
          modelBytes -= model.removeFirst()[1];
        }
        String where = "seed " + seed + " (-Drunlane.seed=" + seed + " -Drunlane.model.sequences=1), capacity "
            + capacity + ", budget " + budget + ", after seq " + seq;
        assertEquals(seq, ring.head(), where);
        assertEquals(model.peekFirst()[0], ring.oldest(), where);
        assertEquals(model.size(), ring.size(), where);
        assertEquals(modelBytes, ring.bytes(), where);
        if (budget > 0) {
          assertTrue(ring.bytes() <= budget || ring.size() == 1, where + ": over budget with more than the newest");
        }
        long oldest = model.peekFirst()[0];
        long probe = 1 + rnd.nextInt((int) seq + 1);
        if (probe >= oldest && probe <= seq) {
          assertFrame(frames.get(probe), ring.get(probe), where + ", get(" + probe + ")");
        } else {
          assertNull(ring.get(probe), where + ", get(" + probe + ")");
        }
      }
    }
  }

  /**
   * The slab under everything at once: events of mixed sizes (some far larger than the slab so
   * far, forcing compactions and growth), UTF-8 and binary payloads, both lanes, frames kept as
   * objects between them, byte budgets, trims and clears. After every step every held seq reads
   * back equal to what was appended, and a range read hands exactly the held part in order.
   */
  @Test
  void slabHandsBackEveryHeldFrameUnderMixedFramesTrimsAndClears() {
    long base = Long.getLong("runlane.seed", System.nanoTime());
    int rounds = Integer.getInteger("runlane.model.sequences", 150);
    for (int round = 0; round < rounds; round++) {
      long seed = base + round;
      Random rnd = new Random(seed);
      int capacity = new int[] {1, 2, 3, 8, 17, 64, 1024}[rnd.nextInt(7)];
      long budget = rnd.nextInt(3) == 0 ? 0 : 1 + rnd.nextInt(rnd.nextBoolean() ? 64 : 4096);
      ReplayRing ring = new ReplayRing(capacity, budget);
      ArrayDeque<EncodedFrame> model = new ArrayDeque<>();
      long modelBytes = 0;
      long head = 0;
      int steps = 100 + rnd.nextInt(600);
      for (int step = 0; step < steps; step++) {
        String where = "seed " + seed + " (-Drunlane.seed=" + seed + " -Drunlane.model.sequences=1), capacity "
            + capacity + ", budget " + budget + ", step " + step;
        int op = rnd.nextInt(100);
        if (op < 3) {
          ring.clear();
          model.clear();
          modelBytes = 0;
        } else if (op < 8) {
          long max = rnd.nextInt(200);
          ring.trim(max);
          while (modelBytes > max && model.size() > 1) {
            modelBytes -= model.removeFirst().bytes();
          }
        } else {
          long seq = ++head;
          EncodedFrame f = randomFrame(rnd, seq);
          ring.append(seq, f);
          model.addLast(f);
          modelBytes += f.bytes();
          while (model.size() > capacity) {
            modelBytes -= model.removeFirst().bytes();
          }
          while (budget > 0 && modelBytes > budget && model.size() > 1) {
            modelBytes -= model.removeFirst().bytes();
          }
        }
        assertEquals(head, ring.head(), where);
        assertEquals(model.size(), ring.size(), where);
        assertEquals(model.isEmpty() ? head + 1 : seqOf(model.peekFirst(), ring, model), ring.oldest(), where);
        assertEquals(modelBytes, ring.bytes(), where);
        long s = ring.oldest();
        for (EncodedFrame want : model) {
          if (want.meta() != null) { // the slab's own bytes, past any cached rebuilt frame
            assertFrame(want, ring.fromSlab(s), where + ", slab bytes of seq " + s);
          }
          assertFrame(want, ring.get(s), where + ", seq " + s);
          s++;
        }
        assertNull(ring.get(ring.oldest() - 1), where);
        assertNull(ring.get(head + 1), where);
        long from = ring.oldest() - 2 + rnd.nextInt(Math.max(1, model.size() + 3));
        long to = from + rnd.nextInt(Math.max(1, model.size() + 2));
        List<EncodedFrame> got = new ArrayList<>();
        ring.read(from, to, got::add);
        long expect = Math.max(from, ring.oldest());
        for (EncodedFrame g : got) {
          assertFrame(ring.get(expect), g, where + ", read(" + from + ", " + to + ") at " + expect);
          expect++;
        }
        assertEquals(Math.max(0, Math.min(to, head) - Math.max(from, ring.oldest()) + 1), got.size(), where);
        if (op >= 8 && model.peekLast().meta() != null) { // after an event's append, the slab is
          // within a small factor of what it holds (it shrinks when an event is placed)
          assertTrue(ring.allocatedSlabBytes() <= Math.max(8192, 8 * (modelBytes + 3000)), where + ": slab " + ring.allocatedSlabBytes());
        }
      }
    }
  }

  /** The ring's oldest seq: the model holds frames, not seqs; its size and the head say it. */
  private static long seqOf(EncodedFrame first, ReplayRing ring, ArrayDeque<EncodedFrame> model) {
    return ring.head() - model.size() + 1;
  }

  private static EncodedFrame randomFrame(Random rnd, long seq) {
    int kind = rnd.nextInt(10);
    int size = rnd.nextInt(10) == 0 ? rnd.nextInt(3000) : rnd.nextInt(40);
    Lane lane = rnd.nextInt(5) == 0 ? Lane.CONTROL : Lane.STREAM;
    if (kind == 0) { // binary
      byte[] b = new byte[size];
      rnd.nextBytes(b);
      return new EncodedFrame(new Frame(lane, Payload.binary(b)), null, FrameMeta.event(seq));
    }
    StringBuilder sb = new StringBuilder("#" + seq);
    while (sb.length() < size) {
      sb.append(rnd.nextInt(20) == 0 ? "é中" : "x"); // 2- and 3-byte UTF-8 too
    }
    Payload p = rnd.nextBoolean() ? Payload.text(sb.toString()) : Payload.utf8Text(sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    if (kind == 1) { // no meta: kept as the object
      return new EncodedFrame(new Frame(lane, p), null);
    }
    return new EncodedFrame(new Frame(lane, p), null, FrameMeta.event(seq));
  }

  /** A trim gives the slab back at once: an idle run may never append again to shrink it. */
  @Test
  void trimReleasesTheSlabAndTheSharedCopies() {
    ReplayRing ring = new ReplayRing(1024, 4L * 1024 * 1024);
    for (long seq = 1; seq <= 1024; seq++) {
      ring.append(seq, frame(seq, 4000));
    }
    ring.read(1, 1024, f -> {});
    assertTrue(ring.allocatedSlabBytes() >= 1024 * 4000, "the slab holds the events");
    EncodedFrame newest = ring.get(1024);
    ring.trim(0);
    assertEquals(1, ring.size(), "the newest stays");
    assertTrue(ring.allocatedSlabBytes() <= 8192, "slab " + ring.allocatedSlabBytes() + " B kept for " + ring.bytes() + " B");
    assertFrame(frame(1024, 4000), ring.get(1024), "the newest, intact");
    assertTrue(newest != ring.get(1024), "the shared copies went with the trim");
  }

  /**
   * Replays share one rebuilt frame per seq (and its derived protocol forms), but only for the
   * newest {@link ReplayRing#REBUILT_WINDOW} seqs: a full replay does not turn the ring back into
   * objects.
   */
  @Test
  void rebuiltFramesAreSharedOnlyForTheNewestSeqs() {
    int w = ReplayRing.REBUILT_WINDOW;
    ReplayRing ring = new ReplayRing(1024, 0);
    for (long seq = 1; seq <= 300; seq++) {
      ring.append(seq, frame(seq, 10));
    }
    List<EncodedFrame> first = new ArrayList<>();
    List<EncodedFrame> second = new ArrayList<>();
    ring.read(1, 300, first::add);
    ring.read(1, 300, second::add);
    for (int i = 0; i < 300; i++) {
      long seq = i + 1;
      assertFrame(first.get(i), second.get(i), "seq " + seq);
      assertEquals(seq > 300 - w, first.get(i) == second.get(i), "seq " + seq + " shared iff among the newest " + w);
    }
    EncodedFrame cached = ring.get(300);
    assertSame(cached, ring.get(300));
    for (long seq = 301; seq <= 300 + w; seq++) {
      ring.append(seq, frame(seq, 10));
    }
    assertTrue(cached != ring.get(300), "out of the window: its cached copy was dropped");
    assertFrame(cached, ring.get(300), "and rebuilt equal");
  }

  @Test
  void readHandsTheHeldPartOfARangeInOrder() {
    ReplayRing ring = new ReplayRing(4, 0);
    for (long seq = 1; seq <= 10; seq++) {
      ring.append(seq, frame(seq, 3));
    }
    List<EncodedFrame> got = new ArrayList<>();
    ring.read(1, 100, got::add); // clamped to 7..10
    assertEquals(4, got.size());
    for (int i = 0; i < got.size(); i++) {
      assertFrame(ring.get(7 + i), got.get(i), "seq " + (7 + i));
      assertEquals(7 + i, got.get(i).meta().seq());
    }
    got.clear();
    ring.read(9, 8, got::add);
    assertEquals(0, got.size(), "empty range");
  }

  @Test
  void clearDropsEverythingAndKeepsNumbering() {
    for (int capacity : new int[] {1, 2, 8}) {
      ReplayRing ring = new ReplayRing(capacity, 0);
      for (long seq = 1; seq <= 11; seq++) {
        ring.append(seq, frame(seq, 2));
      }
      ring.clear();
      assertEquals(11, ring.head(), "head survives a clear: seqs are never reused");
      assertEquals(12, ring.oldest());
      assertEquals(0, ring.size());
      assertEquals(0, ring.bytes());
      for (long s = 0; s <= 12; s++) {
        assertNull(ring.get(s), "capacity " + capacity + ", seq " + s);
      }
      assertThrows(IllegalStateException.class, () -> ring.append(1, frame(1, 1)));
      EncodedFrame next = frame(12, 2);
      ring.append(12, next);
      assertEquals(12, ring.oldest());
      assertEquals(1, ring.size());
      assertFrame(next, ring.get(12), "seq 12");
    }
  }
}
