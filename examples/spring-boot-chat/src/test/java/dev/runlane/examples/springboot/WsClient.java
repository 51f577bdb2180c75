package dev.runlane.examples.springboot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A test client of the chat example over the JDK's WebSocket: records every frame as JSON. */
final class WsClient implements AutoCloseable {
  static final ObjectMapper M = new ObjectMapper();
  static final Duration TIMEOUT = Duration.ofSeconds(20);
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  private final List<JsonNode> received = new ArrayList<>(); // guarded by this
  private final CompletableFuture<Integer> closed = new CompletableFuture<>();
  private final StringBuilder partial = new StringBuilder();
  private int cursor; // guarded by this
  final String name;
  WebSocket ws;

  private WsClient(String name) {
    this.name = name;
  }

  /** Logs in as {@code name} and returns a fresh stream ticket. */
  static String ticket(URI base, String name) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(base.resolve("/api/ticket"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("name=" + URLEncoder.encode(name, StandardCharsets.UTF_8)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new AssertionError("ticket for " + name + ": HTTP " + r.statusCode() + " " + r.body());
    }
    return M.readTree(r.body()).get("ticket").asText();
  }

  /** Logs in and connects; waits for the welcome frame. */
  static WsClient connect(URI base, String name) throws Exception {
    WsClient c = open(base, name, ticket(base, name));
    c.await(n -> "welcome".equals(n.path("kind").asText()));
    return c;
  }

  /** Connects with the given ticket; throws {@link CompletionException} if the upgrade is refused. */
  static WsClient open(URI base, String name, String ticket) {
    WsClient c = new WsClient(name);
    URI ws = URI.create("ws://" + base.getHost() + ":" + base.getPort() + "/ws?ticket=" + URLEncoder.encode(ticket, StandardCharsets.UTF_8));
    c.ws = HTTP.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10)).buildAsync(ws, c.listener()).join();
    return c;
  }

  /** The HTTP status with which an upgrade with this ticket is refused, or 101 if it is accepted. */
  static int upgradeStatus(URI base, String ticket) {
    try {
      WsClient c = open(base, "?", ticket);
      c.abort();
      return 101;
    } catch (CompletionException e) {
      if (e.getCause() instanceof WebSocketHandshakeException) {
        return ((WebSocketHandshakeException) e.getCause()).getResponse().statusCode();
      }
      throw e;
    }
  }

  private WebSocket.Listener listener() {
    return new WebSocket.Listener() {
      @Override
      public void onOpen(WebSocket webSocket) {
        webSocket.request(1);
      }

      @Override
      public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
          String text = partial.toString();
          partial.setLength(0);
          try {
            JsonNode n = M.readTree(text);
            synchronized (WsClient.this) {
              received.add(n);
              WsClient.this.notifyAll();
            }
          } catch (Exception e) {
            closed.completeExceptionally(new AssertionError("server sent non-JSON: " + text, e));
          }
        }
        webSocket.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
        closed.completeExceptionally(new AssertionError("unexpected binary frame"));
        webSocket.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        closed.complete(statusCode);
        synchronized (WsClient.this) {
          WsClient.this.notifyAll();
        }
        return null;
      }

      @Override
      public void onError(WebSocket webSocket, Throwable error) {
        closed.completeExceptionally(error);
        synchronized (WsClient.this) {
          WsClient.this.notifyAll();
        }
      }
    };
  }

  void send(String text) {
    ws.sendText(text, true).join();
  }

  void send(Object json) throws Exception {
    send(M.writeValueAsString(json));
  }

  /**
   * Waits for the next frame (after the cursor) matching {@code p}, moves the cursor past it and
   * returns it. Fails after {@link #TIMEOUT}.
   */
  synchronized JsonNode await(Predicate<JsonNode> p) throws InterruptedException {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    for (; ; ) {
      for (int i = cursor; i < received.size(); i++) {
        if (p.test(received.get(i))) {
          cursor = i + 1;
          return received.get(i);
        }
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError(name + ": no matching frame within " + TIMEOUT + "; got " + received);
      }
      if (closed.isDone() && !closed.isCompletedExceptionally()) {
        // closed: nothing more will come
        throw new AssertionError(name + ": closed (" + closed.join() + ") before a matching frame; got " + received);
      }
      TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)));
    }
  }

  /** Waits for the next frame of this kind. */
  JsonNode await(String kind) throws InterruptedException {
    return await(n -> kind.equals(n.path("kind").asText()));
  }

  /** Waits for the terminal event of {@code runId}, wherever it is (the cursor does not move). */
  synchronized JsonNode awaitEnd(String runId) throws InterruptedException {
    int saved = cursor;
    cursor = 0;
    try {
      return await(n -> isEvent(n, runId) && isTerminal(n));
    } finally {
      cursor = saved;
    }
  }

  static boolean isTerminal(JsonNode runEvent) {
    String t = runEvent.get("type").asText();
    return t.startsWith("run.") && !"run.started".equals(t);
  }

  /** A snapshot of every frame received so far. */
  synchronized List<JsonNode> all() {
    return new ArrayList<>(received);
  }

  /** Every run event of {@code runId} received so far, in arrival order. */
  synchronized List<JsonNode> events(String runId) {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode n : received) {
      if (isEvent(n, runId)) {
        out.add(n);
      }
    }
    return out;
  }

  /** The concatenated {@code delta} texts of {@code runId} received so far. */
  String text(String runId) {
    StringBuilder sb = new StringBuilder();
    for (JsonNode n : events(runId)) {
      if ("delta".equals(n.get("type").asText())) {
        sb.append(n.get("data").get("text").asText());
      }
    }
    return sb.toString();
  }

  static boolean isEvent(JsonNode n, String runId) {
    return "run_event".equals(n.path("kind").asText()) && runId.equals(n.path("runId").asText());
  }

  /** The close code the server sent, waiting at most {@link #TIMEOUT} for it. */
  int awaitClose() throws Exception {
    return closed.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Drops the TCP connection without a close handshake (a crashed tab, a lost network). */
  void abort() {
    ws.abort();
  }

  @Override
  public void close() {
    if (!ws.isOutputClosed()) {
      try {
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
      } catch (Exception e) {
        ws.abort();
      }
    }
    ws.abort();
  }
}
