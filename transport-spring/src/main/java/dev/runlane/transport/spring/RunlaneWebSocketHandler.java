package dev.runlane.transport.spring;

import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Payload;
import dev.runlane.transport.support.SerialInbound;
import java.io.IOException;
import java.security.Principal;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.web.socket.BinaryMessage;
import org.springframework.web.socket.CloseStatus;
import org.springframework.web.socket.PingMessage;
import org.springframework.web.socket.PongMessage;
import org.springframework.web.socket.TextMessage;
import org.springframework.web.socket.WebSocketHandler;
import org.springframework.web.socket.WebSocketMessage;
import org.springframework.web.socket.WebSocketSession;

/**
 * A Spring {@link WebSocketHandler} that serves each WebSocket as a Runlane connection: it wraps
 * the session in a {@link SpringWebSocketConnection}, hands it to the host's {@link
 * SpringConnectionAcceptor} and forwards what arrives to the returned {@link InboundHandler}.
 *
 * <pre>{@code
 * @Configuration @EnableWebSocket
 * class Sockets implements WebSocketConfigurer {
 *   public void registerWebSocketHandlers(WebSocketHandlerRegistry registry) {
 *     registry.addHandler(RunlaneWebSocketHandler.builder(runlane::connect).build(), "/runlane");
 *   }
 * }
 * }</pre>
 *
 * <ul>
 *   <li>The principal is resolved when the WebSocket opens, by default from the handshake's
 *       authenticated user ({@link WebSocketSession#getPrincipal()}, e.g. Spring Security's), else
 *       from the session attribute {@link #PRINCIPAL_ATTRIBUTE} that a {@code HandshakeInterceptor}
 *       may set. Without one, the session is closed with {@code 4401} and never reaches Runlane.
 *   <li>Text and binary messages go to {@link InboundHandler#onFrame} (a binary message is copied);
 *       pongs go to {@link InboundHandler#onActivity}. Containers answer pings themselves.
 *   <li>Every event goes through one serializer per connection: calls to the handler never
 *       overlap, and {@link InboundHandler#onClose} comes once, after the last {@code onFrame}
 *       (rules T4.5, T7.1, T7.2). An exception from the handler (which rule T7.3 forbids) is logged
 *       and closes the connection with 1011.
 * </ul>
 *
 * <p>Partial messages are not supported: the container assembles each message up to the session's
 * size limits ({@link Builder#maxTextMessageSize}, {@link Builder#maxBinaryMessageSize}), and closes
 * the session with 1009 when a message is larger.
 *
 * <p><b>Thread safety:</b> thread-safe; one instance serves every session. {@link #close()} shuts
 * down the executor the handler created (not one the host passed in).
 */
public final class RunlaneWebSocketHandler implements WebSocketHandler, AutoCloseable {

  /** The session attribute a {@code HandshakeInterceptor} may set to the principal's name. */
  public static final String PRINCIPAL_ATTRIBUTE = "runlane.principal";

