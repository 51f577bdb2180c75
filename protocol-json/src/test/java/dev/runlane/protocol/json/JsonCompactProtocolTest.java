package dev.runlane.protocol.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.runlane.ErrorCode;
import dev.runlane.RunState;
import dev.runlane.codec.Inbound;
import dev.runlane.codec.Outbound;
import dev.runlane.codec.ProtocolException;
import dev.runlane.engine.FrameMeta;
import dev.runlane.transport.Payload;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * Protocol 2 of the JSON codec: the hello, and the compact {@code [runId, seq, type, data]} form
 * of host run events derived from the protocol-1 bytes (docs/reference/protocol.md, "Protocol 2").
 */
class JsonCompactProtocolTest {
  static final ObjectMapper M = new ObjectMapper();
  final JsonWireCodec codec = new JsonWireCodec();

  static String text(Payload p) {
    return ((Payload.Text) p).text();
  }

  @Nullable Payload v2(Outbound.RunEvent e) {
    FrameMeta meta = HostMeta.of(e);
    return codec.reshape(codec.encode(e), meta, 2);
  }

  /** The meta core attaches (HostHooks.meta): terminal kinds with an outcome are TERMINAL. */
  static final class HostMeta {
    static FrameMeta of(Outbound.RunEvent e) {
      return e.terminal() && e.data() instanceof dev.runlane.RunOutcome o
          ? FrameMeta.terminal(e.seq(), o)
          : FrameMeta.event(e.seq());
    }
  }

  /** Re-parses the compact form and checks it carries exactly the protocol-1 fields. */
  void assertSameFields(Outbound.RunEvent e) throws Exception {
    Payload full = codec.encode(e);
    Payload compact = codec.reshape(full, HostMeta.of(e), 2);
    assertNotNull(compact, e.kind());
    JsonNode v1 = M.readTree(text(full));
    JsonNode v2 = M.readTree(text(compact));
    assertTrue(v2.isArray(), text(compact));
    assertEquals(4, v2.size(), text(compact));
    assertEquals(v1.get("runId"), v2.get(0));
    assertEquals(v1.get("seq"), v2.get(1));
    assertEquals(v1.get("type"), v2.get(2));
    assertEquals(v1.get("data"), v2.get(3), "data, byte for byte a slice of the full frame");
    assertTrue(compact.sizeInBytes() < full.sizeInBytes());
  }

  static Outbound.RunEvent delta(Object data) {
    return new Outbound.RunEvent("run_abcdefgh_42", "alice/chat", "865466891f5723d6", 17, "delta", data);
  }

  @Test
  void oneDeltaExactly() {
    Payload p = v2(delta(Map.of("text", "Good ")));
    assertEquals("[\"run_abcdefgh_42\",17,\"delta\",{\"text\":\"Good \"}]", text(p));
  }

  @Test
  void onlyHostKindsAreCompactEveryRunKindStaysAFullObject() throws Exception {
    for (String kind : List.of("delta", "tool_call", "tool.result", "runner", "run_x", "Run.started")) {
      assertSameFields(new Outbound.RunEvent("r1", "s1", "e1", 5, kind, "x"));
    }
    Outbound.RunEvent started = new Outbound.RunEvent("r1", "s1", "e1", 1, Outbound.KIND_STARTED, "Hi!");
    assertNull(v2(started), "run.started maps the run: full");
    for (RunState s : List.of(RunState.COMPLETED, RunState.ABORTED, RunState.FAILED)) {
      String kind = s == RunState.COMPLETED ? Outbound.KIND_COMPLETED : s == RunState.ABORTED ? Outbound.KIND_ABORTED : Outbound.KIND_FAILED;
      Outbound.RunEvent end = new Outbound.RunEvent("r1", "s1", "e1", 7, kind, JsonWireCodecTest.outcome(s, "ok"));
      assertNull(codec.reshape(codec.encode(end), HostMeta.of(end), 2), kind);
      // even if a store handed it back with plain EVENT meta, a run.* type stays full
      assertNull(codec.reshape(codec.encode(end), FrameMeta.event(7), 2), kind);
    }
    Outbound.RunEvent custom = new Outbound.RunEvent("r1", "s1", "e1", 3, "run.custom", "x");
    assertNull(v2(custom), "every run.* type stays full");
  }

