package dev.runlane;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.TextCodec;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** The invariant check is wired in: an engine tracked by one test is checked and released after it. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class InvariantCheckTest {
  private static Runlane engine;

  @Test
  @Order(1)
  void aTestTracksAnEngine() {
    engine = InvariantCheck.track(Runlane.builder().codec(new TextCodec()).timeSource(new ManualTimeSource()).build());
    assertEquals(1, InvariantCheck.pending());
  }

  @Test
  @Order(2)
  void theExtensionCheckedAndReleasedItAfterThatTest() {
    try {
      assertEquals(0, InvariantCheck.pending(), "the extension is not registered for core-spec tests");
    } finally {
      engine.close();
    }
  }
}
