package dev.runlane.examples.springboot;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A plain HTTP client of the SSE endpoint, parsing {@code text/event-stream} by hand as a browser's
 * {@code EventSource} does: Runlane frames (unnamed events) with their ids, the stream token, and
 * commands as POSTs. {@link #close()} drops the connection mid-stream.
 */
final class SseStream implements AutoCloseable {
  static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();

  /** One received Runlane frame and its SSE id (or null). */
  record Event(String id, String data) {}

  private final URI uri;
  private final InputStream body;
  private final CompletableFuture<String> token = new CompletableFuture<>();
  private final List<Event> events = new ArrayList<>(); // guarded by this
  private volatile String lastEventId;

  private SseStream(URI uri, InputStream body) {
    this.uri = uri;
    this.body = body;
  }

  /** Opens the stream and waits for its token. */
  static SseStream open(URI uri, Map<String, String> headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).header("Accept", "text/event-stream");
    headers.forEach(b::header);
    HttpResponse<InputStream> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
    if (r.statusCode() != 200) {
      r.body().close();
      throw new IOException("stream refused: HTTP " + r.statusCode());
    }
    SseStream s = new SseStream(uri, r.body());
    Thread t = new Thread(s::read, "sse-stream-reader");
    t.setDaemon(true);
    t.start();
    s.token.get(10, TimeUnit.SECONDS);
    return s;
  }

  private void read() {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
      String event = null;
      String id = null;
      StringBuilder data = null;
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        if (line.isEmpty()) {
          if (data != null) {
            dispatch(event, id, data.toString());
          }
          event = null;
          id = null;
          data = null;
        } else if (!line.startsWith(":")) {
          int colon = line.indexOf(':');
          String field = colon < 0 ? line : line.substring(0, colon);
          String value = colon < 0 ? "" : line.substring(colon + 1);
          value = value.startsWith(" ") ? value.substring(1) : value;
          if ("data".equals(field)) {
            data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
          } else if ("event".equals(field)) {
            event = value;
          } else if ("id".equals(field)) {
            id = value;
          }
        }
      }
    } catch (IOException e) {
      token.completeExceptionally(e); // dropped (or closed by us)
    }
  }

  private void dispatch(String event, String id, String data) {
    if ("runlane.stream".equals(event)) {
      token.complete(data);
    } else if (event == null) {
      synchronized (this) { // the id and the frames change together: a snapshot sees both or neither
        if (id != null) {
          lastEventId = id;
        }
        events.add(new Event(id, data));
      }
    }
  }

  /** The frames received so far. */
  synchronized List<Event> events() {
    return new ArrayList<>(events);
  }

  /** The id of the last event that had one, as a browser keeps it. */
  synchronized String lastEventId() {
    return lastEventId;
  }

  /** POSTs one command to this stream. */
  void send(String command) throws Exception {
    String base = uri.toString().replaceAll("\\?.*$", "");
    HttpResponse<Void> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(base + "?stream=" + URLEncoder.encode(token.join(), StandardCharsets.UTF_8)))
                .POST(HttpRequest.BodyPublishers.ofString(command, StandardCharsets.UTF_8))
                .build(),
            HttpResponse.BodyHandlers.discarding());
    if (r.statusCode() != 202) {
      throw new IOException("command refused: HTTP " + r.statusCode());
    }
  }

  /** Drops the connection, mid-stream (a lost network, a closed tab). */
  @Override
  public void close() throws IOException {
    body.close();
  }
}
