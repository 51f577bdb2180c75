package dev.runlane.transport.spring;

import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Payload;
import dev.runlane.transport.SendCallback;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.web.socket.BinaryMessage;
import org.springframework.web.socket.CloseStatus;
import org.springframework.web.socket.TextMessage;
import org.springframework.web.socket.WebSocketMessage;
import org.springframework.web.socket.WebSocketSession;
import org.springframework.web.socket.adapter.NativeWebSocketSession;
import org.springframework.web.socket.handler.WebSocketSessionDecorator;

/**
 * A Runlane {@link Connection} over one Spring {@link WebSocketSession}.
 *
 * <p>Created by {@link RunlaneWebSocketHandler} when a WebSocket opens.
 *
 * <p><b>How sends stay non-blocking.</b> Spring's {@code WebSocketSession.sendMessage} blocks the
 * calling thread until the container wrote the frame, and must not be called concurrently. Spring's
 * own {@code ConcurrentWebSocketSessionDecorator} makes concurrent calls safe with a buffer, but the
 * thread that wins its flush lock still writes with the blocking call: a Runlane thread would stall
 * on a slow client (rule T2.1), and its buffer and time limits duplicate Runlane's outbox bound and
 * send-stall timeout. So this connection keeps its own FIFO queue with a single drainer and writes
 * one frame at a time:
 *
 * <ul>
 *   <li>On a Jakarta WebSocket container (Tomcat, and Jetty's ee10/ee11 WebSocket, which is what
 *       Spring Framework 7 upgrades through), it writes through the native session's {@code
 *       RemoteEndpoint.Async} with a {@code SendHandler}: no thread waits for a write. The next frame
 *       is written from the previous one's completion, since {@code RemoteEndpoint.Async} allows one
 *       outstanding message. The callback succeeds when the container reports the frame written
 *       (rules T2.5, T2.6).
 *   <li>On any other session it falls back to Spring's blocking {@code sendMessage}, called on the
 *       handler's executor, never on Runlane's thread. A client that stops reading then holds one
 *       executor thread until Runlane's send-stall timeout closes it and {@link #terminate()} drops
 *       the socket.
 * </ul>
 *
 * <p>{@link #close} queues the close behind the frames already sent (rule T4.1) and performs it on
 * the executor, because containers send the close frame with a blocking write. {@link #terminate}
 * drops the TCP connection without a close frame on Tomcat (through its {@code WsSession}'s remote
 * endpoint, reflectively) and on Jetty (its native {@code Session.disconnect()}); elsewhere it falls
 * back to an immediate close with 1006-like semantics (code 1011, no waiting for queued frames).
 * Either way the close is reported to Runlane once.
 *
 * <p><b>Thread safety:</b> thread-safe. No lock is held while a {@link SendCallback} runs (rule
 * T2.3): a callback may run on the calling thread (a send to a closed connection, or a write the
 * container completed at once) or on a container or executor thread.
 */
public final class SpringWebSocketConnection implements Connection {

  private static final Logger LOG = LoggerFactory.getLogger(SpringWebSocketConnection.class);

  /** The most UTF-8 bytes of a close reason that fit in a WebSocket close frame. */
  static final int MAX_CLOSE_REASON_BYTES = 123;

  private final String id;
  private final String principal;
  private final WebSocketSession session;
  private final Set<Capability> capabilities;
  private final Executor executor;
  private final Runnable terminated;
  private final Writer writer;

  private final Queue<Item> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger drainers = new AtomicInteger();

  /** A write is outstanding; set by the drainer, cleared by the write's completion. */
  private volatile boolean writing;

  /** A write failed or the close was dequeued: every later write fails without touching the socket. */
  private volatile boolean stopWriting;

  /** Set once the connection can no longer send; never cleared (rule T3.1). */
  private final AtomicBoolean closed = new AtomicBoolean();

  private final AtomicBoolean closeStarted = new AtomicBoolean();
  private final AtomicBoolean terminateStarted = new AtomicBoolean();

