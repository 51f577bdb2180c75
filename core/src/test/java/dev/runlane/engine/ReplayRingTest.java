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
  private static EncodedFrame frame(long seq, int size) {
    String tag = "#" + seq;
    StringBuilder sb = new StringBuilder(Math.max(size, tag.length()));
    sb.append(tag.length() <= size ? tag : "");
    while (sb.length() < size) {
      sb.append('x');
    }
    EncodedFrame f = new EncodedFrame(new Frame(Lane.STREAM, Payload.text(sb.toString())), null);
    assertEquals(size, f.bytes());
    return f;
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
      assertSame(f, ring.get(seq), "newest frame");
      assertSame(appended.get(oldest), ring.get(oldest), "oldest frame");
      assertNull(ring.get(oldest - 1), "evicted frame must not be returned (it would be a stale slot)");
      assertNull(ring.get(seq + 1), "a seq beyond head");
      if (seq % capacity == 0 || seq == total) {
        for (long s = 1; s <= seq; s++) {
          if (s < oldest) {
            assertNull(ring.get(s), "seq " + s + " evicted");
          } else {
            assertSame(appended.get(s), ring.get(s), "seq " + s + " held");
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
    assertSame(one, ring.get(1));
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
    assertSame(big, ring.get(4));
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
          assertSame(frames.get(probe), ring.get(probe), where + ", get(" + probe + ")");
        } else {
          assertNull(ring.get(probe), where + ", get(" + probe + ")");
        }
      }
    }
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
      assertSame(ring.get(7 + i), got.get(i));
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
      assertSame(next, ring.get(12));
    }
  }
}