  private static final Logger LOG = LoggerFactory.getLogger(RunlaneWebSocketHandler.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Base64.Encoder BASE64URL = Base64.getUrlEncoder().withoutPadding();

  private final SpringConnectionAcceptor acceptor;
  private final Function<WebSocketSession, @Nullable String> principals;
  private final Set<Capability> capabilities;
  private final int maxTextMessageSize;
  private final int maxBinaryMessageSize;
  private final ExecutorService executor;
  private final boolean ownsExecutor;
  private final Map<String, Endpoint> endpoints = new ConcurrentHashMap<>();

  private RunlaneWebSocketHandler(Builder b) {
    this.acceptor = b.acceptor;
    this.principals = b.principals;
    this.capabilities = b.streamTransport
        ? EnumSet.of(Capability.BINARY, Capability.STREAM_TRANSPORT, Capability.JOINED_MESSAGES)
        : EnumSet.of(Capability.BINARY, Capability.JOINED_MESSAGES);
    this.maxTextMessageSize = b.maxTextMessageSize;
    this.maxBinaryMessageSize = b.maxBinaryMessageSize;
    ExecutorService given = b.executor;
    this.ownsExecutor = given == null;
    this.executor = given != null ? given : Executors.newCachedThreadPool(new DaemonThreads());
  }

  /** A builder; {@code acceptor} registers each connection, e.g. {@code runlane::connect}. */
  public static Builder builder(SpringConnectionAcceptor acceptor) {
    return new Builder(acceptor);
  }

  /** The default principal resolver: the handshake's user, else {@link #PRINCIPAL_ATTRIBUTE}. */
  public static @Nullable String defaultPrincipal(WebSocketSession session) {
    Principal user = session.getPrincipal();
    if (user != null && user.getName() != null && !user.getName().isEmpty()) {
      return user.getName();
    }
    Object attribute = session.getAttributes().get(PRINCIPAL_ATTRIBUTE);
    return attribute instanceof String && !((String) attribute).isEmpty() ? (String) attribute : null;
  }

  /** Live connections of this handler. */
  public int connectionCount() {
    return endpoints.size();
  }

  @Override
  public void afterConnectionEstablished(WebSocketSession session) {
    session.setTextMessageSizeLimit(maxTextMessageSize);
    session.setBinaryMessageSizeLimit(maxBinaryMessageSize);
    String principal;
    try {
      principal = principals.apply(session);
    } catch (RuntimeException e) {
      LOG.warn("Session {}: the principal resolver threw; refusing", session.getId(), e);
      principal = null;
    }
    if (principal == null) {
      refuse(session);
      return;
    }
    Endpoint endpoint = new Endpoint(randomConnectionId());
    SpringWebSocketConnection connection =
        new SpringWebSocketConnection(
            endpoint.id, principal, session, capabilities, executor, endpoint::terminated);
    endpoints.put(session.getId(), endpoint);
    endpoint.inbound.execute(() -> endpoint.open(connection));
  }

  @Override
  public void handleMessage(WebSocketSession session, WebSocketMessage<?> message) {
    Endpoint endpoint = endpoints.get(session.getId());
    if (endpoint == null) {
      return;
    }
    if (message instanceof TextMessage) {
      Payload payload = Payload.text(((TextMessage) message).getPayload());
      endpoint.inbound.execute(() -> endpoint.deliverFrame(payload));
    } else if (message instanceof BinaryMessage) {
      Payload payload = new Payload.Binary(((BinaryMessage) message).getPayload()); // a copy
      endpoint.inbound.execute(() -> endpoint.deliverFrame(payload));
    } else if (message instanceof PongMessage || message instanceof PingMessage) {
      endpoint.inbound.execute(endpoint::deliverActivity);
    }
  }

  @Override
  public void handleTransportError(WebSocketSession session, Throwable exception) {
    Endpoint endpoint = endpoints.get(session.getId());
    if (endpoint != null) {
      endpoint.lastError = exception;
    }
    LOG.debug("Session {}: transport error", session.getId(), exception);
  }

  @Override
  public void afterConnectionClosed(WebSocketSession session, CloseStatus status) {
    Endpoint endpoint = endpoints.remove(session.getId());
    if (endpoint == null) {
      return;
    }
    CloseReason observed = toCloseReason(status.getCode(), status.getReason(), endpoint.lastError);
    endpoint.inbound.execute(() -> endpoint.deliverClose(observed));
  }

  @Override
  public boolean supportsPartialMessages() {
    return false;
  }

  /** Shuts down the executor this handler created; one the host passed in is left alone. */
  @Override
  public void close() {
    if (ownsExecutor) {
      executor.shutdown();
    }
  }

  private static void refuse(WebSocketSession session) {
    try {
      session.close(new CloseStatus(CloseReason.UNAUTHORIZED.code(), CloseReason.UNAUTHORIZED.reason()));
    } catch (IOException | RuntimeException e) {
      LOG.debug("Session {}: refusing close failed", session.getId(), e);
    }
  }

  /** 128 random bits, URL-safe Base64 (rule T1.1). */
  static String randomConnectionId() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return BASE64URL.encodeToString(bytes);
  }

  /** A close as the container reported it, made valid for {@link CloseReason}. */
  static CloseReason toCloseReason(int statusCode, @Nullable String reason, @Nullable Throwable error) {
    String text = reason == null ? "" : reason;
    if (text.isEmpty() && error != null) {
      String message = error.getMessage();
      text = error.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }
    int code = statusCode >= 1000 && statusCode <= 4999 ? statusCode : 1006;
    return new CloseReason(code, text);
  }

  /** The state of one session; its tasks run one at a time on {@link #inbound}. */
  private final class Endpoint {
    final String id;
    final SerialInbound inbound = new SerialInbound(e -> LOG.error("Inbound task failed", e));
    volatile @Nullable Throwable lastError;

    // Read and written only by tasks running in `inbound`, which orders them.
    private @Nullable SpringWebSocketConnection connection;
    private @Nullable InboundHandler handler;
    private boolean closeReported;

    Endpoint(String id) {
      this.id = id;
    }