  /**
   * Wraps an open session.
   *
   * @param id the connection id; unique among live connections and hard to guess (rule T1.1)
   * @param principal the principal the host authenticated (rule T1.2)
   * @param session the open session
   * @param capabilities what this connection declares (rule T5.1)
   * @param executor runs closes and, off Jakarta containers, the blocking writes
   * @param terminated reports the close to Runlane after {@link #terminate()} dropped the socket
   */
  SpringWebSocketConnection(
      String id,
      String principal,
      WebSocketSession session,
      Set<Capability> capabilities,
      Executor executor,
      Runnable terminated) {
    this.id = Objects.requireNonNull(id, "id");
    this.principal = Objects.requireNonNull(principal, "principal");
    this.session = Objects.requireNonNull(session, "session");
    this.capabilities = Set.copyOf(capabilities);
    this.executor = Objects.requireNonNull(executor, "executor");
    this.terminated = Objects.requireNonNull(terminated, "terminated");
    jakarta.websocket.@Nullable Session jakarta = jakartaSession(session);
    this.writer = jakarta != null ? new AsyncJakartaWriter(jakarta) : new BlockingSpringWriter();
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String principal() {
    return principal;
  }

  /** The Spring session: its URI, handshake headers and attributes, for the host's accept glue. */
  public WebSocketSession session() {
    return session;
  }

  @Override
  public Set<Capability> capabilities() {
    return capabilities;
  }

  @Override
  public boolean isOpen() {
    return !closed.get();
  }

  /** Whether writes go through Jakarta WebSocket's async remote (else through the executor). */
  boolean nonBlockingWrites() {
    return writer instanceof AsyncJakartaWriter;
  }

  @Override
  public void send(Frame frame, SendCallback callback) {
    Once once = new Once(callback);
    if (closed.get()) {
      once.failed(new ClosedChannelException()); // T3.2
      return;
    }
    Payload payload = frame.payload();
    if (payload instanceof Payload.Binary && !capabilities.contains(Capability.BINARY)) {
      once.failed(new IllegalArgumentException("binary payloads are not declared")); // T5.2
      return;
    }
    queue.add(new Write(payload, once));
    drain();
  }

  @Override
  public void close(CloseReason reason) {
    if (terminateStarted.get() || !closeStarted.compareAndSet(false, true)) {
      return; // T4.3
    }
    closed.set(true);
    int code = wireCode(reason.code());
    String text = truncateUtf8(reason.reason(), MAX_CLOSE_REASON_BYTES);
    queue.add(new Close(code, text)); // T4.1: behind every frame already sent
    drain();
  }

  @Override
  public void terminate() {
    if (!terminateStarted.compareAndSet(false, true)) {
      return;
    }
    closed.set(true);
    stopWriting = true;
    drain(); // fails what is still queued
    run(
        () -> {
          dropSocket();
          terminated.run();
        });
  }

  /** Marks the connection closed once the container reported the session closed. */
  void markClosed() {
    closed.set(true);
    stopWriting = true;
    drain();
  }

  @Override
  public String toString() {
    return "SpringWebSocketConnection[" + id + ", " + principal + "]";
  }

  // ---- the single drainer ----

  /**
   * Writes queued items one at a time. The thread that finds no drainer drains; a write completed
   * inline re-enters here and returns at once, so the stack stays flat however many frames a
   * burst holds.
   */
  private void drain() {
    if (drainers.getAndIncrement() != 0) {
      return;
    }
    int missed = 1;
    do {
      while (!writing) {
        Item item = queue.poll();
        if (item == null) {
          break;
        }
        if (item instanceof Write) {
          Write w = (Write) item;
          if (stopWriting) {
            w.callback.failed(new ClosedChannelException()); // T3.2
            continue;
          }
          writing = true;
          writer.write(w.payload, error -> written(w, error));
        } else {
          Close c = (Close) item;
          stopWriting = true;
          if (!terminateStarted.get()) {
            run(() -> closeSession(c));
          }
        }
      }
      missed = drainers.addAndGet(-missed);
    } while (missed != 0);
  }

  private void written(Write w, @Nullable Throwable error) {
    if (error != null) {
      stopWriting = true;
    }
    writing = false;
    if (error == null) {
      w.callback.succeeded();
    } else {
      w.callback.failed(error);
    }
    drain();
  }

  private void closeSession(Close c) {
    try {
      session.close(new CloseStatus(c.code, c.reason));
    } catch (IOException | RuntimeException e) {
      LOG.debug("Connection {}: close failed, dropping the socket", id, e);
      dropSocket();
      terminated.run();
    }
  }

  private void run(Runnable task) {
    try {
      executor.execute(task);
    } catch (RejectedExecutionException e) {
      LOG.debug("Connection {}: executor refused a task; running it inline", id, e);
      task.run();
    }
  }

  // ---- dropping the socket ----

  /** Drops the TCP connection without a closing handshake, as far as the container allows. */
  private void dropSocket() {
    jakarta.websocket.@Nullable Session jakarta = jakartaSession(session);
    if (jakarta != null && dropTomcat(jakarta)) {
      return;
    }
    Object nativeSession = session instanceof NativeWebSocketSession ? ((NativeWebSocketSession) session).getNativeSession() : null;
    if (nativeSession != null && invokeNoArg(nativeSession, "disconnect")) {
      return; // Jetty's native session
    }
    try {
      session.close(CloseStatus.SERVER_ERROR);
    } catch (IOException | RuntimeException e) {
      LOG.debug("Connection {}: close on terminate failed", id, e);
    }
  }

  /** Tomcat: {@code WsSession.wsRemoteEndpoint.close()} closes the socket without a close frame. */
  private boolean dropTomcat(jakarta.websocket.Session jakarta) {
    Class<?> type = jakarta.getClass();
    while (type != null && !type.getName().equals("org.apache.tomcat.websocket.WsSession")) {
      type = type.getSuperclass();
    }
    if (type == null) {
      return false;
    }
    try {
      Field field = type.getDeclaredField("wsRemoteEndpoint");
      field.setAccessible(true);
      Object endpoint = field.get(jakarta);
      return endpoint != null && invokeNoArg(endpoint, "close");
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.debug("Connection {}: cannot reach Tomcat's remote endpoint", id, e);
      return false;
    }
  }

  private boolean invokeNoArg(Object target, String name) {
    try {
      Method m = target.getClass().getMethod(name);
      m.invoke(target);
      return true;
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.debug("Connection {}: {}.{}() not available", id, target.getClass().getName(), name, e);
      return false;
    }
  }

  // ---- helpers ----

  /** The Jakarta WebSocket session under {@code session}, if it has one. */
  static jakarta.websocket.@Nullable Session jakartaSession(WebSocketSession session) {
    WebSocketSession s = WebSocketSessionDecorator.unwrap(session);
    if (!(s instanceof NativeWebSocketSession)) {
      return null;
    }
    try {
      return ((NativeWebSocketSession) s).getNativeSession(jakarta.websocket.Session.class);
    } catch (NoClassDefFoundError e) {
      return null; // no Jakarta WebSocket API on the class path
    }
  }

  /** A close code that may travel on the wire: 1004–1006 and 1015–2999 become 1011. */
  static int wireCode(int code) {
    boolean rfcDefined = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
    boolean application = code >= 3000 && code <= 4999;
    return rfcDefined || application ? code : CloseReason.INTERNAL_ERROR.code();
  }

  /** Truncates {@code text} to at most {@code maxBytes} UTF-8 bytes without splitting a character. */
  static String truncateUtf8(String text, int maxBytes) {
    if (text.length() * 3 <= maxBytes) {
      return text;
    }
    CharsetEncoder encoder =
        StandardCharsets.UTF_8
            .newEncoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    ByteBuffer out = ByteBuffer.allocate(maxBytes);
    encoder.encode(CharBuffer.wrap(text), out, true); // stops before a character that does not fit
    out.flip();
    return StandardCharsets.UTF_8.decode(out).toString();
  }

  private interface Item {}

  private static final class Write implements Item {
    final Payload payload;
    final Once callback;

    Write(Payload payload, Once callback) {
      this.payload = payload;
      this.callback = callback;
    }
  }

  private static final class Close implements Item {
    final int code;
    final String reason;

    Close(int code, String reason) {
      this.code = code;
      this.reason = reason;
    }
  }

  /** Completion of one write: {@code null} for success. */
  private interface Done {
    void done(@Nullable Throwable error);
  }

  /** Writes one frame and reports it to {@code done} exactly once; never blocks the caller. */
  private interface Writer {
    void write(Payload payload, Done done);
  }

  /** Through {@code RemoteEndpoint.Async}: the container completes the {@code SendHandler}. */
  private static final class AsyncJakartaWriter implements Writer {
    private final jakarta.websocket.Session session;

    AsyncJakartaWriter(jakarta.websocket.Session session) {
      this.session = session;
    }

    @Override
    public void write(Payload payload, Done done) {
      jakarta.websocket.SendHandler handler = result -> done.done(result.isOK() ? null : failure(result));
      try {
        jakarta.websocket.RemoteEndpoint.Async remote = session.getAsyncRemote();
        if (payload instanceof Payload.Text) {
          remote.sendText(((Payload.Text) payload).text(), handler);
        } else {
          remote.sendBinary(((Payload.Binary) payload).data(), handler); // T2.4: a fresh view
        }
      } catch (RuntimeException e) {
        done.done(e); // e.g. IllegalStateException on a closed session: never throw out of send
      }
    }

    private static Throwable failure(jakarta.websocket.SendResult result) {
      Throwable cause = result.getException();
      return cause != null ? cause : new IOException("send failed");
    }
  }

  /** Through Spring's blocking {@code sendMessage}, on the executor. */
  private final class BlockingSpringWriter implements Writer {
    @Override
    public void write(Payload payload, Done done) {
      WebSocketMessage<?> message =
          payload instanceof Payload.Text
              ? new TextMessage(((Payload.Text) payload).text())
              : new BinaryMessage(((Payload.Binary) payload).data());
      run(
          () -> {
            try {
              session.sendMessage(message);
              done.done(null);
            } catch (IOException | RuntimeException e) {
              done.done(e);
            }
          });
    }
  }

  /** Guarantees exactly one completion per send (rule T2.2), whatever the container does. */
  private static final class Once implements SendCallback {
    private final SendCallback delegate;
    private final AtomicBoolean done = new AtomicBoolean();

    Once(SendCallback delegate) {
      this.delegate = delegate;
    }

    @Override
    public void succeeded() {
      if (done.compareAndSet(false, true)) {
        delegate.succeeded();
      }
    }

    @Override
    public void failed(Throwable cause) {
      if (done.compareAndSet(false, true)) {
        delegate.failed(cause);
      }
    }
  }
}
