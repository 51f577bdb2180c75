package dev.runlane.protocol.json;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.runlane.Approval;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Payload;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The JSON protocol end to end through core, over the in-memory transport (no sockets). */
class JsonProtocolThroughRunlaneTest {
  static final ObjectMapper M = new ObjectMapper();
  final ManualTimeSource time = new ManualTimeSource();
  final AtomicReference<RunHandle> lastRun = new AtomicReference<>();
  final AtomicReference<Object> lastDecision = new AtomicReference<>();
  Runlane rl =
      Runlane.builder()
          .codec(new JsonWireCodec())
          .timeSource(time)
          .runtimeExecutor(Runnable::run) // runtime returns at once, leaving the run open
          .runtime((run, input) -> lastRun.set(run))
          .build();
  final InMemoryTransport tx = new InMemoryTransport(rl);

  @AfterEach
  void close() {
    rl.close();
  }

  static List<JsonNode> json(InMemoryConnection c) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (Frame f : c.frames()) {
      out.add(M.readTree(((Payload.Text) f.payload()).text()));
    }
    return out;
  }

  static List<JsonNode> kind(InMemoryConnection c, String kind) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode n : json(c)) {
      if (kind.equals(n.get("kind").asText())) {
        out.add(n);
      }
    }
    return out;
  }

  @Test
  void welcomeSendSubscribeResumeExactlyAndApprove() throws Exception {
    InMemoryConnection a = tx.open("alice");
    assertEquals("welcome", json(a).get(0).get("kind").asText());
    assertEquals(rl.serverEpoch(), json(a).get(0).get("serverEpoch").asText());

    // run the runtime inline but keep the run open: the safety net would end it, so run it by hand
    RunHandle run =
        rl.startRun(dev.runlane.StartRequest.of("alice:1", "alice").fromConnection(a.id()).withInput("hi").following())
            .orElseThrow();
    run.publish("delta", java.util.Map.of("text", "Hel"));
    run.publish("delta", java.util.Map.of("text", "lo"));
    List<JsonNode> events = kind(a, "run_event");
    assertEquals(List.of(1L, 2L, 3L), events.stream().map(n -> n.get("seq").asLong()).toList());
    assertEquals("run.started", events.get(0).get("type").asText());
    assertEquals("hi", events.get(0).get("data").asText());

    // a reloaded page: new connection, subscribe with lastSeq 2 + epoch → ack EXACT then seq 3
    InMemoryConnection a2 = tx.open("alice");
    a2.sendText("{\"type\":\"chat.subscribe\",\"ref\":\"s\",\"sessions\":[{\"sessionId\":\"alice:1\",\"lastSeq\":2,\"epoch\":\"" + run.epoch() + "\"}]}");
    List<JsonNode> got = json(a2);
    assertEquals("subscribed", got.get(1).get("kind").asText());
    assertEquals("EXACT", got.get(1).get("status").asText());
    assertEquals("s", got.get(1).get("ref").asText());
    assertEquals(3, got.get(1).get("headSeq").asLong());
    assertEquals(3, got.get(2).get("seq").asLong());
    assertEquals("lo", got.get(2).get("data").get("text").asText());
    assertEquals(3, got.size());

    // an approval raised now reaches both; it is answered from the new connection
    Approval ap = run.requestApproval(java.util.Map.of("tool", "rm"), null, (ap0, res, decision, by) -> lastDecision.set(decision));
    assertNotNull(ap);
    assertEquals(1, kind(a2, "approval_requested").size());
    a2.sendText("{\"type\":\"chat.approval\",\"approvalId\":\"" + ap.approvalId() + "\",\"allow\":true,\"message\":\"ok\"}");
    assertEquals(new ApprovalDecision(true, "ok"), lastDecision.get());
    JsonNode resolved = kind(a, "approval_resolved").get(0);
    assertEquals("ANSWERED", resolved.get("resolution").asText());
    assertEquals("alice", resolved.get("by").asText());
    assertTrue(resolved.get("decision").get("allow").asBoolean());

    run.complete(java.util.Map.of("text", "Hello"));
    JsonNode end = kind(a2, "run_event").get(1);
    assertEquals("run.completed", end.get("type").asText());
    assertEquals("COMPLETED", end.get("data").get("state").asText());
    assertEquals("Hello", end.get("data").get("result").get("text").asText());
  }

  @Test
  void badFramesGetProtocolErrorsAndTheConnectionKeepsWorking() throws Exception {
    InMemoryConnection a = tx.open("alice");
    a.sendText("garbage");
    a.sendText("{\"type\":\"chat.nope\",\"ref\":\"r1\"}");
    a.sendText("{\"type\":\"chat.send\",\"content\":\"x\",\"ref\":\"r2\"}");
    a.sendText("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"s\",\"lastSeq\":-3}]}");
    a.sendText("{\"type\":\"chat.approval\",\"approvalId\":\"ap_nope\",\"allow\":true,\"ref\":\"r3\"}");
    a.sendText("{\"type\":\"chat.abort\",\"sessionId\":\"alice:none\",\"ref\":\"r4\"}");
    List<JsonNode> errors = kind(a, "protocol_error");
    assertEquals(
        List.of("INVALID_PAYLOAD", "UNKNOWN_MESSAGE_TYPE", "SESSION_ID_REQUIRED", "INVALID_PAYLOAD", "UNKNOWN_APPROVAL", "NO_ACTIVE_RUN"),
        errors.stream().map(n -> n.get("code").asText()).toList());
    assertEquals(List.of("", "r1", "r2", "", "r3", "r4"), errors.stream().map(n -> n.get("ref").isNull() ? "" : n.get("ref").asText()).toList());
    assertTrue(a.isOpen());
    a.sendText("{\"type\":\"ping\"}");
    assertEquals(1, kind(a, "heartbeat").size());
    a.sendText("{\"type\":\"chat.send\",\"sessionId\":\"alice:2\",\"content\":\"hey\"}");
    assertEquals("run.started", kind(a, "run_event").get(0).get("type").asText());
    assertEquals("hey", kind(a, "run_event").get(0).get("data").asText());
  }

  /**
   * Protocol 2 end to end: the hello's answer, then deltas as arrays to that connection only, while
   * a protocol-1 connection on the same run gets the same events as objects; the resume ack maps
   * the run before its compact replay.
   */
  @Test
  void helloSwitchesOneConnectionToCompactDeltas() throws Exception {
    InMemoryConnection v2 = tx.open("alice");
    v2.sendText("{\"type\":\"hello\",\"protocol\":2,\"ref\":\"h1\"}");
    assertEquals("{\"kind\":\"hello\",\"protocol\":2,\"ref\":\"h1\"}",
        ((Payload.Text) v2.frames().get(1).payload()).text());
    RunHandle run =
        rl.startRun(dev.runlane.StartRequest.of("alice:2", "alice").fromConnection(v2.id()).withInput("hi").following())
            .orElseThrow();
    InMemoryConnection v1 = tx.open("alice");
    v1.sendText("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"alice:2\"}]}");
    run.publish("delta", java.util.Map.of("text", "Hel"));
    run.complete(null);

    List<JsonNode> got = json(v2);
    JsonNode started = got.get(2);
    assertEquals("run.started", started.get("type").asText(), "run.started stays a full object");
    JsonNode delta = got.get(3);
    assertTrue(delta.isArray(), delta.toString());
    assertEquals("[\"" + run.runId() + "\",2,\"delta\",{\"text\":\"Hel\"}]", delta.toString());
    assertEquals("run.completed", got.get(4).get("type").asText(), "the terminal event stays a full object");
    List<JsonNode> full = kind(v1, "run_event");
    assertEquals(List.of(1L, 2L, 3L), full.stream().map(n -> n.get("seq").asLong()).toList());
    assertEquals(delta.get(3), full.get(1).get("data"));
    // the testkit reads the compact form too, with TextCodec's protocol-2 name
    dev.runlane.testkit.WireMessage m = v2.messages("cevent").get(0);
    assertEquals(run.runId(), m.get("run"));
    assertEquals(2, m.num("seq"));
    assertEquals("delta", m.get("kind"));
    assertEquals(List.of(1L, 3L), v2.messages("event").stream().map(w -> w.num("seq")).toList());
  }

  /**
   * Protocol 3: a backlog (here: events published while the connection's drain is inside the send
   * of run.started, as a socket's write thread finds them) leaves in one frame whose lines are the
   * messages, in order, in protocol 2's forms; a protocol-2 connection in the same state gets them
   * one frame each, and a transport that does not keep line feeds whole gets no joined frame
   * whatever its client asked for.
   */
  @Test
  void helloThreeJoinsABacklogIntoOneFrame() throws Exception {
    Runlane one =
        Runlane.builder()
            .codec(new JsonWireCodec())
            .timeSource(time)
            .runtimeExecutor(Runnable::run)
            .runtime((run, input) -> lastRun.set(run))
            .build();
    try {
      InMemoryTransport t = new InMemoryTransport(one);
      java.util.Set<dev.runlane.transport.Capability> joinable =
          java.util.Set.of(dev.runlane.transport.Capability.JOINED_MESSAGES);
      InMemoryConnection v3 = t.open("alice", "v3", joinable);
      InMemoryConnection v2 = t.open("alice", "v2", joinable);
      InMemoryConnection sse = t.open("alice", "sse", java.util.Set.of());
      v3.sendText("{\"type\":\"hello\",\"protocol\":3,\"ref\":\"h3\"}");
      v2.sendText("{\"type\":\"hello\",\"protocol\":2}");
      sse.sendText("{\"type\":\"hello\",\"protocol\":3}");
      for (InMemoryConnection c : List.of(v3, v2, sse)) {
        assertEquals(2, c.frames().size(), "welcome and hello answer");
        // follow the session before its run starts: run.started is then the run's first frame
        one.subscribe(c.id(), dev.runlane.SubscribeTarget.session("alice:3", 0L, null), dev.runlane.AttachMode.ADDITIVE);
        assertEquals(3, c.frames().size(), "and the subscribe's ack");
      }
      assertEquals("{\"kind\":\"hello\",\"protocol\":3,\"ref\":\"h3\"}",
          ((Payload.Text) v3.frames().get(1).payload()).text());
      AtomicReference<RunHandle> started = new AtomicReference<>();
      java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();
      v3.onFrame(f -> {
        RunHandle r = started.get();
        if (r != null && once.compareAndSet(false, true)) {
          for (int i = 0; i < 4; i++) { // queued behind the frame being sent, drained right after it
            r.publish("delta", java.util.Map.of("text", "d" + i));
          }
        }
      });
      RunHandle run = one.startRun(dev.runlane.StartRequest.of("alice:3", "alice").withInput("hi")).orElseThrow();
      started.set(run);
      run.publish("delta", java.util.Map.of("text", "first"));

      List<String> v3Frames = new ArrayList<>();
      for (Frame f : v3.frames().subList(3, v3.frames().size())) {
        v3Frames.add(((Payload.Text) f.payload()).text());
      }
      assertEquals(3, v3Frames.size(), "run.started, the first delta, then the backlog joined: " + v3Frames);
      assertTrue(v3Frames.get(2).contains("\n"), v3Frames.get(2));
      List<Long> seqs = new ArrayList<>();
      for (String line : String.join("\n", v3Frames).split("\n", -1)) {
        JsonNode n = M.readTree(line);
        seqs.add(n.isArray() ? n.get(1).asLong() : n.get("seq").asLong());
        if (n.get(0) != null) {
          assertEquals(run.runId(), n.get(0).asText(), "protocol 2's compact form, joined");
        }
      }
      assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), seqs);
      // the testkit splits joined frames too
      assertEquals(List.of(2L, 3L, 4L, 5L, 6L), v3.messages("cevent").stream().map(m -> m.num("seq")).toList());

      assertEquals(v3.messages().size(), v2.messages().size(), "the same messages");
      assertEquals(v2.messages().size(), v2.frames().size(), "protocol 2: one message per frame");
      assertEquals(sse.messages().size(), sse.frames().size(), "no JOINED_MESSAGES: one message per frame");
      assertEquals(v2.frames().size() - 3, v3.frames().size());
    } finally {
      one.close();
    }
  }
}