    void open(SpringWebSocketConnection opened) {
      connection = opened;
      if (closeReported) {
        return;
      }
      InboundHandler accepted;
      try {
        accepted = acceptor.accept(opened);
      } catch (RuntimeException | Error e) {
        LOG.warn("Connection {}: the connection acceptor threw; closing", id, e);
        opened.close(CloseReason.INTERNAL_ERROR);
        return;
      }
      if (accepted == null) { // a host breaking the contract; be safe
        LOG.warn("Connection {}: the connection acceptor returned no handler; closing", id);
        opened.close(CloseReason.INTERNAL_ERROR);
        return;
      }
      handler = accepted;
    }

    void deliverFrame(Payload payload) {
      InboundHandler target = handler;
      if (target == null || closeReported) {
        return;
      }
      try {
        target.onFrame(payload);
      } catch (RuntimeException | Error e) {
        handlerFailed("onFrame", e);
      }
    }

    void deliverActivity() {
      InboundHandler target = handler;
      if (target == null || closeReported) {
        return;
      }
      try {
        target.onActivity();
      } catch (RuntimeException | Error e) {
        handlerFailed("onActivity", e);
      }
    }

    /** After {@code terminate()} dropped the socket: the container may never report the close. */
    void terminated() {
      inbound.execute(() -> deliverClose(new CloseReason(1006, "connection terminated")));
    }

    void deliverClose(CloseReason reason) {
      if (closeReported) {
        return;
      }
      closeReported = true;
      SpringWebSocketConnection closing = connection;
      if (closing != null) {
        closing.markClosed();
        endpoints.remove(closing.session().getId(), this);
      }
      InboundHandler target = handler;
      if (target == null) {
        return; // never registered: nobody to tell
      }
      try {
        target.onClose(reason);
      } catch (RuntimeException | Error e) {
        LOG.error("Connection {}: InboundHandler.onClose threw (rule T7.3)", id, e);
      }
    }

    private void handlerFailed(String method, Throwable e) {
      LOG.error("Connection {}: InboundHandler.{} threw (rule T7.3); closing", id, method, e);
      SpringWebSocketConnection current = connection;
      if (current != null) {
        current.close(CloseReason.INTERNAL_ERROR);
      }
    }
  }

  /** Builds a {@link RunlaneWebSocketHandler}. */
  public static final class Builder {
    private final SpringConnectionAcceptor acceptor;
    private Function<WebSocketSession, @Nullable String> principals = RunlaneWebSocketHandler::defaultPrincipal;
    private boolean streamTransport;
    private int maxTextMessageSize = 64 * 1024;
    private int maxBinaryMessageSize = 64 * 1024;
    private @Nullable ExecutorService executor;

    private Builder(SpringConnectionAcceptor acceptor) {
      this.acceptor = Objects.requireNonNull(acceptor, "acceptor");
    }

    /**
     * How to find a session's principal; {@code null} refuses the session with 4401. Default:
     * {@link #defaultPrincipal}.
     */
    public Builder principal(Function<WebSocketSession, @Nullable String> resolver) {
      this.principals = Objects.requireNonNull(resolver, "resolver");
      return this;
    }

    /**
     * Whether connections declare {@code STREAM_TRANSPORT}: set it only if the acceptor pairs
     * stream transports with {@code runlane.connectStream} (rule T5.1). Default false.
     */
    public Builder streamTransport(boolean pairs) {
      this.streamTransport = pairs;
      return this;
    }

    /** The largest inbound text message, in bytes; default 64 KiB (Runlane's default maxInboundBytes). */
    public Builder maxTextMessageSize(int bytes) {
      this.maxTextMessageSize = positive(bytes);
      return this;
    }

    /** The largest inbound binary message, in bytes; default 64 KiB. */
    public Builder maxBinaryMessageSize(int bytes) {
      this.maxBinaryMessageSize = positive(bytes);
      return this;
    }

    /**
     * Where closes (containers write the close frame blocking) and, off Jakarta WebSocket
     * containers, blocking writes run. Default: a cached pool of daemon threads, shut down by
     * {@link RunlaneWebSocketHandler#close()}.
     */
    public Builder executor(ExecutorService executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /** Builds the handler. */
    public RunlaneWebSocketHandler build() {
      return new RunlaneWebSocketHandler(this);
    }

    private static int positive(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("must be >= 1: " + n);
      }
      return n;
    }
  }

  private static final class DaemonThreads implements java.util.concurrent.ThreadFactory {
    private final AtomicInteger count = new AtomicInteger();

    @Override
    public Thread newThread(Runnable r) {
      Thread t = new Thread(r, "runlane-spring-ws-" + count.incrementAndGet());
      t.setDaemon(true);
      return t;
    }
  }
}
