package dev.runlane.examples.springboot;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.runlane.examples.chat.DemoAgent;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * The Spring Boot chat example over Server-Sent Events: a raw HTTP client starts a run with a
 * command POST, follows the stream, drops the TCP connection mid-run and reconnects with {@code
 * Last-Event-ID} as a browser's {@code EventSource} does; the replay is exact and the answer whole.
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
class SpringBootChatSseTest {
  static final Duration WAIT = Duration.ofSeconds(20);
  static final ObjectMapper M = new ObjectMapper();

  @LocalServerPort int port;
  final List<SseStream> streams = new ArrayList<>();
  /** A user of its own for each attempt: a rerun never meets an earlier attempt's run or streams. */
  static final java.util.concurrent.atomic.AtomicInteger USERS = new java.util.concurrent.atomic.AtomicInteger();
  final String user = "alice" + USERS.incrementAndGet();

  @AfterEach
  void closeAll() throws Exception {
    for (SseStream s : streams) {
      s.close();
    }
  }

  URI uri(String query) {
    return URI.create("http://127.0.0.1:" + port + "/runlane/sse" + query);
  }

  SseStream open(Map<String, String> headers) throws Exception {
    SseStream s = SseStream.open(uri("?user=" + user), headers);
    streams.add(s);
    return s;
  }

  static List<JsonNode> frames(SseStream p, Predicate<JsonNode> match) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (SseStream.Event m : p.events()) {
      JsonNode n = M.readTree(m.data());
      if (match.test(n)) {
        out.add(n);
      }
    }
    return out;
  }

  static List<JsonNode> await(SseStream p, Predicate<JsonNode> match, int count) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    for (; ; ) {
      List<JsonNode> got = frames(p, match);
      if (got.size() >= count) {
        return got;
      }
      assertTrue(System.nanoTime() < deadline, () -> "waited for " + count + " frames: " + p.events() + threadDump());
      Thread.sleep(5);
    }
  }

  /** The server's threads, for a stalled stream's failure message. */
  static String threadDump() {
    StringBuilder sb = new StringBuilder("\nthreads:\n");
    Thread.getAllStackTraces().forEach((t, stack) -> {
      String name = t.getName();
      if (name.startsWith("http") || name.startsWith("runlane") || name.contains("run_") || name.startsWith("Thread-")) {
        sb.append(t.getName()).append(' ').append(t.getState()).append('\n');
        for (StackTraceElement e : stack) {
          sb.append("    at ").append(e).append('\n');
        }
      }
    });
    return sb.toString();
  }

  static boolean isEvent(JsonNode n) {
    return "run_event".equals(n.path("kind").asText());
  }

  static boolean isDelta(JsonNode n) {
    return isEvent(n) && "delta".equals(n.get("type").asText());
  }

  @Test
  void aDroppedStreamResumesExactlyThroughLastEventId() throws Exception {
    String prompt = "Explain resume, and please approve the tool"; // stops at an approval mid-answer
    SseStream first = open(Map.of());
    first.send(M.writeValueAsString(Map.of("type", "chat.send", "sessionId", user + "/chat", "content", prompt)));
    await(first, SpringBootChatSseTest::isDelta, 5);
    List<JsonNode> before;
    String lastId;
    // one snapshot of the frames and the last id (events keep arriving until the drop; what
    // arrives after the snapshot counts as lost with the network, and the resume must replay it)
    synchronized (first) {
      before = frames(first, SpringBootChatSseTest::isEvent);
      lastId = first.lastEventId();
    }
    assertNotNull(lastId);
    first.close(); // drop the TCP connection mid-run
    long lastSeq = before.get(before.size() - 1).get("seq").asLong();
    assertTrue(lastId.endsWith(" " + lastSeq), lastId);

    SseStream second = open(Map.of("Last-Event-ID", lastId));
    JsonNode ack = await(second, n -> "subscribed".equals(n.path("kind").asText()), 1).get(0);
    assertEquals("EXACT", ack.get("status").asText(), ack::toString);
    assertEquals(lastSeq + 1, ack.get("replayFrom").asLong());
    JsonNode pending = ack.get("pendingApprovals");
    String approvalId =
        pending.size() > 0
            ? pending.get(0).get("approvalId").asText()
            : await(second, n -> n.has("approvalId") && n.has("payload") || "approval_requested".equals(n.path("kind").asText()), 1).get(0).get("approvalId").asText();
    second.send(M.writeValueAsString(Map.of("type", "chat.approval", "approvalId", approvalId, "allow", true)));
    long deadline = System.nanoTime() + WAIT.toNanos();
    List<JsonNode> after;
    do {
      after = frames(second, SpringBootChatSseTest::isEvent);
      if (System.nanoTime() >= deadline) {
        fail("no end: " + second.events() + threadDump());
      }
      Thread.sleep(5);
    } while (after.isEmpty() || !after.get(after.size() - 1).get("type").asText().startsWith("run.c"));

    List<Long> seqs = new ArrayList<>();
    StringBuilder text = new StringBuilder();
    for (JsonNode n : before) {
      seqs.add(n.get("seq").asLong());
    }
    for (JsonNode n : after) {
      seqs.add(n.get("seq").asLong());
    }
    for (int i = 0; i < seqs.size(); i++) {
      assertEquals(i + 1L, seqs.get(i), () -> "every event once, in order, across the drop: " + seqs);
    }
    List<JsonNode> all = new ArrayList<>(before);
    all.addAll(after);
    for (JsonNode n : all) {
      if (isDelta(n)) {
        text.append(n.get("data").get("text").asText());
      }
    }
    assertEquals(DemoAgent.answer(prompt, true), text.toString());
  }

  @Test
  void aStreamWithoutAUserIsRefused() {
    assertThrows(Exception.class, () -> SseStream.open(uri(""), Map.of()));
  }
}
