package dev.runlane.examples.guide;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * The Spring Boot guide's application, compiled and run: a ticket from the starter's ticket
 * endpoint, a WebSocket at /runlane, a run that streams. The guide shows this file verbatim.
 */
@SpringBootTest(
    classes = GuideApplication.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "server.address=127.0.0.1",
      "spring.main.banner-mode=off",
      "logging.level.root=WARN",
      // this module's application.properties configures the chat example; the guide uses the defaults
      "runlane.websocket.path=/runlane",
      "runlane.ticket-endpoint.enabled=true"
    })
class GuideApplicationTest {
  static final ObjectMapper M = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @LocalServerPort int port;

  @Test
  void fromTicketToStreamedRun() throws Exception {
    HttpResponse<String> ticket =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/runlane/ticket?user=alice"))
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, ticket.statusCode(), ticket::body);
    String token = M.readTree(ticket.body()).get("ticket").asText();

    BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
    WebSocket ws =
        HTTP.newWebSocketBuilder()
            .buildAsync(
                URI.create("ws://127.0.0.1:" + port + "/runlane?ticket=" + token),
                new WebSocket.Listener() {
                  final StringBuilder partial = new StringBuilder();

                  @Override
                  public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                    partial.append(data);
                    if (last) {
                      try {
                        frames.add(M.readTree(partial.toString()));
                      } catch (Exception e) {
                        throw new IllegalStateException(e);
                      }
                      partial.setLength(0);
                    }
                    w.request(1);
                    return null;
                  }
                })
            .join();
    ws.sendText("{\"type\":\"chat.send\",\"sessionId\":\"alice/1\",\"content\":\"hello from spring boot\"}", true).join();
    StringBuilder text = new StringBuilder();
    for (; ; ) {
      JsonNode f = frames.poll(10, TimeUnit.SECONDS);
      assertNotNull(f, "no frame in time; got so far: " + text);
      if (!"run_event".equals(f.path("kind").asText())) {
        continue;
      }
      if ("delta".equals(f.get("type").asText())) {
        text.append(f.get("data").get("text").asText());
      }
      if ("run.completed".equals(f.get("type").asText())) {
        assertEquals(4, f.get("data").get("result").get("words").asInt(), f::toString);
        break;
      }
    }
    assertEquals("hello from spring boot ", text.toString());
    ws.abort();

    HttpResponse<String> refused =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/runlane/ticket"))
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(401, refused.statusCode(), "no user, no ticket");
  }

  @Test
  void theGuideShowsThisApplicationVerbatim() throws Exception {
    String source = Files.readString(Path.of("src/test/java/dev/runlane/examples/guide/GuideApplication.java"));
    String guide = Files.readString(Path.of("../../docs/guides/spring-boot.md"));
    String body = source.substring(source.indexOf("@SpringBootApplication"));
    assertTrue(guide.contains(body), "docs/guides/spring-boot.md must show GuideApplication.java from @SpringBootApplication on");
    List<String> lines = body.strip().lines().toList();
    assertTrue(lines.size() <= 30, "host code: " + lines.size() + " lines");
  }
}
