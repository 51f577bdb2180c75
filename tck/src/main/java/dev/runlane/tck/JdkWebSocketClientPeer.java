package dev.runlane.tck;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * A ready {@link ClientPeer} for WebSocket adapters, on the JDK's {@link java.net.http.WebSocket}:
 * with it a WebSocket adapter's fixture only has to start its server.
 *
 * <pre>{@code
 * public ClientPeer connect(String principal) throws Exception {
 *   return JdkWebSocketClientPeer.connect(
 *       URI.create("ws://127.0.0.1:" + port + "/ws"), Map.of("X-User", principal), Duration.ofSeconds(10));
 * }
 * }</pre>
 *
 * <p>It reassembles fragmented messages, records them in order with their kind, and records the
 * close frame's code and reason (or {@link PeerClose#ABNORMAL} when the connection dropped without
 * one). It reads one message at a time on demand, so {@link #pauseReading()} really stops reading
 * the socket: the server's writes back up in the socket buffers and then in the server's queue, as
 * with a slow client. On a close frame the JDK client answers with the same code, completing the
 * closing handshake.
 *
 * <p><b>Thread safety:</b> thread-safe; sends are serialized (the JDK client allows one outstanding
 * send), the JDK's listener thread records what arrives.
 */
public final class JdkWebSocketClientPeer implements ClientPeer {

  private static final Object SHARED_LOCK = new Object();
  private static @Nullable HttpClient shared;

  private final WebSocket webSocket;
  private final Listener listener;
  private final Duration timeout;

  private JdkWebSocketClientPeer(WebSocket webSocket, Listener listener, Duration timeout) {
    this.webSocket = webSocket;
    this.listener = listener;
    this.timeout = timeout;
  }

  /**
   * Connects with a shared {@link HttpClient}.
   *
   * @param uri the WebSocket URI, e.g. {@code ws://127.0.0.1:8080/ws?x=1}
   * @param headers headers of the upgrade request (e.g. the credentials of the principal)
   * @param timeout how long to wait for the connection, and later for each send
   */
  public static JdkWebSocketClientPeer connect(URI uri, Map<String, String> headers, Duration timeout)
      throws Exception {
    return connect(sharedClient(), uri, headers, timeout);
  }

  /**
   * Connects with the given {@link HttpClient} (e.g. one with an SSL context).
   *
   * @param client the HTTP client
   * @param uri the WebSocket URI
   * @param headers headers of the upgrade request
   * @param timeout how long to wait for the connection, and later for each send
   */
  public static JdkWebSocketClientPeer connect(
      HttpClient client, URI uri, Map<String, String> headers, Duration timeout) throws Exception {
    Objects.requireNonNull(uri, "uri");
    Objects.requireNonNull(timeout, "timeout");
    WebSocket.Builder builder = client.newWebSocketBuilder().connectTimeout(timeout);
    headers.forEach(builder::header);
    Listener listener = new Listener();
    CompletableFuture<WebSocket> opening = builder.buildAsync(uri, listener);
    WebSocket ws;
    try {
      ws = opening.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      throw cause instanceof Exception ? (Exception) cause : e;
    } catch (TimeoutException e) {
      opening.cancel(true);
      throw new TimeoutException("could not connect to " + uri + " within " + timeout);
    }
    return new JdkWebSocketClientPeer(ws, listener, timeout);
  }

  private static HttpClient sharedClient() {
    synchronized (SHARED_LOCK) {
      HttpClient c = shared;
      if (c == null) {
        c = HttpClient.newHttpClient();
        shared = c;
      }
      return c;
    }
  }

  /** The JDK WebSocket, for what this class does not offer. */
  public WebSocket webSocket() {
    return webSocket;
  }

  @Override
  public PeerRecording recording() {
    return listener.recording;
  }

  @Override
  public synchronized void sendText(String text) throws Exception {
    await(webSocket.sendText(text, true));
  }

  @Override
  public synchronized void sendBinary(byte[] bytes) throws Exception {
    await(webSocket.sendBinary(ByteBuffer.wrap(bytes.clone()), true));
  }

  @Override
  public synchronized void sendClose(int code, String reason) throws Exception {
    await(webSocket.sendClose(code, reason));
  }

  private void await(CompletableFuture<WebSocket> sending) throws Exception {
    try {
      sending.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      throw cause instanceof Exception ? (Exception) cause : e;
    }
  }

  @Override
  public void abort() {
    listener.recording.aborted();
    webSocket.abort();
  }

  @Override
  public boolean canPauseReading() {
    return true;
  }

  @Override
  public void pauseReading() {
    listener.pause();
  }

  @Override
  public void resumeReading() {
    listener.resume(webSocket);
  }

  @Override
  public void close() {
    if (!webSocket.isInputClosed() || !webSocket.isOutputClosed()) {
      abort();
    }
  }

  @Override
  public String toString() {
    return "JdkWebSocketClientPeer[" + listener.recording + "]";
  }

  /** Reassembles and records messages; requests the next one only while not paused. */
  private static final class Listener implements WebSocket.Listener {
    final PeerRecording recording = new PeerRecording();
    private final StringBuilder text = new StringBuilder();
    private final ByteArrayOutputStream binary = new ByteArrayOutputStream();
    private boolean paused; // guarded by this
    private boolean owed; // a request(1) held back while paused; guarded by this

    @Override
    public void onOpen(WebSocket webSocket) {
      next(webSocket);
    }

    @Override
    public @Nullable CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      text.append(data);
      if (last) {
        recording.text(text.toString());
        text.setLength(0);
      }
      next(webSocket);
      return null;
    }

    @Override
    public @Nullable CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
      byte[] chunk = new byte[data.remaining()];
      data.get(chunk);
      binary.write(chunk, 0, chunk.length);
      if (last) {
        recording.binary(binary.toByteArray());
        binary.reset();
      }
      next(webSocket);
      return null;
    }

    @Override
    public @Nullable CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
      next(webSocket);
      return null;
    }

    @Override
    public @Nullable CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
      next(webSocket);
      return null;
    }

    @Override
    public @Nullable CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      recording.closed(statusCode, reason);
      return null; // the JDK client answers with a close frame of the same code
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      recording.failed(error);
    }

    private void next(WebSocket webSocket) {
      synchronized (this) {
        if (paused) {
          owed = true;
          return;
        }
      }
      webSocket.request(1);
    }

    synchronized void pause() {
      paused = true;
    }

    void resume(WebSocket webSocket) {
      boolean request;
      synchronized (this) {
        paused = false;
        request = owed;
        owed = false;
      }
      if (request) {
        webSocket.request(1);
      }
    }
  }
}