  @Test
  void dataOfEveryShapeSurvivesTheSlice() throws Exception {
    Map<String, Object> nested = new LinkedHashMap<>();
    nested.put("a", List.of(1, 2, Map.of("b", "}]\"")));
    nested.put("empty", Map.of());
    nested.put("nil", null);
    List<Object> shapes = new ArrayList<>(List.of(
        "plain", "", "quote \" backslash \\ slash / newline \n tab \t", "unicode é 漢字 😀", "\u0001\u001f",
        42, -7L, 3.25, 1e300, true, false, List.of(), nested, "}", "]", "{\"data\":1}"));
    shapes.add(null);
    for (Object data : shapes) {
      assertSameFields(delta(data));
    }
    assertEquals("[\"run_abcdefgh_42\",17,\"delta\",null]", text(v2(delta(null))));
    assertEquals("[\"run_abcdefgh_42\",17,\"delta\",42]", text(v2(delta(42))));
  }

  @Test
  void typesWithCharactersJsonEscapesAreReEscaped() throws Exception {
    assertSameFields(new Outbound.RunEvent("r1", "s1", "e1", 2, "a\"b\\c\nd", "x"));
  }

  @Test
  void randomNestedDataReparsesEqual() throws Exception {
    long seed = System.nanoTime();
    System.out.println("JsonCompactProtocolTest seed " + seed);
    Random rnd = new Random(seed);
    for (int i = 0; i < 300; i++) {
      assertSameFields(new Outbound.RunEvent("run_" + i, "s", "e", 1 + rnd.nextInt(1_000_000), "k" + i, randomValue(rnd, 0)));
    }
  }

  /**
   * The byte-matching fast path ({@code CompactEvents.scan}) and the parser ({@code
   * CompactEvents.parse}) give the same bytes for every event the serializer writes: random run ids
   * and types (escapes, non-ASCII, {@code run.} prefixes) and random data. The fast path must
   * actually serve the plain ones.
   */
  @Test
  void theFastPathAndTheParserGiveTheSameBytes() throws Exception {
    long seed = System.nanoTime();
    System.out.println("JsonCompactProtocolTest fast path seed " + seed);
    Random rnd = new Random(seed);
    int fast = 0;
    for (int i = 0; i < 2_000; i++) {
      String runId = randomName(rnd, "run_");
      String type = randomName(rnd, rnd.nextInt(5) == 0 ? "run." : "");
      long seq = 1 + rnd.nextInt(1_000_000);
      Outbound.RunEvent e = new Outbound.RunEvent(runId, randomName(rnd, "s"), randomName(rnd, "e"), seq, type, randomValue(rnd, 0));
      byte[] full = text(codec.encode(e)).getBytes(StandardCharsets.UTF_8);
      String where = "seed " + seed + ", event " + i + ": " + new String(full, StandardCharsets.UTF_8);
      byte[] scanned = CompactEvents.scan(full, seq);
      Payload parsed = CompactEvents.parse(full, seq);
      if (scanned == null) {
        assertTrue(escaped(runId) || escaped(type) || escaped(e.sessionId()) || escaped(e.epoch()),
            where + ": only an escape may send a frame to the parser");
        continue;
      }
      if (scanned.length == 0) {
        assertNull(parsed, where + ": a run.* event stays full on both paths");
        assertTrue(type.startsWith("run."), where);
        continue;
      }
      fast++;
      assertNotNull(parsed, where);
      assertEquals(text(parsed), new String(scanned, StandardCharsets.UTF_8), where);
    }
    assertTrue(fast > 1_000, "the fast path served " + fast + " of 2000");
  }

  private static boolean escaped(String s) {
    return s.chars().anyMatch(c -> c == '"' || c == '\\' || c < 0x20);
  }

