package dev.runlane.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The benchmarks' fixtures do what the figures claim. Nothing here is timed: the benchmarks
 * themselves run only through {@link QuickPass} or JMH, never in {@code mvn verify}.
 */
class FixturesTest {

  @Test
  void anEventIsEncodedOnceWhateverItsFanOut() {
    String line = Checks.encodeOnce(1_000, 20);
    assertTrue(line.contains("20 encodes, 20000 deliveries"), line);
  }

  @Test
  void runlaneAndTheNaiveHubReachExactlyTheRunsRecipients() {
    Checks.routingExact(500, 50);
  }

  @Test
  void theSpringPeerDeliversOnlyToConnectedSubscribedSessions() {
    String line = Checks.springDelivers(5, 3);
    assertTrue(line.endsWith("15 deliveries"), line);
  }

  @Test
  void aResumeReplaysExactlyTheMissedEvents() {
    Checks.resumeExact();
  }

  @Test
  void theControlFrameOvertakesTheBacklogButTheFifoMarkerWaitsBehindIt() {
    HeadOfLineHarness.Result r = HeadOfLineHarness.run(2, 0);
    // only the sends already in flight (maxInFlight, default 64) are written before the control frame
    assertTrue(r.oursFramesAhead().getMaxValue() <= 64, "ahead: " + r.oursFramesAhead().getMaxValue());
    assertEquals(HeadOfLineHarness.BACKLOG, r.fifoFramesAhead().getMinValue());
    assertEquals(HeadOfLineHarness.BACKLOG, r.fifoFramesAhead().getMaxValue());
  }

  @Test
  void jsonIsWellFormed() {
    String s =
        Json.write(
            java.util.Map.of("a", java.util.List.of(1, 2.5, "x\"y", true), "b", java.util.Map.of()));
    assertTrue(s.contains("\"x\\\"y\""), s);
    assertTrue(s.contains("2.50000"), s);
  }
}
