package dev.runlane.testsupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/** SLF4J finds the capturing provider, and records keep level, formatted message and throwable. */
class CapturedLogsTest {
  @Test
  void recordsAreCapturedNotPrinted() {
    Logger log = LoggerFactory.getLogger("dev.runlane.Example");
    IllegalStateException boom = new IllegalStateException("boom");
    log.warn("run {} of {} threw", "r1", "s1", boom);
    log.debug("not kept");
    List<CapturedLogs.Entry> got = CapturedLogs.matching(Level.WARN, "run r1 of s1 threw");
    assertEquals(1, got.size());
    assertSame(boom, got.get(0).error());
    assertEquals("dev.runlane.Example", got.get(0).logger());
    assertTrue(CapturedLogs.matching(Level.DEBUG, "not kept").isEmpty());
  }

  @Test
  void eachTestStartsWithNoRecords() {
    // LogsOnFailure (auto-detected) cleared what the other test logged
    assertTrue(CapturedLogs.matching(Level.WARN, "threw").isEmpty());
  }
}
