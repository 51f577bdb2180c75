package dev.runlane.transport.sse;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.Result;
import dev.runlane.protocol.json.JsonWireCodec;
import dev.runlane.tck.PeerMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A raw HTTP client follows a run over SSE, drops the TCP connection mid-run, and reconnects with
 * {@code Last-Event-ID} exactly as a browser's {@code EventSource} does: the replay is exact (the
 * missed events once each, in order, then live ones up to the one terminal event), with no client
 * code beyond the reconnect.
 */
class LastEventIdResumeTest {
  static final Duration WAIT = Duration.ofSeconds(10);
  static final ObjectMapper M = new ObjectMapper();

  final Runlane runlane = Runlane.builder().codec(new JsonWireCodec()).build();
  final SseFixture fixture = new SseFixture();
  final List<SseClientPeer> peers = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (SseClientPeer p : peers) {
      p.close();
    }
    fixture.close();
    runlane.close();
  }

  SseClientPeer open(Map<String, String> headers) throws Exception {
    SseClientPeer p = SseClientPeer.connect(fixture.port(), "/sse", headers, WAIT);
    peers.add(p);
    return p;
  }

  static List<JsonNode> runEvents(SseClientPeer p) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (PeerMessage m : p.recording().messages()) {
      JsonNode n = M.readTree(m.text());
      if ("run_event".equals(n.path("kind").asText())) {
        out.add(n);
      }
    }
    return out;
  }

  /** The server side of every stream this test opened, for a failure message. */
  final List<SseConnection> serverSide = new java.util.concurrent.CopyOnWriteArrayList<>();

  void awaitRunEvents(SseClientPeer p, int count) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (runEvents(p).size() < count) {
      assertTrue(
          System.nanoTime() < deadline,
          () -> "waited for " + count + " run events: " + p.recording() + "; server side: " + serverSide + threads());
      Thread.sleep(5);
    }
  }

  static String threads() {
    StringBuilder sb = new StringBuilder("\nthreads:\n");
    Thread.getAllStackTraces().forEach((t, stack) -> {
      if (t.getName().startsWith("http") || t.getName().startsWith("runlane")) {
        sb.append(t.getName()).append(' ').append(t.getState()).append('\n');
        for (StackTraceElement e : stack) {
          sb.append("    at ").append(e).append('\n');
        }
      }
    });
    return sb.toString();
  }

  @Test
  void aBrowserStyleReconnectWithLastEventIdResumesExactly() throws Exception {
    fixture.start(
        SseRunlaneServlet.builder(
                c -> {
                  serverSide.add(c);
                  return runlane.connect(c);
                })
            .principal(r -> r.getHeader(SseFixture.PRINCIPAL_HEADER))
            .events(new JsonSseEvents())
            .keepAliveInterval(Duration.ofMillis(100))
            .build());
    RunHandle run =
        runlane.startRun(StartRequest.of("alice/chat", "alice")).orElseThrow(); // seq 1
    SseClientPeer first = open(Map.of(SseFixture.PRINCIPAL_HEADER, "alice"));
    first.sendText(M.writeValueAsString(Map.of("type", "chat.subscribe", "sessions", List.of(Map.of("sessionId", "alice/chat")))));
    for (int i = 0; i < 5; i++) {
      run.publish("delta", Map.of("text", "a" + i)); // seq 2..6
    }
    awaitRunEvents(first, 6);
    List<JsonNode> before = runEvents(first);
    String lastId = first.lastEventId();
    assertEquals(JsonSseEvents.id("alice/chat", run.epoch(), 6), lastId, "every run event carries session, epoch and seq");
    assertEquals(6, first.ids().size(), "only run events carry ids: " + first.ids());
    first.abort(); // the network drops mid-run

    for (int i = 5; i < 9; i++) {
      run.publish("delta", Map.of("text", "a" + i)); // seq 7..10, missed
    }
    SseClientPeer second = open(Map.of(SseFixture.PRINCIPAL_HEADER, "alice", "Last-Event-ID", lastId));
    awaitRunEvents(second, 4);
    run.publish("delta", Map.of("text", "live")); // seq 11
    run.complete("done"); // seq 12
    awaitRunEvents(second, 6);

    JsonNode ack = null;
    for (PeerMessage m : second.recording().messages()) {
      JsonNode n = M.readTree(m.text());
      if ("subscribed".equals(n.path("kind").asText())) {
        ack = n;
      }
    }
    assertNotNull(ack, "the Last-Event-ID became a subscribe: " + second.recording().messages());
    assertEquals("EXACT", ack.get("status").asText(), ack::toString);
    assertEquals(7, ack.get("replayFrom").asLong());

    List<Long> seqs = new ArrayList<>();
    for (JsonNode n : before) {
      seqs.add(n.get("seq").asLong());
    }
    List<JsonNode> after = runEvents(second);
    for (JsonNode n : after) {
      seqs.add(n.get("seq").asLong());
    }
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L), seqs, "each event once, in order, across the drop");
    assertEquals("run.completed", after.get(after.size() - 1).get("type").asText());
    assertEquals(JsonSseEvents.id("alice/chat", run.epoch(), 12), second.lastEventId());
  }

  @Test
  void eventIdsAndResumeCommandsRoundTripOddSessionIds() throws Exception {
    JsonSseEvents events = new JsonSseEvents();
    String id = JsonSseEvents.id("a b/ü+%", "ep och", 42);
    assertFalse(id.contains("\n"));
    JsonNode cmd = M.readTree(((dev.runlane.transport.Payload.Text) events.resumeCommand(id)).text());
    JsonNode target = cmd.get("sessions").get(0);
    assertEquals("chat.subscribe", cmd.get("type").asText());
    assertEquals("a b/ü+%", target.get("sessionId").asText());
    assertEquals("ep och", target.get("epoch").asText());
    assertEquals(42, target.get("lastSeq").asLong());
    assertNull(events.resumeCommand("not an id of ours"));
    assertNull(events.resumeCommand("s e -1"));
  }

  @Test
  void aStreamWithoutAPrincipalIsRefused() throws Exception {
    fixture.start(
        SseRunlaneServlet.builder(runlane::connect).principal(r -> r.getHeader(SseFixture.PRINCIPAL_HEADER)).build());
    Exception e = assertThrows(Exception.class, () -> open(Map.of()));
    assertTrue(String.valueOf(e.getCause()).contains("401") || String.valueOf(e).contains("401"), String.valueOf(e));
    assertEquals(0, runlane.connectionCount());
  }
}
