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
