package dev.runlane.engine;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.Payload;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The ring's slot array starts small and grows to its capacity without losing or moving a seq. */
class ReplayRingGrowthTest {

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 8, 9, 12, 1000, 1024})
  void growsLazilyAndKeepsEveryHeldSeqAcrossWraps(int capacity) {
    ReplayRing ring = new ReplayRing(capacity, 0);
    assertTrue(ring.allocatedSlots() <= 8, "starts small");
    List<EncodedFrame> all = new ArrayList<>();
    int total = capacity * 3 + 7;
    for (long seq = 1; seq <= total; seq++) {
      EncodedFrame f = new EncodedFrame(new Frame(Lane.STREAM, Payload.text("e" + seq)), null, FrameMeta.event(seq));
      all.add(f);
      ring.append(seq, f);
      long oldest = Math.max(1, seq - capacity + 1);
      assertEquals(oldest, ring.oldest(), "capacity " + capacity + " at seq " + seq);
      assertTrue(ring.allocatedSlots() <= capacity);
      for (long s = oldest; s <= seq; s++) {
        ReplayRingTest.assertFrame(all.get((int) s - 1), ring.get(s), "capacity " + capacity + " seq " + s + " after " + seq);
      }
      assertNull(ring.get(oldest - 1));
    }
    assertEquals(capacity, ring.allocatedSlots());
  }
}
