package dev.runlane.transport.sse;

import dev.runlane.tck.ClientPeer;
import dev.runlane.tck.PeerRecording;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * A raw HTTP/1.1 SSE client for tests: opens the stream on a plain socket (so that it can stop
 * reading, as a slow browser would, and drop the TCP connection), decodes the chunked body and the
 * SSE events by hand, and sends commands as POSTs with the JDK's HTTP client.
 *
 * <p>Runlane frames are the default ({@code message}) events, recorded as text. {@code event:
 * runlane.stream} gives the stream token; {@code event: runlane.close} is the close ({@code data:
 * <code> <reason>}); a stream that ends without it was dropped. Unlike a browser's {@code
 * EventSource}, an event with an empty {@code data:} line is delivered (a browser drops empty
 * events; Runlane's codecs never send an empty frame).
 */
final class SseClientPeer implements ClientPeer {
  static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();

  private final int port;
  private final String path;
  private final Socket socket;
  private final PeerRecording recording = new PeerRecording();
  private final CompletableFuture<String> token = new CompletableFuture<>();
  private final List<String> ids = new ArrayList<>(); // guarded by this
  private final Thread reader;
  private volatile boolean paused;
  private volatile boolean aborted;
  private volatile @Nullable String lastEventId;

  private SseClientPeer(int port, String path, Socket socket) {
    this.port = port;
    this.path = path;
    this.socket = socket;
    this.reader = new Thread(this::read, "sse-peer-reader");
    reader.setDaemon(true);
  }

  /** Opens the stream and waits for its token. */
  static SseClientPeer connect(int port, String path, Map<String, String> headers, Duration timeout) throws Exception {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), (int) timeout.toMillis());
    StringBuilder req = new StringBuilder();
    req.append("GET ").append(path).append(" HTTP/1.1\r\n");
    req.append("Host: 127.0.0.1:").append(port).append("\r\n");
    req.append("Accept: text/event-stream\r\n");
    for (Map.Entry<String, String> h : headers.entrySet()) {
      req.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
    }
    req.append("\r\n");
    OutputStream out = s.getOutputStream();
    out.write(req.toString().getBytes(StandardCharsets.UTF_8));
    out.flush();
    SseClientPeer peer = new SseClientPeer(port, path, s);
    peer.reader.start();
    peer.token.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    return peer;
  }

  /** The id of the last event received, as a browser keeps it for its reconnect. */
  @Nullable String lastEventId() {
    return lastEventId;
  }

  /** The ids of the events received, in order ({@code null}-free: events without id are skipped). */
  synchronized List<String> ids() {
    return new ArrayList<>(ids);
  }

  @Override
  public PeerRecording recording() {
    return recording;
  }

  @Override
  public void sendText(String text) throws Exception {
    post("", text);
  }

  @Override
  public void sendBinary(byte[] bytes) {
    throw new UnsupportedOperationException("SSE commands are text");
  }

  @Override
  public void sendClose(int code, String reason) throws Exception {
    post("&close=" + code, reason);
  }

  private void post(String extra, String body) throws Exception {
    String t = token.getNow(null);
    if (t == null) {
      throw new IOException("no stream token yet");
    }
    URI uri =
        URI.create("http://127.0.0.1:" + port + path.replaceAll("\\?.*$", "") + "?stream=" + URLEncoder.encode(t, StandardCharsets.UTF_8) + extra);
    HttpResponse<Void> r =
        HTTP.send(
            HttpRequest.newBuilder(uri)
                .header("Content-Type", "text/plain; charset=utf-8")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                .build(),
            HttpResponse.BodyHandlers.discarding());
    if (r.statusCode() != 202) {
      throw new IOException("command refused: HTTP " + r.statusCode());
    }
  }

  @Override
  public void abort() {
    aborted = true;
    recording.aborted();
    try {
      socket.setSoLinger(true, 0); // a reset, not a FIN: a lost network
      socket.close();
    } catch (IOException e) {
      // already gone
    }
  }

  @Override
  public boolean canPauseReading() {
    return true;
  }

  @Override
  public void pauseReading() {
    paused = true;
  }

  @Override
  public synchronized void resumeReading() {
    paused = false;
    notifyAll();
  }

  @Override
  public void close() {
    aborted = true;
    try {
      socket.close();
    } catch (IOException e) {
      // already gone
    }
  }

  // ---- the reader thread ----

  private void read() {
    try {
      InputStream raw = new PausableInput(new java.io.BufferedInputStream(socket.getInputStream(), 8192));
      int status = readHead(raw);
      if (status != 200) {
        recording.failed(new IOException("HTTP " + status));
        token.completeExceptionally(new IOException("stream refused: HTTP " + status));
        return;
      }
      InputStream body = new ChunkedInput(raw);
      parseEvents(body);
    } catch (IOException e) {
      if (!aborted && !recording.close().isPresent()) {
        recording.failed(e);
      }
      token.completeExceptionally(e);
    }
  }

  private int readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new EOFException("no response head");
      }
      head.write(b);
      matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    String text = head.toString(StandardCharsets.ISO_8859_1);
    String[] lines = text.split("\r\n");
    boolean chunked = false;
    for (String l : lines) {
      if (l.toLowerCase(Locale.ROOT).startsWith("transfer-encoding:") && l.toLowerCase(Locale.ROOT).contains("chunked")) {
        chunked = true;
      }
    }
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    if (status == 200 && !chunked) {
      throw new IOException("expected a chunked stream: " + text);
    }
    return status;
  }

  private void parseEvents(InputStream body) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    String event = null;
    String id = null;
    StringBuilder data = null;
    for (; ; ) {
      int b = body.read();
      if (b < 0) {
        if (!aborted && !recording.close().isPresent()) {
          recording.failed(new EOFException("stream ended without runlane.close"));
        }
        return;
      }
      if (b != '\n') {
        line.write(b);
        continue;
      }
      String l = line.toString(StandardCharsets.UTF_8);
      line.reset();
      if (l.isEmpty()) { // dispatch
        if (data != null) {
          dispatch(event, id, data.toString());
        }
        event = null;
        id = null;
        data = null;
        continue;
      }
      if (l.startsWith(":")) {
        continue; // a comment: keep-alive
      }
      int colon = l.indexOf(':');
      String field = colon < 0 ? l : l.substring(0, colon);
      String value = colon < 0 ? "" : l.substring(colon + 1);
      if (value.startsWith(" ")) {
        value = value.substring(1);
      }
      switch (field) {
        case "data":
          data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
          break;
        case "event":
          event = value;
          break;
        case "id":
          id = value;
          break;
        default:
          break;
      }
    }
  }

  private void dispatch(@Nullable String event, @Nullable String id, String data) {
    if ("runlane.stream".equals(event)) {
      token.complete(data);
      return;
    }
    if ("runlane.close".equals(event)) {
      int space = data.indexOf(' ');
      int code = Integer.parseInt(space < 0 ? data : data.substring(0, space));
      recording.closed(code, space < 0 ? "" : data.substring(space + 1));
      return;
    }
    if (id != null) {
      lastEventId = id;
      synchronized (this) {
        ids.add(id);
      }
    }
    recording.text(data);
  }

  /** Reads only while not paused, so the server's writes back up like a slow client's. */
  private final class PausableInput extends InputStream {
    private final InputStream in;

    PausableInput(InputStream in) {
      this.in = in;
    }

    private void awaitResume() throws IOException {
      synchronized (SseClientPeer.this) {
        while (paused) {
          try {
            SseClientPeer.this.wait(50);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
          }
        }
      }
    }

    @Override
    public int read() throws IOException {
      awaitResume();
      return in.read();
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      awaitResume();
      return in.read(b, off, Math.min(len, 4096));
    }
  }

  /** HTTP/1.1 chunked transfer decoding; -1 at the last chunk. */
  private static final class ChunkedInput extends InputStream {
    private final InputStream in;
    private long left;
    private boolean done;

    ChunkedInput(InputStream in) {
      this.in = in;
    }

    @Override
    public int read() throws IOException {
      if (done) {
        return -1;
      }
      if (left == 0) {
        String size = line();
        int semi = size.indexOf(';');
        left = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
        if (left == 0) {
          done = true;
          return -1;
        }
      }
      int b = in.read();
      if (b < 0) {
        throw new EOFException("stream cut inside a chunk");
      }
      if (--left == 0) {
        line(); // the CRLF after the chunk
      }
      return b;
    }

    private String line() throws IOException {
      StringBuilder sb = new StringBuilder();
      for (; ; ) {
        int b = in.read();
        if (b < 0) {
          throw new EOFException("stream cut");
        }
        if (b == '\n') {
          int n = sb.length();
          return n > 0 && sb.charAt(n - 1) == '\r' ? sb.substring(0, n - 1) : sb.toString();
        }
        sb.append((char) b);
      }
    }
  }
}
