package dev.runlane.examples.chat;

import static dev.runlane.examples.chat.ChatServerEndToEndTest.assertContiguous;
import static dev.runlane.examples.chat.ChatServerEndToEndTest.deltas;
import static dev.runlane.examples.chat.ChatServerEndToEndTest.send;
import static dev.runlane.examples.chat.ChatServerEndToEndTest.subscribe;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.runlane.cluster.redis.RedisEngine;
import dev.runlane.testredis.RedisServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The chat example as two nodes on one Redis, over real sockets: a user who loses the connection to
 * node 1 mid-answer and lands on node 2 resumes exactly there, answers the tool approval from node 2
 * (the agent runs on node 1), and back on node 1 gets the rest; neither node lets the session start
 * a second run meanwhile.
 */
class TwoNodesOnOneRedisTest {
  final List<AutoCloseable> toClose = new ArrayList<>();
  final String prefix = "chat-" + UUID.randomUUID().toString().substring(0, 8);

  ChatServer node(String name) throws Exception {
    RedisEngine engine =
        RedisEngine.builder().redis(RedisServer.shared().uri()).keyPrefix(prefix).nodeId(name + "-" + UUID.randomUUID()).build();
    ChatServer s = ChatServer.builder().pace(Duration.ofMillis(1)).approvalEvery(0).engine(engine).port(0).build().start();
    toClose.add(s);
    return s;
  }

  WsClient connect(ChatServer node, String name) throws Exception {
    WsClient c = WsClient.connect(node.uri(), name);
    toClose.add(0, c);
    return c;
  }

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : toClose) {
      c.close();
    }
  }

  @Test
  void aUserMovedBetweenNodesMidAnswerGetsEveryTokenOnceAndOneEnd() throws Exception {
    ChatServer node1 = node("node1");
    ChatServer node2 = node("node2");
    String prompt = "Explain resume, and please approve the tool"; // stops at an approval mid-answer

    WsClient c1 = connect(node1, "alice");
    c1.send(send("alice/chat", prompt));
    String runId = c1.await("run_event").get("runId").asText();
    String epoch = c1.events(runId).get(0).get("epoch").asText();
    for (int i = 0; i < 5; i++) {
      c1.await(n -> WsClient.isEvent(n, runId) && "delta".equals(n.get("type").asText()));
    }
    List<JsonNode> seen = c1.events(runId);
    c1.abort(); // the connection to node 1 is lost
    long lastSeq = seen.get(seen.size() - 1).get("seq").asLong();
    StringBuilder text = new StringBuilder(deltas(seen));

    WsClient c2 = connect(node2, "alice");
    c2.send(send("alice/chat", "a second question while the first is running"));
    assertEquals("RUN_IN_PROGRESS", c2.await("protocol_error").get("code").asText(), "one running run per session, across nodes");
    c2.send(subscribe("alice/chat", lastSeq, epoch));
    JsonNode ack = c2.await("subscribed");
    assertEquals("EXACT", ack.get("status").asText(), ack::toString);
    assertEquals(runId, ack.get("runId").asText());
    assertEquals(epoch, ack.get("epoch").asText());
    assertEquals(lastSeq + 1, ack.get("replayFrom").asLong());
    List<JsonNode> replay = new ArrayList<>();
    for (long s = lastSeq + 1; s <= ack.get("replayTo").asLong(); s++) {
      replay.add(c2.await(n -> WsClient.isEvent(n, runId)));
    }
    assertContiguous(replay, lastSeq + 1);
    text.append(deltas(replay));

    JsonNode pending = ack.get("pendingApprovals");
    String approvalId =
        pending.size() > 0 ? pending.get(0).get("approvalId").asText() : c2.await("approval_requested").get("approvalId").asText();
    c2.send(Map.of("type", "chat.approval", "approvalId", approvalId, "allow", true)); // reaches the agent on node 1
    for (int i = 0; i < 3; i++) {
      c2.await(n -> WsClient.isEvent(n, runId) && "delta".equals(n.get("type").asText()));
    }
    List<JsonNode> seen2 = c2.events(runId);
    assertContiguous(seen2, lastSeq + 1);
    c2.abort(); // and the connection to node 2 is lost too
    text.append(deltas(seen2.subList(replay.size(), seen2.size())));
    long lastSeq2 = seen2.get(seen2.size() - 1).get("seq").asLong();

    WsClient c3 = connect(node1, "alice");
    c3.send(subscribe("alice/chat", lastSeq2, epoch));
    JsonNode ack3 = c3.await("subscribed");
    assertTrue(Set.of("EXACT", "FINISHED").contains(ack3.get("status").asText()), ack3::toString);
    assertEquals(lastSeq2 + 1, ack3.get("replayFrom").asLong());
    JsonNode end = c3.awaitEnd(runId);
    assertEquals("run.completed", end.get("type").asText());
    List<JsonNode> rest = c3.events(runId);
    assertContiguous(rest, lastSeq2 + 1);
    text.append(deltas(rest));
    assertEquals(1, rest.stream().filter(WsClient::isTerminal).count(), "one end");

    assertEquals(DemoAgent.answer(prompt, true), text.toString(), "three connections on two nodes, joined at their lastSeq, are the whole answer");

    // and a resume of the ended run on node 2 is exact from Redis
    WsClient c4 = connect(node2, "alice");
    c4.send(subscribe("alice/chat", lastSeq, epoch));
    JsonNode ack4 = c4.await("subscribed");
    assertEquals("FINISHED", ack4.get("status").asText(), ack4::toString);
    JsonNode end4 = c4.awaitEnd(runId);
    assertContiguous(c4.events(runId), lastSeq + 1);
    assertEquals(end.get("seq").asLong(), end4.get("seq").asLong());
  }
}
