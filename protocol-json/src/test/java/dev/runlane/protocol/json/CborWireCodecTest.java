package dev.runlane.protocol.json;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import dev.runlane.Approval;
import dev.runlane.ErrorCode;
import dev.runlane.FailureReason;
import dev.runlane.RunOutcome;
import dev.runlane.RunState;
import dev.runlane.codec.Inbound;
import dev.runlane.codec.Outbound;
import dev.runlane.codec.ProtocolException;
import dev.runlane.transport.Payload;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The binary option of the codec: every message carries the same fields and values as in JSON,
 * in fewer bytes, and every command decodes to the same thing; bad input gets the same stable codes.
 */
class CborWireCodecTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final CBORMapper CBOR = new CBORMapper();

  final JsonWireCodec json = new JsonWireCodec();
  final JsonWireCodec cbor = JsonWireCodec.builder().cbor().build();

  static final RunOutcome ABORTED =
      new RunOutcome("r1", "s1", "e1", "alice", RunState.ABORTED, null, 130, "aborted by alice", null, 7, "alice");
  static final RunOutcome FAILED =
      new RunOutcome("r1", "s1", "e1", "alice", RunState.FAILED, FailureReason.RUNTIME_THREW, 1, "boom", null, 7, null);
  static final Approval APPROVAL = new Approval("ap1", "r1", "s1", Map.of("tool", "word_count"), 99);

  static final List<Outbound> MESSAGES =
      List.of(
          new Outbound.RunEvent("r1", "s1", "e1", 3, "delta", Map.of("text", "Hel")),
          new Outbound.RunEvent("r1", "s1", "e1", 1, "run.started", "hello \"you\" ü"),
          new Outbound.RunEvent("r1", "s1", "e1", 7, "run.aborted", ABORTED),
          new Outbound.RunEvent("r1", "s1", "e1", 7, "run.failed", FAILED),
          new Outbound.RunStatus("r1", "s1", "phase", "thinking"),
          new Outbound.ApprovalRequested(APPROVAL),
          new Outbound.ApprovalResolved(APPROVAL, Approval.Resolution.ANSWERED, new ApprovalDecision(false, "no"), "bob"),
          new Outbound.ProtocolError(ErrorCode.RUN_IN_PROGRESS, "why", "s1", "ref-9"),
          new Outbound.Notice(null, "reload", Map.of("in", 5)),
          new Outbound.Heartbeat(1_700_000_000_000L),
          new Outbound.Welcome("c1", 4, "ep", true),
          new Outbound.StreamPaired("c1", 4),
          new Outbound.Hello(1, "h"));

  static final List<String> COMMANDS =
      List.of(
          "{\"type\":\"chat.send\",\"sessionId\":\"s1\",\"content\":\"hi\",\"ref\":\"a\"}",
          "{\"type\":\"chat.abort\",\"sessionId\":\"s1\"}",
          "{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"s1\",\"lastSeq\":12,\"epoch\":\"e1\"},{\"sessionId\":\"s2\"}]}",
          "{\"type\":\"chat.unsubscribe\",\"sessionId\":\"s1\"}",
          "{\"type\":\"chat.approval\",\"approvalId\":\"ap1\",\"allow\":true,\"message\":\"ok\"}",
          "{\"type\":\"ping\",\"ref\":\"p\"}",
          "{\"type\":\"hello\",\"protocol\":2,\"ref\":\"h\"}");

  @Test
  void everyMessageCarriesTheSameFieldsAndValuesAsJsonInABinaryFrame() throws Exception {
    for (Outbound m : MESSAGES) {
      Payload p = cbor.encode(m);
      assertInstanceOf(Payload.Binary.class, p, m.toString());
      JsonNode fromCbor = CBOR.readTree(((Payload.Binary) p).toByteArray());
      JsonNode fromJson = JSON.readTree(((Payload.Text) json.encode(m)).text());
      assertEquals(fromJson, fromCbor, m.toString());
    }
  }

  @Test
  void aDeltaIsSmallerInCbor() {
    Outbound delta =
        new Outbound.RunEvent(
            "run_IK5K4O_5_2", "alice/chat", "cd732d31a259916e", 1234, "delta", Map.of("text", "x".repeat(40)));
    int jsonBytes = json.encode(delta).sizeInBytes();
    int cborBytes = cbor.encode(delta).sizeInBytes();
    assertTrue(cborBytes < jsonBytes, "CBOR " + cborBytes + " B, JSON " + jsonBytes + " B");
  }

  @Test
  void everyCommandDecodesAsItDoesFromJson() throws Exception {
    for (String c : COMMANDS) {
      byte[] bytes = CBOR.writeValueAsBytes(JSON.readTree(c));
      Inbound fromCbor = cbor.decode(Payload.binary(bytes));
      Inbound fromJson = json.decode(Payload.text(c));
      assertEquals(fromJson, fromCbor, c);
    }
  }

  @Test
  void badInputGetsTheStableCodes() throws Exception {
    assertEquals(
        ErrorCode.INVALID_PAYLOAD,
        assertThrows(ProtocolException.class, () -> cbor.decode(Payload.text("{\"type\":\"ping\"}"))).code(),
        "a text frame to a CBOR server");
    assertEquals(
        ErrorCode.INVALID_PAYLOAD,
        assertThrows(ProtocolException.class, () -> cbor.decode(Payload.binary(new byte[] {(byte) 0xff, 0x01, 0x02}))).code(),
        "not CBOR");
    assertEquals(
        ErrorCode.INVALID_PAYLOAD,
        assertThrows(ProtocolException.class, () -> cbor.decode(Payload.binary(CBOR.writeValueAsBytes(List.of(1, 2))))).code(),
        "not an object");
    assertEquals(
        ErrorCode.UNKNOWN_MESSAGE_TYPE,
        assertThrows(ProtocolException.class, () -> cbor.decode(Payload.binary(CBOR.writeValueAsBytes(Map.of("type", "nope"))))).code());
    Object deep = "x";
    for (int i = 0; i < 40; i++) {
      deep = List.of(deep);
    }
    Object tooDeep = deep;
    ProtocolException e =
        assertThrows(
            ProtocolException.class,
            () -> cbor.decode(Payload.binary(CBOR.writeValueAsBytes(Map.of("type", "chat.send", "sessionId", "s", "content", tooDeep)))));
    assertEquals(ErrorCode.INVALID_PAYLOAD, e.code(), e.getMessage());
  }

  @Test
  void aCborCodecRefusesAJsonPayloadMapper() {
    assertThrows(IllegalArgumentException.class, () -> JsonWireCodec.builder().cbor().payloadMapper(new ObjectMapper()).build());
    assertDoesNotThrow(() -> JsonWireCodec.builder().cbor().payloadMapper(new CBORMapper()).build());
  }
}
