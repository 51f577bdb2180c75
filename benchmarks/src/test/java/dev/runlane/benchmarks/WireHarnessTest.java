package dev.runlane.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.runlane.protocol.json.JsonWireCodec;
import dev.runlane.transport.Payload;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The wire harness's client reads the fields it checks (seq, the publish stamp, ids) from the
 * frames the JSON codec really writes, and the harness's medians are medians. Nothing is timed and
 * no process is started here.
 */
class WireHarnessTest {

  @Test
  void theClientsByteScanFindsSeqAndStampInARealRunEvent() {
    String frame =
        ((Payload.Text)
                new JsonWireCodec()
                    .encode(
                        new dev.runlane.codec.Outbound.RunEvent(
                            "run_x_1", "s7", "ep0", 42, "delta", new WireServer.Ev(7_200_000_000_000L, WireServer.FILLER))))
            .text();
    byte[] a = frame.getBytes(StandardCharsets.UTF_8);
    int seq = WireClient.indexOf(a, 0, a.length, WireClient.bytes("\"seq\":"));
    assertEquals(42, WireClient.number(a, seq + 6), frame);
    int t = WireClient.indexOf(a, 0, a.length, WireClient.bytes("\"data\":{\"t\":"));
    assertEquals(7_200_000_000_000L, WireClient.number(a, t + "\"data\":{\"t\":".length()), frame);
    int run = WireClient.indexOf(a, 0, a.length, WireClient.bytes("\"runId\":\""));
    assertEquals("run_x_1", WireClient.string(a, run + 9), frame);
    assertEquals(
        46, // {"t":<13 digits: nanoTime two hours after boot>,"p":"<20 chars>"}
        frame.substring(frame.indexOf("\"data\":") + 7, frame.length() - 1).length(),
        "the event's data is 46 bytes of JSON: " + frame);
  }

  @Test
  void aMissingNumberIsMinusOne() {
    byte[] a = "\"replayTo\":null".getBytes(StandardCharsets.UTF_8);
    assertEquals(-1, WireClient.number(a, 11));
  }

  @Test
  void answersAreParsedAsKeyValuePairsAfterTheirVerb() {
    assertEquals(
        Map.of("cpu", "12", "conns", "3"), WireLoadHarness.kv("stats cpu 12 conns 3"));
  }

  @Test
  void stormTimesFromTwoClientProcessesMergeIntoFiguresFromEachConnectionsUpgrade() throws Exception {
    long ms = 1_000_000;
    // process A (its own clock base): one connection back late but resumed fast, one caught up at its ack
    StormTimes a = new StormTimes();
    long dropA = 7_000 * ms;
    a.drop(dropA);
    long up1 = a.upgraded(dropA + 3_000 * ms);
    a.welcomed(up1, dropA + 3_001 * ms);
    a.acked(up1, dropA + 3_010 * ms);
    a.caughtUp(up1, dropA + 3_050 * ms);
    long up2 = a.upgraded(dropA + 100 * ms);
    a.welcomed(up2, dropA + 102 * ms);
    a.acked(up2, dropA + 105 * ms);
    a.caughtUp(up2, dropA + 105 * ms);
    // process B: a connection whose replay took longer
    StormTimes b = new StormTimes();
    long dropB = 90_000 * ms;
    b.drop(dropB);
    long up3 = b.upgraded(dropB + 5_000 * ms);
    b.welcomed(up3, dropB + 5_004 * ms);
    b.acked(up3, dropB + 5_020 * ms);
    b.caughtUp(up3, dropB + 5_200 * ms);

    StormTimes merged = new StormTimes();
    merged.add(WireLoadHarness.kv("stats delivered 1" + a.encode()));
    merged.add(WireLoadHarness.kv("stats delivered 2" + b.encode()));
    Map<String, Object> f = merged.figures();

    assertMs(5_000, f.get("stormUpgradedMaxMs"));
    assertMs(3_000, f.get("stormUpgradedP50Ms"));
    assertMs(200, f.get("stormResumeMaxMs")); // 101 -> caught up, not drop -> caught up
    assertMs(50, f.get("stormResumeP50Ms"));
    assertMs(20, f.get("stormAckAfterUpgradeMaxMs"));
    assertMs(10, f.get("stormAckAfterUpgradeP50Ms"));
    assertMs(4, f.get("stormWelcomeAfterUpgradeMaxMs"));
    assertMs(2, f.get("stormWelcomeAfterUpgradeP50Ms"));
    assertMs(5_200, f.get("stormCaughtUpMaxMs")); // the existing figures keep their meaning
    assertMs(5_020, f.get("stormBackMaxMs"));
    assertEquals(3L, f.get("stormReconnected"));
    assertEquals(3L, f.get("stormUpgradedCount"));
    assertEquals(3L, f.get("stormResumeCount"));

    a.drop(dropA + 60_000 * ms); // a second storm starts from empty histograms
    Map<String, Object> again = new StormTimes().figures();
    StormTimes afterDrop = new StormTimes();
    afterDrop.add(WireLoadHarness.kv("stats" + a.encode()));
    assertEquals(again, afterDrop.figures());
    assertEquals(0L, afterDrop.figures().get("stormUpgradedCount"));
  }

  /** Within HdrHistogram's 3 significant digits. */
  private static void assertMs(double expected, Object actual) {
    assertEquals(expected, (Double) actual, expected * 0.002, "ms");
  }

  @Test
  void mediansAreTakenPerKeyAndGapsAreSummedOverRounds() {
    Map<String, Object> m =
        WireLoadHarness.medians(
            List.of(
                Map.of("x", 3.0, "gaps", 0L, "dups", 1L),
                Map.of("x", 1.0, "gaps", 2L, "dups", 0L),
                Map.of("x", 2.0, "gaps", 0L, "dups", 0L)));
    assertEquals(2.0, m.get("x"));
    assertEquals(2L, m.get("gapsAllRounds"));
    assertEquals(1L, m.get("dupsAllRounds"));
  }
}
