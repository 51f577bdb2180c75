package dev.runlane.examples.chat;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.runlane.RunHandle;
import dev.runlane.RunState;
import dev.runlane.testkit.ManualTimeSource;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The example server end to end: started in-process on a free port, driven over real sockets by
 * the JDK's WebSocket client, speaking the JSON protocol.
 */
class ChatServerEndToEndTest {
  final List<AutoCloseable> toClose = new ArrayList<>();
  ChatServer server;
  URI base;

  ChatServer start(ChatServer.Builder b) throws Exception {
    server = b.port(0).build().start();
    toClose.add(0, server);
    base = server.uri();
    return server;
  }

  ChatServer start(Duration pace) throws Exception {
    return start(ChatServer.builder().pace(pace).approvalEvery(0));
  }

  WsClient connect(String name) throws Exception {
    WsClient c = WsClient.connect(base, name);
    toClose.add(0, c);
    return c;
  }

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : toClose) {
      c.close();
    }
  }

  static Map<String, Object> send(String sessionId, String content) {
    return Map.of("type", "chat.send", "sessionId", sessionId, "content", content);
  }

  static Map<String, Object> subscribe(String sessionId, long lastSeq, String epoch) {
    return Map.of("type", "chat.subscribe", "sessions", List.of(Map.of("sessionId", sessionId, "lastSeq", lastSeq, "epoch", epoch)));
  }

  static Map<String, Object> subscribe(String sessionId) {
    return Map.of("type", "chat.subscribe", "sessions", List.of(Map.of("sessionId", sessionId)));
  }

  static void assertContiguous(List<JsonNode> events, long from) {
    long expect = from;
    for (JsonNode e : events) {
      assertEquals(expect, e.get("seq").asLong(), () -> "seqs " + events.stream().map(n -> n.get("seq").asLong()).toList());
      expect++;
    }
  }

  static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + WsClient.TIMEOUT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("not within " + WsClient.TIMEOUT + ": " + what);
      }
      Thread.sleep(10);
    }
  }

  // ------------------------------------------------------------------ isolation

  @Test
  void twoUsersAreIsolatedAndASecondTabOfTheSameUserFollows() throws Exception {
    start(Duration.ofMillis(1));
    WsClient alice = connect("alice");
    WsClient aliceTab2 = connect("alice");
    WsClient bob = connect("bob");

    aliceTab2.send(subscribe("alice/chat"));
    JsonNode ack = aliceTab2.await("subscribed");
    assertEquals("NO_RUN_YET", ack.get("status").asText(), "following before the first run");
    assertTrue(ack.get("following").asBoolean());

    // bob probes alice's session every way he can: it does not exist for him
    bob.send(subscribe("alice/chat"));
    assertEquals("SESSION_NOT_FOUND", bob.await("protocol_error").get("code").asText());

    String aPrompt = "What is Runlane for?";
    String bPrompt = "Tell bob something";
    alice.send(send("alice/chat", aPrompt));
    bob.send(send("bob/chat", bPrompt));
    String aRun = alice.await("run_event").get("runId").asText();
    String bRun = bob.await("run_event").get("runId").asText();

    bob.send(send("alice/chat", "hijack"));
    assertEquals("SESSION_NOT_FOUND", bob.await("protocol_error").get("code").asText());
    bob.send(Map.of("type", "chat.abort", "sessionId", "alice/chat", "runId", aRun));
    assertTrue(Set.of("FORBIDDEN", "SESSION_NOT_FOUND", "NO_ACTIVE_RUN").contains(bob.await("protocol_error").get("code").asText()));

    JsonNode aEnd = alice.awaitEnd(aRun);
    JsonNode tabEnd = aliceTab2.awaitEnd(aRun);
    JsonNode bEnd = bob.awaitEnd(bRun);
    assertEquals("run.completed", aEnd.get("type").asText(), "bob's abort must not touch alice's run");
    assertEquals("run.completed", tabEnd.get("type").asText());
    assertEquals("run.completed", bEnd.get("type").asText());

    String aAnswer = DemoAgent.answer(aPrompt, true);
    assertEquals(aAnswer, alice.text(aRun));
    assertEquals(aAnswer, aliceTab2.text(aRun), "the second tab follows the same run");
    assertEquals(DemoAgent.answer(bPrompt, true), bob.text(bRun));
    assertContiguous(alice.events(aRun), 1);
    assertContiguous(aliceTab2.events(aRun), 1);
    assertContiguous(bob.events(bRun), 1);

    // nothing of alice's ever reached bob, and nothing of bob's reached alice's tabs
    for (JsonNode n : bob.all()) {
      if ("protocol_error".equals(n.path("kind").asText())) {
        continue; // the answers to bob's own probes echo the session id he sent
      }
      assertNotEquals("alice/chat", n.path("sessionId").asText(), () -> "bob got " + n);
      assertNotEquals(aRun, n.path("runId").asText(), () -> "bob got " + n);
    }
    for (WsClient a : List.of(alice, aliceTab2)) {
      for (JsonNode n : a.all()) {
        assertNotEquals("bob/chat", n.path("sessionId").asText(), () -> a.name + " got " + n);
      }
    }
    // the events carry the tool call and its result
    List<String> types = alice.events(aRun).stream().map(n -> n.get("type").asText()).toList();
    assertTrue(types.indexOf("tool_call") > 0 && types.indexOf("tool_result") > types.indexOf("tool_call"), types::toString);
  }

  // ------------------------------------------------------------------ resume

  @Test
  void reconnectMidStreamResumesExactly() throws Exception {
    start(Duration.ofMillis(1));
    // "approve" makes the agent stop at an approval mid-answer, so the first reconnect is surely mid-run
    String prompt = "Explain resume, and please approve the tool";
    WsClient c1 = connect("alice");
    c1.send(send("alice/chat", prompt));
    String runId = c1.await("run_event").get("runId").asText();
    String epoch = c1.events(runId).get(0).get("epoch").asText();
    // take a cursor after a few deltas, then drop the socket without a close handshake
    for (int i = 0; i < 5; i++) {
      c1.await(n -> WsClient.isEvent(n, runId) && "delta".equals(n.get("type").asText()));
    }
    List<JsonNode> seen = c1.events(runId);
    c1.abort();
    long lastSeq = seen.get(seen.size() - 1).get("seq").asLong();
    StringBuilder text = new StringBuilder(deltas(seen));

    WsClient c2 = connect("alice");
    c2.send(subscribe("alice/chat", lastSeq, epoch));
    JsonNode ack = c2.await("subscribed");
    assertEquals("EXACT", ack.get("status").asText(), ack::toString);
    assertTrue(ack.get("processing").asBoolean());
    assertEquals(epoch, ack.get("epoch").asText());
    assertEquals(lastSeq + 1, ack.get("replayFrom").asLong());

    // the replay: exactly lastSeq+1 .. head, before anything live
    List<JsonNode> replay = new ArrayList<>();
    for (long s = lastSeq + 1; s <= ack.get("replayTo").asLong(); s++) {
      replay.add(c2.await(n -> WsClient.isEvent(n, runId)));
    }
    assertContiguous(replay, lastSeq + 1);
    text.append(deltas(replay));

    // the agent stops at its approval (maybe only now): listed in the ack, or sent live after it
    JsonNode pending = ack.get("pendingApprovals");
    String approvalId =
        pending.size() > 0
            ? pending.get(0).get("approvalId").asText()
            : c2.await("approval_requested").get("approvalId").asText();
    // approve from the new connection, then drop it mid-outro and resume once more
    c2.send(Map.of("type", "chat.approval", "approvalId", approvalId, "allow", true));
    for (int i = 0; i < 3; i++) {
      c2.await(n -> WsClient.isEvent(n, runId) && "delta".equals(n.get("type").asText()));
    }
    List<JsonNode> seen2 = c2.events(runId);
    assertContiguous(seen2, lastSeq + 1);
    c2.abort();
    text.append(deltas(seen2.subList(replay.size(), seen2.size())));
    long lastSeq2 = seen2.get(seen2.size() - 1).get("seq").asLong();

    WsClient c3 = connect("alice");
    c3.send(subscribe("alice/chat", lastSeq2, epoch));
    JsonNode ack3 = c3.await("subscribed");
    assertTrue(Set.of("EXACT", "FINISHED").contains(ack3.get("status").asText()), ack3::toString);
    assertEquals(lastSeq2 + 1, ack3.get("replayFrom").asLong());
    JsonNode end = c3.awaitEnd(runId);
    assertEquals("run.completed", end.get("type").asText());
    List<JsonNode> rest = c3.events(runId);
    assertContiguous(rest, lastSeq2 + 1);
    text.append(deltas(rest));

    String full = DemoAgent.answer(prompt, true);
    assertEquals(full, text.toString(), "three connections' texts, joined at their lastSeq, are the whole answer");
    assertEquals(full, end.get("data").get("result").get("text").asText());
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
  void aPendingApprovalSurvivesAReconnectAndIsResolvedFromTheNewConnection() throws Exception {
    start(Duration.ofMillis(1));
    String prompt = "approve please";
    WsClient c1 = connect("alice");
    c1.send(send("alice/chat", prompt));
    JsonNode asked = c1.await("approval_requested");
    String approvalId = asked.get("approvalId").asText();
    String runId = asked.get("runId").asText();
    assertEquals("alice/chat", asked.get("sessionId").asText());
    assertEquals(DemoAgent.TOOL, asked.get("payload").get("tool").asText());
    // control frames overtake queued stream frames: later deltas may still arrive, so the cursor
    // (lastSeq) and the text kept are taken from one snapshot, as a page does
    List<JsonNode> seen = c1.events(runId);
    String epoch = seen.get(0).get("epoch").asText();
    long lastSeq = seen.get(seen.size() - 1).get("seq").asLong();
    String text1 = deltas(seen);
    c1.close();

    WsClient c2 = connect("alice");
    c2.send(subscribe("alice/chat", lastSeq, epoch));
    JsonNode ack = c2.await("subscribed");
    assertTrue(ack.get("processing").asBoolean());
    assertEquals(1, ack.get("pendingApprovals").size(), ack::toString);
    assertEquals(approvalId, ack.get("pendingApprovals").get(0).get("approvalId").asText());

    // a stranger cannot answer it
    WsClient bob = connect("bob");
    bob.send(Map.of("type", "chat.approval", "approvalId", approvalId, "allow", true));
    assertTrue(Set.of("UNKNOWN_APPROVAL", "FORBIDDEN").contains(bob.await("protocol_error").get("code").asText()));

    c2.send(Map.of("type", "chat.approval", "approvalId", approvalId, "allow", false, "message", "not today"));
    JsonNode resolved = c2.await("approval_resolved");
    assertEquals(approvalId, resolved.get("approvalId").asText());
    assertEquals("ANSWERED", resolved.get("resolution").asText());
    assertFalse(resolved.get("decision").get("allow").asBoolean());
    assertEquals("not today", resolved.get("decision").get("message").asText());
    assertEquals("alice", resolved.get("by").asText());

    JsonNode end = c2.awaitEnd(runId);
    assertEquals("run.completed", end.get("type").asText());
    JsonNode toolResult = c2.events(runId).stream().filter(n -> "tool_result".equals(n.get("type").asText())).findFirst().orElseThrow();
    assertTrue(toolResult.get("data").get("denied").asBoolean());
    assertEquals(DemoAgent.answer(prompt, false), text1 + c2.text(runId));

    // answering twice is refused with a stable code
    c2.send(Map.of("type", "chat.approval", "approvalId", approvalId, "allow", true, "ref", "again"));
    JsonNode err = c2.await("protocol_error");
    assertEquals("UNKNOWN_APPROVAL", err.get("code").asText());
    assertEquals("again", err.get("ref").asText());
  }

  // ------------------------------------------------------------------ abort

  @Test
  void abortWhileWaitingForApprovalYieldsExactlyOneAbortedEnd() throws Exception {
    start(Duration.ofMillis(1));
    WsClient alice = connect("alice");
    WsClient tab2 = connect("alice");
    tab2.send(subscribe("alice/chat"));
    tab2.await("subscribed");
    alice.send(send("alice/chat", "approve this, then I abort"));
    JsonNode asked = alice.await("approval_requested");
    String runId = asked.get("runId").asText();

    alice.send(Map.of("type", "chat.abort", "sessionId", "alice/chat"));
    JsonNode end = alice.awaitEnd(runId);
    assertEquals("run.aborted", end.get("type").asText());
    assertEquals("ABORTED", end.get("data").get("state").asText());
    assertEquals("alice", end.get("data").get("abortedBy").asText());
    JsonNode closedApproval = alice.await("approval_resolved");
    assertEquals("RUN_ENDED", closedApproval.get("resolution").asText());
    assertEquals("run.aborted", tab2.awaitEnd(runId).get("type").asText());

    // a second abort finds no active run
    alice.send(Map.of("type", "chat.abort", "sessionId", "alice/chat", "ref", "a2"));
    JsonNode err = alice.await("protocol_error");
    assertEquals("NO_ACTIVE_RUN", err.get("code").asText());
    assertEquals("a2", err.get("ref").asText());

    // the agent's thread stopped, and nothing it might still publish reaches anyone
    eventually(() -> server.agent().activeRuns() == 0, "the agent returns after cancel");
    alice.send(Map.of("type", "ping"));
    alice.await("heartbeat");
    for (WsClient c : List.of(alice, tab2)) {
      List<JsonNode> ev = c.events(runId);
      assertEquals(1, ev.stream().filter(n -> n.get("type").asText().startsWith("run.") && !"run.started".equals(n.get("type").asText())).count());
      assertEquals("run.aborted", ev.get(ev.size() - 1).get("type").asText(), "the terminal event is the last");
      assertContiguous(ev, 1);
    }
    assertEquals(RunState.ABORTED, server.runlane().run(runId).map(RunHandle::state).orElseThrow());
  }

  @Test
  void abortMidStreamStopsTheAnswer() throws Exception {
    // 20 ms a token: the answer takes seconds, the abort arrives after three tokens
    start(Duration.ofMillis(20));
    String prompt = "a long answer please";
    WsClient alice = connect("alice");
    alice.send(send("alice/chat", prompt));
    String runId = alice.await("run_event").get("runId").asText();
    for (int i = 0; i < 3; i++) {
      alice.await(n -> WsClient.isEvent(n, runId) && "delta".equals(n.get("type").asText()));
    }
    alice.send(Map.of("type", "chat.abort", "sessionId", "alice/chat", "runId", runId));
    JsonNode end = alice.awaitEnd(runId);
    assertEquals("run.aborted", end.get("type").asText());
    eventually(() -> server.agent().activeRuns() == 0, "the agent returns after cancel");
    alice.send(Map.of("type", "ping"));
    alice.await("heartbeat");
    List<JsonNode> ev = alice.events(runId);
    assertEquals(end, ev.get(ev.size() - 1), "nothing after the terminal event");
    assertContiguous(ev, 1);
    String partial = alice.text(runId);
    assertTrue(DemoAgent.answer(prompt, true).startsWith(partial));
    assertTrue(partial.length() < DemoAgent.answer(prompt, true).length());

    // the session is free again
    alice.send(send("alice/chat", "again"));
    JsonNode started = alice.await(n -> "run_event".equals(n.path("kind").asText()) && !runId.equals(n.get("runId").asText()));
    assertEquals("run.started", started.get("type").asText());
    assertEquals("again", started.get("data").asText());
  }

  // ------------------------------------------------------------------ bad input

  @Test
  void malformedFramesGetProtocolErrorsAndTheConnectionKeepsWorking() throws Exception {
    start(Duration.ofMillis(1));
    WsClient alice = connect("alice");
    String[][] cases = {
      {"this is not json", "INVALID_PAYLOAD"},
      {"[1,2,3]", "INVALID_PAYLOAD"},
      {"{\"type\":\"chat.nope\",\"ref\":\"r1\"}", "UNKNOWN_MESSAGE_TYPE"},
      {"{\"type\":\"chat.send\",\"content\":\"hi\",\"ref\":\"r2\"}", "SESSION_ID_REQUIRED"},
      {"{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"alice/chat\",\"lastSeq\":-1}]}", "INVALID_PAYLOAD"},
      {"{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"alice/chat\",\"lastSeq\":2.5}]}", "INVALID_PAYLOAD"},
      {"{\"type\":\"ping\",\"x\":" + "[".repeat(100) + "]".repeat(100) + "}", "INVALID_PAYLOAD"},
      {"{\"type\":\"chat.send\",\"sessionId\":\"alice/chat\",\"content\":\"" + "x".repeat(70 * 1024) + "\"}", "PAYLOAD_TOO_LARGE"},
      {"{\"type\":\"chat.approval\",\"approvalId\":\"ap_forged\",\"allow\":true}", "UNKNOWN_APPROVAL"},
      {"{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"bob/chat\"}]}", "SESSION_NOT_FOUND"},
    };
    for (String[] c : cases) {
      alice.send(c[0]);
      JsonNode err = alice.await("protocol_error");
      assertEquals(c[1], err.get("code").asText(), () -> "for " + c[0].substring(0, Math.min(80, c[0].length())) + ": " + err);
    }
    alice.ws.sendBinary(ByteBuffer.wrap(new byte[] {(byte) 0xff, 0, 1}), true).join();
    assertEquals("INVALID_PAYLOAD", alice.await("protocol_error").get("code").asText());
    List<String> refs = alice.all().stream().filter(n -> "protocol_error".equals(n.path("kind").asText())).map(n -> n.get("ref").isNull() ? "-" : n.get("ref").asText()).toList();
    assertEquals("r1", refs.get(2));
    assertEquals("r2", refs.get(3));

    // still usable: ping, and a whole run
    alice.send("{\"type\":\"ping\"}");
    alice.await("heartbeat");
    alice.send(send("alice/chat", "still there?"));
    String runId = alice.await("run_event").get("runId").asText();
    assertEquals("run.completed", alice.awaitEnd(runId).get("type").asText());
    assertEquals(DemoAgent.answer("still there?", true), alice.text(runId));
    assertEquals(1, server.runlane().connectionCount());
  }

  @Test
  void aSecondSendWhileRunningIsRefusedWithRunInProgress() throws Exception {
    start(ChatServer.builder().pace(Duration.ofMillis(1)).approvalEvery(0));
    WsClient alice = connect("alice");
    alice.send(send("alice/chat", "approve first"));
    alice.await("approval_requested");
    alice.send(Map.of("type", "chat.send", "sessionId", "alice/chat", "content", "second", "ref", "s2"));
    JsonNode err = alice.await("protocol_error");
    assertEquals("RUN_IN_PROGRESS", err.get("code").asText());
    assertEquals("s2", err.get("ref").asText());
    assertEquals("alice/chat", err.get("sessionId").asText());
  }

  // ------------------------------------------------------------------ tickets

  @Test
  void forgedReplayedAndMissingTicketsAreRefusedBeforeAnyFrame() throws Exception {
    start(Duration.ofMillis(1));
    assertEquals(401, WsClient.upgradeStatus(base, "forged-ticket-0123456789"));
    assertEquals(401, WsClient.upgradeStatus(base, ""));
    String t = WsClient.ticket(base, "alice");
    WsClient first = WsClient.open(base, "alice", t);
    toClose.add(first);
    assertEquals("welcome", first.await("welcome").get("kind").asText());
    assertEquals(401, WsClient.upgradeStatus(base, t), "a ticket admits one connection");
    assertEquals(1, server.runlane().connectionCount());
  }

  @Test
  void expiredTicketsAreRefused() throws Exception {
    ManualTimeSource time = new ManualTimeSource();
    start(ChatServer.builder().pace(Duration.ofMillis(1)).approvalEvery(0).ticketTtl(Duration.ofSeconds(60)).timeSource(time));
    String t = WsClient.ticket(base, "alice");
    time.advance(Duration.ofSeconds(61));
    assertEquals(401, WsClient.upgradeStatus(base, t));
    String fresh = WsClient.ticket(base, "alice");
    time.advance(Duration.ofSeconds(59));
    assertEquals(101, WsClient.upgradeStatus(base, fresh), "a ticket is good for its whole lifetime");
  }

  @Test
  void theLoginValidatesNamesAndOnlyAcceptsPost() throws Exception {
    start(Duration.ofMillis(1));
    HttpResponse<String> bad =
        WsClient.HTTP.send(
            HttpRequest.newBuilder(base.resolve("/api/ticket?name=" + "x".repeat(40))).POST(HttpRequest.BodyPublishers.noBody()).build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(400, bad.statusCode());
    HttpResponse<String> get =
        WsClient.HTTP.send(HttpRequest.newBuilder(base.resolve("/api/ticket?name=alice")).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(405, get.statusCode());
    HttpResponse<String> ok =
        WsClient.HTTP.send(
            HttpRequest.newBuilder(base.resolve("/api/ticket?name=alice")).POST(HttpRequest.BodyPublishers.noBody()).build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, ok.statusCode());
    JsonNode body = WsClient.M.readTree(ok.body());
    assertEquals("alice", body.get("principal").asText());
    assertEquals("alice/chat", body.get("sessionId").asText());
    HttpResponse<String> page = WsClient.HTTP.send(HttpRequest.newBuilder(base).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, page.statusCode());
    assertTrue(page.body().contains("<script type=\"module\" src=\"/app.js\""));
    // the page's client library comes from the runlane-client-js WebJar
    HttpResponse<String> lib = WsClient.HTTP.send(HttpRequest.newBuilder(base.resolve("/runlane-client.js")).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, lib.statusCode());
    assertTrue(lib.headers().firstValue("Content-Type").orElse("").startsWith("text/javascript"));
    assertTrue(lib.body().contains("export class RunlaneClient"));
    assertEquals(404, WsClient.HTTP.send(HttpRequest.newBuilder(base.resolve("/nope")).GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode());
  }

  @Test
  void closedConnectionsLeaveEveryRegistry() throws Exception {
    start(Duration.ofMillis(1));
    WsClient a = connect("alice");
    WsClient b = connect("alice");
    a.send(subscribe("alice/chat"));
    a.await("subscribed");
    assertEquals(2, server.runlane().connectionCount());
    a.close();
    b.abort();
    eventually(() -> server.runlane().connectionCount() == 0, "both connections unregistered");
  }

  // ------------------------------------------------------------------ history

  @Test
  void everyEndedRunIsStoredOnceInTheHistoryAndServedToItsUserOnly() throws Exception {
    start(Duration.ofMillis(1));
    WsClient alice = connect("alice");
    WsClient aliceTab2 = connect("alice");
    aliceTab2.send(subscribe("alice/chat"));
    aliceTab2.await("subscribed");
    String first = "What is Runlane for?";
    alice.send(send("alice/chat", first));
    String run1 = alice.await("run_event").get("runId").asText();
    alice.awaitEnd(run1);
    String second = "Stream something long so I can abort it";
    alice.send(send("alice/chat", second));
    String run2 = alice.await(n -> "run_event".equals(n.path("kind").asText()) && !run1.equals(n.path("runId").asText())).get("runId").asText();
    alice.await(n -> WsClient.isEvent(n, run2) && "delta".equals(n.get("type").asText()));
    alice.send(Map.of("type", "chat.abort", "sessionId", "alice/chat", "runId", run2));
    alice.awaitEnd(run2);
    eventually(() -> server.history().turns("alice/chat", 10).size() == 2, "both runs stored");

    HttpResponse<String> res =
        WsClient.HTTP.send(HttpRequest.newBuilder(base.resolve("/api/history?name=alice")).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, res.statusCode());
    JsonNode turns = WsClient.M.readTree(res.body()).get("turns");
    assertEquals(2, turns.size(), "one row per run, not one per tab: " + turns);
    assertEquals(run1, turns.get(0).get("runId").asText(), "oldest first");
    assertEquals(first, turns.get(0).get("prompt").asText());
    assertEquals(DemoAgent.answer(first, true), turns.get(0).get("answer").asText());
    assertEquals("completed", turns.get(0).get("state").asText());
    assertEquals(run2, turns.get(1).get("runId").asText());
    assertEquals("aborted", turns.get(1).get("state").asText());
    String partial = turns.get(1).get("answer").asText();
    assertTrue(!partial.isEmpty() && DemoAgent.answer(second, true).startsWith(partial), partial);

    JsonNode bobs = WsClient.M.readTree(
        WsClient.HTTP.send(HttpRequest.newBuilder(base.resolve("/api/history?name=bob")).GET().build(), HttpResponse.BodyHandlers.ofString()).body());
    assertEquals(0, bobs.get("turns").size(), "another user's history is empty");
    assertEquals(400, WsClient.HTTP.send(HttpRequest.newBuilder(base.resolve("/api/history?name=a/b")).GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode());
  }

  @Test
  void aServerRestartedMidRunKeepsTheHistoryUpToItWithACleanFailedRun(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    String url = "jdbc:h2:file:" + dir.resolve("chat").toAbsolutePath();
    start(ChatServer.builder().pace(Duration.ofMillis(5)).historyUrl(url));
    WsClient alice = connect("alice");
    alice.send(send("alice/chat", "What is Runlane for?"));
    String run1 = alice.await("run_event").get("runId").asText();
    alice.awaitEnd(run1);
    alice.send(send("alice/chat", "Stream a long answer; the server stops under it"));
    String run2 = alice.await(n -> "run_event".equals(n.path("kind").asText()) && !run1.equals(n.path("runId").asText())).get("runId").asText();
    for (int i = 0; i < 3; i++) {
      alice.await(n -> WsClient.isEvent(n, run2) && "delta".equals(n.get("type").asText()));
    }
    server.close(); // mid-run: the run ends failed (shutdown), and its row is written before the database closes

    ChatServer second = ChatServer.builder().port(0).historyUrl(url).build().start();
    toClose.add(0, second);
    List<ChatHistory.Turn> turns = second.history().turns("alice/chat", 10);
    assertEquals(List.of(run1, run2), turns.stream().map(ChatHistory.Turn::runId).toList());
    assertEquals("completed", turns.get(0).state());
    assertEquals("failed", turns.get(1).state());
    assertTrue(DemoAgent.answer("Stream a long answer; the server stops under it", true).startsWith(turns.get(1).answer()));
  }

  // ------------------------------------------------------------------ rooms

  HttpResponse<String> post(String path, String form) throws Exception {
    return WsClient.HTTP.send(
        HttpRequest.newBuilder(base.resolve(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(form))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> get(String path) throws Exception {
    return WsClient.HTTP.send(HttpRequest.newBuilder(base.resolve(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aRoomIsSharedByItsMembersOnly() throws Exception {
    start(Duration.ofMillis(2));
    assertEquals(200, post("/api/rooms", "name=alice&room=team").statusCode());
    assertEquals(409, post("/api/rooms", "name=carol&room=team").statusCode(), "a taken room name");
    assertEquals(200, post("/api/rooms/invite", "name=alice&room=team&user=bob").statusCode());
    assertEquals(403, post("/api/rooms/invite", "name=bob&room=team&user=carol").statusCode(), "only the owner invites");
    assertEquals(404, post("/api/rooms/invite", "name=carol&room=team&user=carol").statusCode(), "a non-member sees no room");
    JsonNode bobsRooms = WsClient.M.readTree(get("/api/rooms?name=bob").body()).get("rooms");
    assertEquals(1, bobsRooms.size());
    assertEquals("room:team", bobsRooms.get(0).get("sessionId").asText());
    assertEquals("[\"alice\",\"bob\"]", bobsRooms.get(0).get("members").toString());
    assertEquals(0, WsClient.M.readTree(get("/api/rooms?name=carol").body()).get("rooms").size());

    WsClient alice = connect("alice");
    alice.send(subscribe("room:team"));
    assertEquals("NO_RUN_YET", alice.await("subscribed").get("status").asText());
    WsClient bob = connect("bob");
    bob.send(subscribe("room:team"));
    bob.await("subscribed");
    WsClient carol = connect("carol");
    carol.send(subscribe("room:team"));
    assertEquals("SESSION_NOT_FOUND", carol.await("protocol_error").get("code").asText());
    // presence: alice follows the room and learns that bob came online
    JsonNode presence = alice.await(n -> "notice".equals(n.path("kind").asText()) && n.path("data").path("online").toString().contains("bob"));
    assertEquals("room:team", presence.get("sessionId").asText());
    assertEquals("presence", presence.get("type").asText());

    // bob prompts; both members see the stream and the approval; alice answers it
    String prompt = "Count my words in the room; I approve the tool";
    bob.send(send("room:team", prompt));
    String runId = bob.await("run_event").get("runId").asText();
    String approvalId = alice.await("approval_requested").get("approvalId").asText();
    assertEquals(approvalId, bob.await("approval_requested").get("approvalId").asText());
    carol.send(send("room:team", "let me in"));
    assertEquals("SESSION_NOT_FOUND", carol.await("protocol_error").get("code").asText());
    carol.send(Map.of("type", "chat.approval", "approvalId", approvalId, "allow", false));
    assertEquals("UNKNOWN_APPROVAL", carol.await("protocol_error").get("code").asText(), "a non-member cannot answer");
    alice.send(Map.of("type", "chat.approval", "approvalId", approvalId, "allow", true));
    assertEquals("alice", bob.await("approval_resolved").get("by").asText());
    assertEquals("run.completed", alice.awaitEnd(runId).get("type").asText());
    assertEquals("run.completed", bob.awaitEnd(runId).get("type").asText());
    assertEquals(DemoAgent.answer(prompt, true), alice.text(runId));
    assertEquals(DemoAgent.answer(prompt, true), bob.text(runId));
    assertContiguous(alice.events(runId), 1);
    for (JsonNode n : carol.all()) {
      assertNotEquals(runId, n.path("runId").asText(), () -> "carol got " + n);
      assertFalse("notice".equals(n.path("kind").asText()), () -> "carol got " + n);
    }

    // any member may abort a member's run; a non-member may not
    bob.send(send("room:team", "Stream something long for the room"));
    String run2 = alice.await(n -> "run_event".equals(n.path("kind").asText()) && !runId.equals(n.path("runId").asText())).get("runId").asText();
    carol.send(Map.of("type", "chat.abort", "sessionId", "room:team", "runId", run2));
    // core answers a refused abort with FORBIDDEN (as for bob aborting alice's run above)
    assertTrue(Set.of("FORBIDDEN", "SESSION_NOT_FOUND").contains(carol.await("protocol_error").get("code").asText()));
    alice.send(Map.of("type", "chat.abort", "sessionId", "room:team", "runId", run2));
    JsonNode aborted = bob.awaitEnd(run2);
    assertEquals("run.aborted", aborted.get("type").asText());
    assertEquals("alice", aborted.get("data").get("abortedBy").asText());

    eventually(() -> server.history().turns("room:team", 10).size() == 2, "the room's turns stored");
    JsonNode turns = WsClient.M.readTree(get("/api/history?name=alice&session=room:team").body()).get("turns");
    assertEquals(prompt, turns.get(0).get("prompt").asText());
    assertEquals("bob", turns.get(0).get("owner").asText());
    assertEquals("aborted", turns.get(1).get("state").asText());
    assertEquals(404, get("/api/history?name=carol&session=room:team").statusCode(), "a non-member gets no history");
  }
}