  private static String randomName(Random rnd, String prefix) {
    StringBuilder sb = new StringBuilder(prefix);
    for (int j = rnd.nextInt(10); j > 0; j--) {
      int c = rnd.nextInt(150);
      sb.append(c == 0 ? '"' : c == 1 ? '\\' : c == 2 ? '\n' : c == 3 ? '\u00e9' : c == 4 ? '\u6f22' : (char) ('a' + rnd.nextInt(26)));
    }
    return sb.toString();
  }

  static @Nullable Object randomValue(Random rnd, int depth) {
    int k = rnd.nextInt(depth > 3 ? 5 : 7);
    switch (k) {
      case 0:
        return null;
      case 1:
        return rnd.nextLong();
      case 2:
        return rnd.nextBoolean();
      case 3:
        return rnd.nextDouble();
      case 4:
        StringBuilder sb = new StringBuilder();
        int n = rnd.nextInt(12);
        for (int j = 0; j < n; j++) {
          sb.append((char) (rnd.nextBoolean() ? rnd.nextInt(0x80) : 0x20 + rnd.nextInt(0x2fff)));
        }
        return sb.toString().replaceAll("[\\ud800-\\udfff]", "x");
      case 5:
        List<Object> l = new ArrayList<>();
        for (int j = rnd.nextInt(4); j > 0; j--) {
          l.add(randomValue(rnd, depth + 1));
        }
        return l;
      default:
        Map<String, Object> m = new LinkedHashMap<>();
        for (int j = rnd.nextInt(4); j > 0; j--) {
          m.put("f" + j + (char) ('a' + rnd.nextInt(26)), randomValue(rnd, depth + 1));
        }
        return m;
    }
  }

