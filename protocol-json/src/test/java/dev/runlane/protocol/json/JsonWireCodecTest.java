package dev.runlane.protocol.json;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import dev.runlane.Approval;
import dev.runlane.ErrorCode;
import dev.runlane.FailureReason;
import dev.runlane.codec.Inbound;
import dev.runlane.codec.Outbound;
import dev.runlane.codec.ProtocolException;
import dev.runlane.ResumeStatus;
import dev.runlane.RunOutcome;
import dev.runlane.RunState;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.SubscribeTarget;
import dev.runlane.transport.Payload;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class JsonWireCodecTest {
  static final ObjectMapper M = new ObjectMapper();
  final JsonWireCodec codec = new JsonWireCodec();

  JsonNode enc(Outbound m) throws Exception {
    Payload p = codec.encode(m);
    assertInstanceOf(Payload.Text.class, p);
    return M.readTree(((Payload.Text) p).text());
  }

  Inbound dec(String json) throws ProtocolException {
    return codec.decode(Payload.text(json));
  }

  ProtocolException err(String json) {
    return assertThrows(ProtocolException.class, () -> dec(json), json);
  }

  static RunOutcome outcome(RunState state, Object result) {
    return new RunOutcome(
        "r1", "s1", "e1", "alice", state,
        state == RunState.FAILED ? FailureReason.RUNTIME_THREW : null,
        state == RunState.ABORTED ? 130 : 0,
        state == RunState.ABORTED ? "aborted by alice" : null,
        result, 7, state == RunState.ABORTED ? "alice" : null);
  }

  @Nested
  class Encode {
    @Test
    void runEventCarriesEveryFieldAndHostData() throws Exception {
      JsonNode n = enc(new Outbound.RunEvent("r1", "s1", "e1", 3, "delta", Map.of("text", "Hel")));
      assertEquals("run_event", n.get("kind").asText());
      assertEquals("r1", n.get("runId").asText());
      assertEquals("s1", n.get("sessionId").asText());
      assertEquals(3, n.get("seq").asLong());
      assertEquals("e1", n.get("epoch").asText());
      assertEquals("delta", n.get("type").asText());
      assertEquals("Hel", n.get("data").get("text").asText());
    }

    @Test
    void runEventWithStringAndNullData() throws Exception {
      assertEquals("hello \"you\"", enc(new Outbound.RunEvent("r", "s", "e", 1, "run.started", "hello \"you\"")).get("data").asText());
      assertTrue(enc(new Outbound.RunEvent("r", "s", "e", 1, "x", null)).get("data").isNull());
    }

    @Test
    void terminalEventCarriesTheOutcome() throws Exception {
      JsonNode n = enc(new Outbound.RunEvent("r1", "s1", "e1", 7, "run.aborted", outcome(RunState.ABORTED, null)));
      assertEquals("run.aborted", n.get("type").asText());
      JsonNode o = n.get("data");
      assertEquals("ABORTED", o.get("state").asText());
      assertEquals(130, o.get("exitCode").asInt());
      assertEquals(7, o.get("terminalSeq").asLong());
      assertEquals("alice", o.get("abortedBy").asText());
      assertEquals("alice", o.get("owner").asText());
      assertTrue(o.get("failureReason").isNull());
      assertTrue(o.get("result").isNull());

      JsonNode f = enc(new Outbound.RunEvent("r1", "s1", "e1", 7, "run.failed", outcome(RunState.FAILED, null))).get("data");
      assertEquals("RUNTIME_THREW", f.get("failureReason").asText());

      JsonNode c = enc(new Outbound.RunEvent("r1", "s1", "e1", 7, "run.completed", outcome(RunState.COMPLETED, Map.of("text", "hi")))).get("data");
      assertEquals("hi", c.get("result").get("text").asText());
    }

    @Test
    void subscribedCarriesTheFullTypedResumeResult() throws Exception {
      Approval ap = new Approval("ap1", "r1", "s1", Map.of("tool", "rm"), 0);
      Approval ap2 = new Approval("ap2", "r1", "s1", null, 1234);
      SubscribeAck ack = new SubscribeAck("s1", "r1", "e1", ResumeStatus.EXACT, true, 9, 2, 5, 9, false, true, List.of(ap, ap2), null, 4);
      JsonNode n = enc(new Outbound.Subscribed(ack, "ref-1"));
      assertEquals("subscribed", n.get("kind").asText());
      assertEquals("ref-1", n.get("ref").asText());
      assertEquals("s1", n.get("sessionId").asText());
      assertEquals("r1", n.get("runId").asText());
      assertEquals("e1", n.get("epoch").asText());
      assertEquals("EXACT", n.get("status").asText());
      assertTrue(n.get("processing").asBoolean());
      assertEquals(9, n.get("headSeq").asLong());
      assertEquals(2, n.get("oldestSeq").asLong());
      assertEquals(5, n.get("replayFrom").asLong());
      assertEquals(9, n.get("replayTo").asLong());
      assertFalse(n.get("truncated").asBoolean());
      assertTrue(n.get("following").asBoolean());
      assertEquals(4, n.get("requestedLastSeq").asLong());
      assertEquals(2, n.get("pendingApprovals").size());
      JsonNode a0 = n.get("pendingApprovals").get(0);
      assertEquals("ap1", a0.get("approvalId").asText());
      assertEquals("r1", a0.get("runId").asText());
      assertEquals("rm", a0.get("payload").get("tool").asText());
      assertTrue(a0.get("expiresAt").isNull());
      assertEquals(1234, n.get("pendingApprovals").get(1).get("expiresAt").asLong());
      assertTrue(n.get("outcome").isNull());
    }

    @Test
    void subscribedForAFinishedAndAnUnknownRun() throws Exception {
      SubscribeAck fin = new SubscribeAck("s1", "r1", "e1", ResumeStatus.FINISHED, false, 7, 1, 6, 7, false, true, List.of(), outcome(RunState.COMPLETED, null), 5);
      JsonNode n = enc(new Outbound.Subscribed(fin, null));
      assertEquals("FINISHED", n.get("status").asText());
      assertTrue(n.get("ref").isNull());
      assertEquals("COMPLETED", n.get("outcome").get("state").asText());
      SubscribeAck unk = new SubscribeAck("s2", null, null, ResumeStatus.UNKNOWN_RUN, false, 0, 1, 1, 0, true, true, List.of(), null, 3);
      JsonNode u = enc(new Outbound.Subscribed(unk, null));
      assertEquals("UNKNOWN_RUN", u.get("status").asText());
      assertTrue(u.get("runId").isNull());
      assertTrue(u.get("epoch").isNull());
      assertTrue(u.get("truncated").asBoolean());
    }

    @Test
    void protocolErrorCarriesItsStableCode() throws Exception {
      for (ErrorCode code : ErrorCode.values()) {
        JsonNode n = enc(new Outbound.ProtocolError(code, "why", "s1", "r9"));
        assertEquals("protocol_error", n.get("kind").asText());
        assertEquals(code.name(), n.get("code").asText());
        assertEquals("why", n.get("message").asText());
        assertEquals("s1", n.get("sessionId").asText());
        assertEquals("r9", n.get("ref").asText());
      }
      JsonNode n = enc(new Outbound.ProtocolError(ErrorCode.INVALID_PAYLOAD, "x", null, null));
      assertTrue(n.get("sessionId").isNull());
      assertTrue(n.get("ref").isNull());
    }

    @Test
    void approvals() throws Exception {
      Approval ap = new Approval("ap1", "r1", "s1", Map.of("tool", "word_count"), 99);
      JsonNode req = enc(new Outbound.ApprovalRequested(ap));
      assertEquals("approval_requested", req.get("kind").asText());
      assertEquals("ap1", req.get("approvalId").asText());
      assertEquals("r1", req.get("runId").asText());
      assertEquals("s1", req.get("sessionId").asText());
      assertEquals("word_count", req.get("payload").get("tool").asText());
      assertEquals(99, req.get("expiresAt").asLong());

      JsonNode res = enc(new Outbound.ApprovalResolved(ap, Approval.Resolution.ANSWERED, new ApprovalDecision(false, "no"), "bob"));
      assertEquals("approval_resolved", res.get("kind").asText());
      assertEquals("ap1", res.get("approvalId").asText());
      assertEquals("ANSWERED", res.get("resolution").asText());
      assertFalse(res.get("decision").get("allow").asBoolean());
      assertEquals("no", res.get("decision").get("message").asText());
      assertEquals("bob", res.get("by").asText());

      JsonNode ended = enc(new Outbound.ApprovalResolved(ap, Approval.Resolution.RUN_ENDED, null, null));
      assertEquals("RUN_ENDED", ended.get("resolution").asText());
      assertTrue(ended.get("decision").isNull());
      assertTrue(ended.get("by").isNull());
    }

    @Test
    void unsequencedFrames() throws Exception {
      JsonNode st = enc(new Outbound.RunStatus("r1", "s1", "phase", "thinking"));
      assertEquals("status", st.get("kind").asText());
      assertEquals("r1", st.get("runId").asText());
      assertEquals("s1", st.get("sessionId").asText());
      assertEquals("phase", st.get("key").asText());
      assertEquals("thinking", st.get("data").asText());

      JsonNode no = enc(new Outbound.Notice(null, "reload", Map.of("in", 5)));
      assertEquals("notice", no.get("kind").asText());
      assertTrue(no.get("sessionId").isNull());
      assertEquals("reload", no.get("type").asText());
      assertEquals(5, no.get("data").get("in").asInt());
      assertEquals("s1", enc(new Outbound.Notice("s1", "model", null)).get("sessionId").asText());

      JsonNode hb = enc(new Outbound.Heartbeat(1700000000000L));
      assertEquals("heartbeat", hb.get("kind").asText());
      assertEquals(1700000000000L, hb.get("ts").asLong());

      JsonNode w = enc(new Outbound.Welcome("c1", 4, "ep", true));
      assertEquals("welcome", w.get("kind").asText());
      assertEquals("c1", w.get("connectionId").asText());
      assertEquals(4, w.get("generation").asLong());
      assertEquals("ep", w.get("serverEpoch").asText());
      assertTrue(w.get("streamTransport").asBoolean());

      JsonNode sp = enc(new Outbound.StreamPaired("c1", 4));
      assertEquals("stream_paired", sp.get("kind").asText());
      assertEquals("c1", sp.get("connectionId").asText());
      assertEquals(4, sp.get("generation").asLong());

      JsonNode hello = enc(new Outbound.Hello(2, "h1"));
      assertEquals("hello", hello.get("kind").asText());
      assertEquals(2, hello.get("protocol").asInt());
      assertEquals("h1", hello.get("ref").asText());
    }

    @Test
    void everyOutboundTypeHasAKind() {
      // Outbound is sealed: a new permitted type without an encoder branch fails here.
      for (Class<?> c : Outbound.class.getPermittedSubclasses()) {
        assertTrue(c.isRecord(), c.getName());
      }
      assertEquals(11, Outbound.class.getPermittedSubclasses().length,
          "a new Outbound type needs an encoder branch, a test here and a row in protocol.md");
    }

    @Test
    void hostPayloadMapperIsUsedAndCopied() throws Exception {
      record Tool(String toolName) {}
      ObjectMapper host = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
      JsonWireCodec c = JsonWireCodec.builder().payloadMapper(host).build();
      host.setPropertyNamingStrategy(PropertyNamingStrategies.UPPER_CAMEL_CASE); // later change: no effect
      JsonNode n = M.readTree(((Payload.Text) c.encode(new Outbound.RunEvent("r", "s", "e", 2, "tool_call", new Tool("grep")))).text());
      assertEquals("grep", n.get("data").get("tool_name").asText());
      // the protocol's own field names are not renamed by the host's naming strategy
      assertTrue(n.has("runId"));
    }

    @Test
    void unserializableHostDataThrowsSoRunlaneDropsTheEvent() {
      Object selfRef = new Object() {
        public Object getSelf() {
          return this;
        }
      };
      assertThrows(RuntimeException.class, () -> codec.encode(new Outbound.RunEvent("r", "s", "e", 2, "x", selfRef)));
      // and the codec keeps working
      assertDoesNotThrow(() -> codec.encode(new Outbound.Heartbeat(1)));
    }

    @Test
    void textIsEscaped() throws Exception {
      String nasty = "line\n\"quote\" </script> \u2028 \uD83D\uDE00 \\";
      assertEquals(nasty, enc(new Outbound.RunEvent("r", "s", "e", 2, "delta", nasty)).get("data").asText());
    }
  }

  @Nested
  class Decode {
    @Test
    void chatSend() throws Exception {
      Inbound.StartRun s = (Inbound.StartRun) dec("{\"type\":\"chat.send\",\"sessionId\":\"s1\",\"content\":\"hi\",\"ref\":\"a\",\"extra\":[1]}");
      assertEquals("s1", s.sessionId());
      assertEquals("hi", s.input());
      assertEquals("a", s.ref());
      Inbound.StartRun noRef = (Inbound.StartRun) dec("{\"type\":\"chat.send\",\"sessionId\":\"s1\",\"content\":\"\"}");
      assertNull(noRef.ref());
      assertEquals("", noRef.input());
    }

    @Test
    void chatAbort() throws Exception {
      Inbound.AbortRun a = (Inbound.AbortRun) dec("{\"type\":\"chat.abort\",\"sessionId\":\"s1\"}");
      assertEquals("s1", a.sessionId());
      assertNull(a.runId());
      Inbound.AbortRun b = (Inbound.AbortRun) dec("{\"type\":\"chat.abort\",\"sessionId\":\"s1\",\"runId\":\"r1\",\"ref\":\"x\"}");
      assertEquals("r1", b.runId());
      assertEquals("x", b.ref());
    }

    @Test
    void chatSubscribe() throws Exception {
      Inbound.Subscribe s = (Inbound.Subscribe) dec("{\"type\":\"chat.subscribe\",\"ref\":\"q\",\"sessions\":["
          + "{\"sessionId\":\"s1\",\"lastSeq\":12,\"epoch\":\"e1\"},"
          + "{\"sessionId\":\"s2\"},"
          + "{\"sessionId\":\"s3\",\"epoch\":null,\"runId\":\"r3\"},"
          + "{\"sessionId\":\"s4\",\"lastSeq\":9007199254740993}]}");
      assertEquals("q", s.ref());
      assertEquals(List.of(
          new SubscribeTarget("s1", null, 12, "e1"),
          new SubscribeTarget("s2", null, 0, null),
          new SubscribeTarget("s3", "r3", 0, null),
          new SubscribeTarget("s4", null, 9007199254740993L, null)), s.targets());
    }

    @Test
    void chatUnsubscribe() throws Exception {
      Inbound.Unsubscribe u = (Inbound.Unsubscribe) dec("{\"type\":\"chat.unsubscribe\",\"sessionId\":\"s1\",\"ref\":\"z\"}");
      assertEquals("s1", u.sessionId());
      assertEquals("z", u.ref());
    }

    @Test
    void chatApproval() throws Exception {
      Inbound.ResolveApproval a = (Inbound.ResolveApproval) dec("{\"type\":\"chat.approval\",\"approvalId\":\"ap1\",\"allow\":true}");
      assertEquals("ap1", a.approvalId());
      assertEquals(new ApprovalDecision(true, null), a.decision());
      Inbound.ResolveApproval d = (Inbound.ResolveApproval) dec("{\"type\":\"chat.approval\",\"approvalId\":\"ap1\",\"allow\":false,\"message\":\"not now\"}");
      assertEquals(new ApprovalDecision(false, "not now"), d.decision());
    }

    @Test
    void ping() throws Exception {
      assertEquals(new Inbound.Ping(null), dec("{\"type\":\"ping\"}"));
      assertEquals(new Inbound.Ping("p1"), dec(" {\"type\":\"ping\",\"ref\":\"p1\"} "));
    }

    @Test
    void binaryFramesAreUtf8Json() throws Exception {
      Inbound i = codec.decode(Payload.binary("{\"type\":\"chat.send\",\"sessionId\":\"s\u00e9\",\"content\":\"\u00fc\"}".getBytes(StandardCharsets.UTF_8)));
      assertEquals("s\u00e9", ((Inbound.StartRun) i).sessionId());
      assertEquals("\u00fc", ((Inbound.StartRun) i).input());
    }
  }

  static Stream<Arguments> badFrames() {
    String deep = "{\"type\":\"ping\",\"x\":" + "[".repeat(40) + "]".repeat(40) + "}";
    StringBuilder many = new StringBuilder("{\"type\":\"chat.subscribe\",\"sessions\":[");
    for (int i = 0; i < 65; i++) {
      many.append(i == 0 ? "" : ",").append("{\"sessionId\":\"s").append(i).append("\"}");
    }
    many.append("]}");
    return Stream.of(
        // not JSON, not an object
        Arguments.of("not json", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("   ", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"ping\"", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"ping\"} {}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("[]", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("\"ping\"", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("null", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("42", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"ping\",\"type\":\"chat.send\"}", ErrorCode.INVALID_PAYLOAD),
        // type
        Arguments.of("{}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":null}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":5}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.delete\"}", ErrorCode.UNKNOWN_MESSAGE_TYPE),
        Arguments.of("{\"type\":\"\"}", ErrorCode.UNKNOWN_MESSAGE_TYPE),
        Arguments.of("{\"type\":\"PING\"}", ErrorCode.UNKNOWN_MESSAGE_TYPE),
        // ref
        Arguments.of("{\"type\":\"ping\",\"ref\":1}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"ping\",\"ref\":\"" + "r".repeat(129) + "\"}", ErrorCode.INVALID_PAYLOAD),
        // session ids
        Arguments.of("{\"type\":\"chat.send\",\"content\":\"x\"}", ErrorCode.SESSION_ID_REQUIRED),
        Arguments.of("{\"type\":\"chat.send\",\"sessionId\":null,\"content\":\"x\"}", ErrorCode.SESSION_ID_REQUIRED),
        Arguments.of("{\"type\":\"chat.send\",\"sessionId\":\"  \",\"content\":\"x\"}", ErrorCode.SESSION_ID_REQUIRED),
        Arguments.of("{\"type\":\"chat.send\",\"sessionId\":7,\"content\":\"x\"}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.abort\"}", ErrorCode.SESSION_ID_REQUIRED),
        Arguments.of("{\"type\":\"chat.unsubscribe\"}", ErrorCode.SESSION_ID_REQUIRED),
        Arguments.of("{\"type\":\"chat.subscribe\",\"sessions\":[{\"lastSeq\":1}]}", ErrorCode.SESSION_ID_REQUIRED),
        // chat.send
        Arguments.of("{\"type\":\"chat.send\",\"sessionId\":\"s\"}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.send\",\"sessionId\":\"s\",\"content\":{\"a\":1}}", ErrorCode.INVALID_PAYLOAD),
        // chat.abort
        Arguments.of("{\"type\":\"chat.abort\",\"sessionId\":\"s\",\"runId\":3}", ErrorCode.INVALID_PAYLOAD),
        // chat.subscribe
        Arguments.of("{\"type\":\"chat.subscribe\"}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.subscribe\",\"sessions\":{}}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.subscribe\",\"sessions\":[]}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.subscribe\",\"sessions\":[\"s1\"]}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"s\",\"lastSeq\":-1}]}", ErrorCode.INVALID_PAYLOAD),
        // null is not a number: only an absent lastSeq means 0 (issue 12, item 4)
        Arguments.of("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"s\",\"lastSeq\":null}]}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"s\",\"lastSeq\":1.5}]}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"s\",\"lastSeq\":2.0}]}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"s\",\"lastSeq\":1e3}]}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"s\",\"lastSeq\":\"3\"}]}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"s\",\"lastSeq\":99999999999999999999}]}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"s\",\"epoch\":5}]}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"s\",\"runId\":[]}]}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of(many.toString(), ErrorCode.TOO_MANY_SUBSCRIPTIONS),
        // chat.approval
        Arguments.of("{\"type\":\"chat.approval\",\"allow\":true}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.approval\",\"approvalId\":\"a\"}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.approval\",\"approvalId\":\"a\",\"allow\":\"yes\"}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.approval\",\"approvalId\":\"a\",\"allow\":true,\"message\":false}", ErrorCode.INVALID_PAYLOAD),
        // limits
        Arguments.of(deep, ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"chat.send\",\"sessionId\":\"s\",\"content\":\"" + "x".repeat(64 * 1024 + 1) + "\"}", ErrorCode.PAYLOAD_TOO_LARGE),
        Arguments.of("{\"type\":\"ping\",\"" + "k".repeat(300) + "\":1}", ErrorCode.INVALID_PAYLOAD),
        Arguments.of("{\"type\":\"ping\",\"n\":" + "1".repeat(40) + "}", ErrorCode.INVALID_PAYLOAD));
  }

  @ParameterizedTest
  @MethodSource("badFrames")
  void everyBadFrameGetsItsStableCode(String json, ErrorCode expected) {
    ProtocolException e = err(json);
    assertEquals(expected, e.code(), () -> "frame " + abbreviate(json) + ": " + e.getMessage());
    assertNotNull(e.getMessage());
    assertTrue(e.getMessage().length() < 200, "messages stay short: " + e.getMessage());
  }

  @Test
  void errorsCarryTheRefWhenItCouldBeRead() {
    assertEquals("r7", err("{\"type\":\"nope\",\"ref\":\"r7\"}").ref());
    assertEquals("r7", err("{\"type\":\"chat.send\",\"ref\":\"r7\",\"content\":\"x\"}").ref());
    assertEquals("r7", err("{\"type\":\"chat.subscribe\",\"ref\":\"r7\",\"sessions\":[{\"sessionId\":\"s\",\"lastSeq\":-4}]}").ref());
    assertNull(err("{\"type\":\"nope\",\"ref\":5}").ref());
    assertNull(err("not json").ref());
  }

  @Test
  void unknownTypeIsEchoedShortened() {
    ProtocolException e = err("{\"type\":\"" + "t".repeat(1000) + "\"}");
    assertEquals(ErrorCode.UNKNOWN_MESSAGE_TYPE, e.code());
    assertTrue(e.getMessage().length() < 120, e.getMessage());
  }

  @Test
  void limitsAreConfigurable() throws Exception {
    JsonWireCodec strict = JsonWireCodec.builder().maxSubscribeTargets(1).maxNestingDepth(3).maxStringLength(20).maxRefLength(2).build();
    String two = "{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"a\"},{\"sessionId\":\"b\"}]}";
    assertEquals(ErrorCode.TOO_MANY_SUBSCRIPTIONS, assertThrows(ProtocolException.class, () -> strict.decode(Payload.text(two))).code());
    assertEquals(2, ((Inbound.Subscribe) codec.decode(Payload.text(two))).targets().size());
    assertEquals(ErrorCode.PAYLOAD_TOO_LARGE, assertThrows(ProtocolException.class,
        () -> strict.decode(Payload.text("{\"type\":\"chat.send\",\"sessionId\":\"s\",\"content\":\"123456789012345678901\"}"))).code());
    assertEquals("12345678901234567890", ((Inbound.StartRun) strict.decode(Payload.text("{\"type\":\"chat.send\",\"sessionId\":\"s\",\"content\":\"12345678901234567890\"}"))).input());
    assertEquals(ErrorCode.INVALID_PAYLOAD, assertThrows(ProtocolException.class,
        () -> strict.decode(Payload.text("{\"type\":\"ping\",\"x\":[[[1]]]}"))).code());
    assertEquals(new Inbound.Ping(null), strict.decode(Payload.text("{\"type\":\"ping\",\"x\":[[1]]}")));
    assertEquals(ErrorCode.INVALID_PAYLOAD, assertThrows(ProtocolException.class,
        () -> strict.decode(Payload.text("{\"type\":\"ping\",\"ref\":\"abc\"}"))).code());
    assertThrows(IllegalArgumentException.class, () -> JsonWireCodec.builder().maxSubscribeTargets(0));
  }

  @Test
  void decodedInputRoundTripsThroughEncoding() throws Exception {
    // what a client sends in chat.send comes back verbatim as run.started's data
    String content = "h\u00e9llo \"w\" \n\t\u0001";
    Inbound.StartRun s = (Inbound.StartRun) dec(M.writeValueAsString(Map.of("type", "chat.send", "sessionId", "s", "content", content)));
    JsonNode started = enc(new Outbound.RunEvent("r", "s", "e", 1, Outbound.KIND_STARTED, s.input()));
    assertEquals(content, started.get("data").asText());
  }

  static String abbreviate(String s) {
    return s.length() > 120 ? s.substring(0, 120) + "…" : s;
  }
}
