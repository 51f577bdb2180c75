package dev.runlane.examples.springboot;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.runlane.examples.chat.DemoAgent;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * The Spring Boot chat example on a random port, driven by the JDK's WebSocket client over real
 * sockets: start a run, receive the stream, drop the socket mid-run, reconnect and resume exactly.
 */
@SpringBootTest(
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "chat.pace=1ms",
      "chat.approval-every=0",
      "server.address=127.0.0.1",
      "spring.main.banner-mode=off",
      "logging.level.root=WARN"
    })
class SpringBootChatTest {

  @LocalServerPort int port;
  @Autowired MeterRegistry registry;
  @Autowired org.springframework.context.ConfigurableApplicationContext context;

  final List<AutoCloseable> toClose = new ArrayList<>();
  URI base;

  @BeforeEach
  void base() {
    base = URI.create("http://127.0.0.1:" + port + "/");
  }

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : toClose) {
      c.close();
    }
  }

  WsClient connect(String name) throws Exception {
    WsClient c = WsClient.connect(base, name);
    toClose.add(0, c);
    return c;
  }

  static Map<String, Object> send(String sessionId, String content) {
    return Map.of("type", "chat.send", "sessionId", sessionId, "content", content);
  }

  static Map<String, Object> subscribe(String sessionId, long lastSeq, String epoch) {
    return Map.of(
        "type", "chat.subscribe", "sessions", List.of(Map.of("sessionId", sessionId, "lastSeq", lastSeq, "epoch", epoch)));
  }

  static void assertContiguous(List<JsonNode> events, long from) {
    long expect = from;
    for (JsonNode e : events) {
      assertEquals(expect, e.get("seq").asLong(), () -> "seqs " + events.stream().map(n -> n.get("seq").asLong()).toList());
      expect++;
    }
  }

  static String deltas(List<JsonNode> events) {
    StringBuilder sb = new StringBuilder();
    for (JsonNode n : events) {
      if ("delta".equals(n.get("type").asText())) {
        sb.append(n.get("data").get("text").asText());
      }
    }
    return sb.toString();
  }

  @Test
  void aRunStreamsAndAReconnectMidRunResumesExactly() throws Exception {
    // "approve" makes the agent stop at an approval mid-answer, so the reconnect is surely mid-run
    String prompt = "Explain resume, and please approve the tool";
    WsClient c1 = connect("alice");
    c1.send(send("alice/chat", prompt));
    String runId = c1.await("run_event").get("runId").asText();
    String epoch = c1.events(runId).get(0).get("epoch").asText();
    for (int i = 0; i < 5; i++) {
      c1.await(n -> WsClient.isEvent(n, runId) && "delta".equals(n.get("type").asText()));
    }
    List<JsonNode> seen = c1.events(runId);
    assertContiguous(seen, 1);
    c1.abort(); // no close handshake: a lost network
    long lastSeq = seen.get(seen.size() - 1).get("seq").asLong();
    StringBuilder text = new StringBuilder(deltas(seen));

    WsClient c2 = connect("alice");
    c2.send(subscribe("alice/chat", lastSeq, epoch));
    JsonNode ack = c2.await("subscribed");
    assertEquals("EXACT", ack.get("status").asText(), ack::toString);
    assertEquals(lastSeq + 1, ack.get("replayFrom").asLong());
    List<JsonNode> replay = new ArrayList<>();
    for (long s = lastSeq + 1; s <= ack.get("replayTo").asLong(); s++) {
      replay.add(c2.await(n -> WsClient.isEvent(n, runId)));
    }
    assertContiguous(replay, lastSeq + 1);

    JsonNode pending = ack.get("pendingApprovals");
    String approvalId =
        pending.size() > 0
            ? pending.get(0).get("approvalId").asText()
            : c2.await("approval_requested").get("approvalId").asText();
    c2.send(Map.of("type", "chat.approval", "approvalId", approvalId, "allow", true));
    JsonNode end = c2.awaitEnd(runId);
    assertEquals("run.completed", end.get("type").asText());
    List<JsonNode> rest = c2.events(runId);
    assertContiguous(rest, lastSeq + 1);
    text.append(deltas(rest));
    String full = DemoAgent.answer(prompt, true);
    assertEquals(full, text.toString(), "two connections' texts, joined at lastSeq, are the whole answer");
  }

  @Test
  void aPausedContextServesAgainWithTheSameRunlaneOnceRestarted() throws Exception {
    WsClient before = connect("erin");
    before.send(send("erin/chat", "Explain resume, and please approve the tool")); // waits at its approval
    String runId = before.await("run_event").get("runId").asText();
    String epoch = before.events(runId).get(0).get("epoch").asText();
    before.await("approval_requested");
    List<JsonNode> seen = before.events(runId);
    long lastSeq = seen.get(seen.size() - 1).get("seq").asLong();

    // What Spring 7's test context cache does to a cached context between test classes: the
    // pauseable lifecycle beans stop (Runlane drains), the web server keeps running.
    context.pause();
    try {
      assertEquals(1001, before.awaitClose(), "told to resume elsewhere or later");
      WsClient refused = WsClient.open(base, "erin", WsClient.ticket(base, "erin"));
      toClose.add(refused);
      assertEquals(1001, refused.awaitClose(), "no new connection while paused");
    } finally {
      context.restart();
    }

    WsClient after = connect("erin");
    after.send(subscribe("erin/chat", lastSeq, epoch));
    JsonNode end = after.awaitEnd(runId);
    assertEquals("run.failed", end.get("type").asText(), end::toString);
    assertEquals("SHUTDOWN", end.get("data").get("failureReason").asText(), end::toString);
    after.send(send("erin/chat", "Hello again"));
    String next =
        after.await(n -> "run_event".equals(n.path("kind").asText()) && !runId.equals(n.path("runId").asText()))
            .get("runId")
            .asText();
    assertEquals("run.completed", after.awaitEnd(next).get("type").asText());
    assertContiguous(after.events(next), 1);
    assertEquals(DemoAgent.answer("Hello again", true), after.text(next), "the whole answer (the tool runs without an approval)");
  }

  @Test
  void anotherUsersSessionDoesNotExistForThem() throws Exception {
    WsClient bob = connect("bob");
    bob.send(Map.of("type", "chat.subscribe", "sessions", List.of(Map.of("sessionId", "alice/chat"))));
    JsonNode error = bob.await("protocol_error");
    assertEquals("SESSION_NOT_FOUND", error.get("code").asText(), error::toString);
  }

  @Test
  void forgedAndReplayedTicketsAreRefusedAtTheUpgrade() throws Exception {
    assertEquals(401, WsClient.upgradeStatus(base, "forged"));
    String ticket = WsClient.ticket(base, "carol");
    assertEquals(101, WsClient.upgradeStatus(base, ticket));
    assertEquals(401, WsClient.upgradeStatus(base, ticket), "a ticket admits one connection");
  }

  @Test
  void thePageHealthAndMetricsAreServed() throws Exception {
    HttpResponse<String> page = WsClient.HTTP.send(HttpRequest.newBuilder(base).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, page.statusCode());
    assertTrue(page.body().contains("app.js"), "the chat page");
    HttpResponse<String> health =
        WsClient.HTTP.send(HttpRequest.newBuilder(base.resolve("/actuator/health")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, health.statusCode(), health::body);
    JsonNode runlane = WsClient.M.readTree(health.body()).path("components").path("runlane");
    assertEquals("UP", runlane.path("status").asText(), health::body);
    WsClient c = connect("dave");
    assertTrue(registry.get("runlane.connections").gauge().value() >= 1);
    assertTrue(Set.of("UP").contains(runlane.path("status").asText()));
    c.close();
  }
}