  @Test
  void aPrettyPrintingPayloadMapperStillGivesTheSameFields() throws Exception {
    JsonWireCodec pretty = JsonWireCodec.builder().payloadMapper(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)).build();
    Outbound.RunEvent e = delta(Map.of("text", "x", "n", List.of(1, 2)));
    Payload compact = pretty.reshape(pretty.encode(e), FrameMeta.event(17), 2);
    assertNotNull(compact);
    assertEquals(M.readTree(text(pretty.encode(e))).get("data"), M.readTree(text(compact)).get(3));
  }

  @Test
  void nothingButARunEventIsReshaped() {
    List<Outbound> others = List.of(
        new Outbound.RunStatus("r1", "s1", "k", "x"),
        new Outbound.Notice("s1", "delta", "x"),
        new Outbound.Heartbeat(1),
        new Outbound.Hello(2, null));
    for (Outbound o : others) {
      assertNull(codec.reshape(codec.encode(o), FrameMeta.event(1), 2), o.getClass().getSimpleName());
    }
    assertNull(codec.reshape(Payload.text("not json"), FrameMeta.event(1), 2));
    assertNull(codec.reshape(codec.encode(delta("x")), FrameMeta.event(17), 1), "protocol 1: unchanged");
    assertNull(codec.reshape(codec.encode(delta("x")), FrameMeta.status(), 2), "not a sequenced event");
  }

  @Test
  void protocolVersions() {
    assertEquals(3, codec.maxProtocol());
    assertEquals(3, codec.joinsFrom(), "protocol 3 joins messages");
    assertEquals(2, codec.formOf(3), "protocol 3 sends protocol 2's forms");
    assertEquals(2, codec.formOf(2));
    assertEquals(1, codec.formOf(1));
    JsonWireCodec cbor = JsonWireCodec.builder().cbor().build();
    assertEquals(1, cbor.maxProtocol(), "CBOR has no compact form");
    assertEquals(0, cbor.joinsFrom(), "CBOR never joins");
    assertNull(cbor.reshape(cbor.encode(delta("x")), FrameMeta.event(17), 2));
    assertNull(cbor.join(List.of(cbor.encode(delta("x")), cbor.encode(delta("y")))));
  }

  @Test
  void joinPutsTheMessagesOnOneLineEachAndSplitsBackExactly() throws Exception {
    Payload a = codec.encode(delta("line\nfeed inside a string is escaped"));
    Payload b = codec.reshape(codec.encode(delta("ünï")), FrameMeta.event(2), 2);
    Payload c = codec.encode(new Outbound.Hello(3, "h"));
    Payload joined = codec.join(List.of(a, b, c));
    assertNotNull(joined);
    String text = ((Payload.Text) joined).text();
    String[] lines = text.split("\n", -1);
    assertEquals(3, lines.length, text);
    assertEquals(((Payload.Text) a).text(), lines[0]);
    assertEquals(((Payload.Text) b).text(), lines[1]);
    assertEquals(((Payload.Text) c).text(), lines[2]);
    assertEquals(a.sizeInBytes() + b.sizeInBytes() + c.sizeInBytes() + 2, joined.sizeInBytes());
    assertEquals("line\nfeed inside a string is escaped", M.readTree(lines[0]).get("data").asText());
  }

  @Test
  void aPartWithARawLineFeedOrBinaryIsNotJoined() {
    Payload ok = codec.encode(delta("x"));
    assertNull(codec.join(List.of(ok, Payload.text("{\"raw\":\n1}"))), "a raw line feed would split wrongly");
    assertNull(codec.join(List.of(ok, Payload.binary(new byte[] {1}))));
  }

  @Test
  void helloDecodes() throws Exception {
    Inbound.Hello h = assertInstanceOf(Inbound.Hello.class,
        codec.decode(Payload.text("{\"type\":\"hello\",\"protocol\":2,\"ref\":\"h1\"}")));
    assertEquals(2, h.protocol());
    assertEquals("h1", h.ref());
    Inbound.Hello big = assertInstanceOf(Inbound.Hello.class,
        codec.decode(Payload.text("{\"type\":\"hello\",\"protocol\":99999999999999999999}")));
    assertEquals(Integer.MAX_VALUE, big.protocol(), "a newer client than any server gets the server's newest");
  }

  @Test
  void helloRefusals() {
    for (String bad : List.of("0", "-1", "\"2\"", "2.5", "null", "true", "{}", "-99999999999999999999")) {
      ProtocolException e = assertThrows(ProtocolException.class,
          () -> codec.decode(Payload.text("{\"type\":\"hello\",\"protocol\":" + bad + ",\"ref\":\"h\"}")), bad);
      assertEquals(ErrorCode.INVALID_PAYLOAD, e.code(), bad);
      assertEquals("h", e.ref(), bad);
    }
    ProtocolException missing = assertThrows(ProtocolException.class, () -> codec.decode(Payload.text("{\"type\":\"hello\"}")));
    assertEquals(ErrorCode.INVALID_PAYLOAD, missing.code());
  }

  @Test
  void helloAnswerEncodes() {
    assertEquals("{\"kind\":\"hello\",\"protocol\":2,\"ref\":\"h1\"}", text(codec.encode(new Outbound.Hello(2, "h1"))));
    assertEquals("{\"kind\":\"hello\",\"protocol\":1,\"ref\":null}", text(codec.encode(new Outbound.Hello(1, null))));
  }

  @Test
  void aFiftyBytePayloadDeltaIsAtMostOneHundredBytes() {
    // the shape of a real delta: a run id as core makes them, data {"text": 39 characters} = 50 bytes
    String text = "x".repeat(39);
    Outbound.RunEvent e = new Outbound.RunEvent("run_FukfjVWw_1k", "alice/chat-1", "865466891f5723d6", 1234, "delta", Map.of("text", text));
    Payload full = codec.encode(e);
    Payload compact = codec.reshape(full, FrameMeta.event(1234), 2);
    assertEquals(50, M.valueToTree(Map.of("text", text)).toString().length());
    assertNotNull(compact);
    assertTrue(compact.sizeInBytes() <= 100, compact.sizeInBytes() + " bytes: " + text(compact));
    assertTrue(full.sizeInBytes() > 150, full.sizeInBytes() + " bytes in protocol 1");
  }
}
