package dev.runlane.transport.sse;

import dev.runlane.transport.CloseReason;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Payload;
import dev.runlane.transport.support.SerialInbound;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves Runlane over Server-Sent Events on one servlet path (asynchronous support required).
 *
 * <ul>
 *   <li>{@code GET} opens the stream ({@code text/event-stream}): the principal comes from the
 *       host's resolver (else 401); the first event is {@code event: runlane.stream} whose data is
 *       the stream token; then each Runlane frame is one event (see {@link SseConnection}). A
 *       {@code Last-Event-ID} header (the browser's automatic reconnect) or {@code lastEventId}
 *       query parameter becomes, through {@link SseEvents#resumeCommand}, the connection's first
 *       inbound command: the run resumes exactly after that event.
 *   <li>{@code POST ?stream=<token>} delivers its body (UTF-8 text, at most {@code maxCommandBytes})
 *       as one inbound frame of that stream and answers 202; 404 for an unknown or ended stream,
 *       403 if the resolver names another principal, 413 if too large. {@code POST
 *       ?stream=<token>&close=<code>} with the reason as body is the client's close.
 *   <li>Every {@code keepAliveInterval} an SSE comment goes to each stream: proxies keep it open, and
 *       a client that left is noticed on that write.
 * </ul>
 *
 * <pre>{@code
 * SseRunlaneServlet sse = SseRunlaneServlet.builder(runlane::connect)
 *     .principal(request -> sessions.userOf(request))   // cookies work with EventSource
 *     .events(new JsonSseEvents())
 *     .build();
 * context.addServlet("runlane-sse", sse).setAsyncSupported(true);   // mapped to /sse
 * }</pre>
 *
 * <p>Inbound frames of one stream are delivered one at a time in arrival order, and the close once
 * after the last frame (rules T4.5, T7.1, T7.2).
 *
 * <p><b>Thread safety:</b> thread-safe; one instance serves every stream. {@link #destroy()} stops
 * its keep-alive thread.
 */
public final class SseRunlaneServlet extends HttpServlet {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(SseRunlaneServlet.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Base64.Encoder BASE64URL = Base64.getUrlEncoder().withoutPadding();

  /** How long a drainer may wait for the container's onWritePossible() before it is nudged. */
  private static final long NUDGE_MILLIS = 1000;

  private final transient SseConnectionAcceptor acceptor;
  private final transient Function<HttpServletRequest, @Nullable String> principals;
  private final transient SseEvents events;
  private final int maxCommandBytes;
  private final Duration keepAliveInterval;
  private final transient Map<String, Stream> streams = new ConcurrentHashMap<>();
  private final transient ScheduledExecutorService timer;

  private SseRunlaneServlet(Builder b) {
    this.acceptor = b.acceptor;
    this.principals = b.principals;
    this.events = b.events;
    this.maxCommandBytes = b.maxCommandBytes;
    this.keepAliveInterval = b.keepAliveInterval;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "runlane-sse");
              t.setDaemon(true);
              return t;
            });
    long millis = keepAliveInterval.toMillis();
    timer.scheduleWithFixedDelay(this::keepAlive, millis, millis, TimeUnit.MILLISECONDS);
    timer.scheduleWithFixedDelay(this::nudge, NUDGE_MILLIS, NUDGE_MILLIS, TimeUnit.MILLISECONDS);
  }

  /** A builder; {@code acceptor} registers each stream, e.g. {@code runlane::connect}. */
  public static Builder builder(SseConnectionAcceptor acceptor) {
    return new Builder(acceptor);
  }

  /** Live streams of this servlet. */
  public int streamCount() {
    return streams.size();
  }

  @Override
  public void destroy() {
    timer.shutdownNow();
    for (Stream s : streams.values()) {
      s.connection.terminate();
    }
  }

  @Override
  protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
    String principal = principalOf(request);
    if (principal == null) {
      response.sendError(HttpServletResponse.SC_UNAUTHORIZED);
      return;
    }
    String lastEventId = request.getHeader("Last-Event-ID");
    if (lastEventId == null) {
      lastEventId = request.getParameter("lastEventId");
    }
    response.setStatus(HttpServletResponse.SC_OK);
    response.setContentType("text/event-stream");
    response.setCharacterEncoding("UTF-8");
    response.setHeader("Cache-Control", "no-store");
    response.setHeader("X-Accel-Buffering", "no"); // nginx: do not buffer the stream
    AsyncContext async = request.startAsync();
    async.setTimeout(0);
    ServletOutputStream out = response.getOutputStream();
    String token = randomToken();
    Stream stream = new Stream();
    SseConnection connection =
        new SseConnection(randomToken(), principal, token, async, out, events, (c, reason) -> ended(stream, reason));
    stream.connection = connection;
    streams.put(token, stream);
    async.addListener(new Listener(connection));
    out.setWriteListener(connection); // from now on writes are non-blocking
    connection.sendStreamToken();
    Payload resume = lastEventId == null || lastEventId.isEmpty() ? null : events.resumeCommand(lastEventId);
    stream.inbound.execute(() -> stream.open(acceptor));
    if (resume != null) {
      stream.inbound.execute(() -> stream.deliverFrame(resume));
    }
  }

  @Override
  protected void doPost(HttpServletRequest request, HttpServletResponse response) throws IOException {
    String token = request.getParameter("stream");
    Stream stream = token == null ? null : streams.get(token);
    if (stream == null) {
      response.sendError(HttpServletResponse.SC_NOT_FOUND, "no such stream");
      return;
    }
    SseConnection c = stream.connection;
    String principal = principalOf(request);
    if (principal != null && !principal.equals(c.principal())) {
      response.sendError(HttpServletResponse.SC_FORBIDDEN);
      return;
    }
    byte[] body;
    try (InputStream in = request.getInputStream()) {
      body = in.readNBytes(maxCommandBytes + 1);
    }
    if (body.length > maxCommandBytes) {
      response.sendError(HttpServletResponse.SC_REQUEST_ENTITY_TOO_LARGE);
      return;
    }
    String text = new String(body, StandardCharsets.UTF_8);
    String close = request.getParameter("close");
    if (close != null) {
      int code;
      try {
        code = Integer.parseInt(close);
        new CloseReason(code, text); // validates the range
      } catch (IllegalArgumentException e) {
        response.sendError(HttpServletResponse.SC_BAD_REQUEST, "close code must be 1000-4999");
        return;
      }
      c.peerClosed(new CloseReason(code, text));
      response.setStatus(HttpServletResponse.SC_ACCEPTED);
      return;
    }
    if (!c.isOpen()) {
      response.sendError(HttpServletResponse.SC_NOT_FOUND, "stream closed");
      return;
    }
    stream.inbound.execute(() -> stream.deliverFrame(Payload.text(text)));
    response.setStatus(HttpServletResponse.SC_ACCEPTED);
  }

  private @Nullable String principalOf(HttpServletRequest request) {
    try {
      String p = principals.apply(request);
      return p == null || p.isEmpty() ? null : p;
    } catch (RuntimeException e) {
      LOG.warn("The principal resolver threw; refusing", e);
      return null;
    }
  }

  private void ended(Stream stream, CloseReason reason) {
    streams.remove(stream.connection.streamToken(), stream);
    // Never report from inside Runlane's own close()/terminate(): hand it to the timer thread.
    try {
      timer.execute(() -> stream.inbound.execute(() -> stream.deliverClose(reason)));
    } catch (RejectedExecutionException e) {
      stream.inbound.execute(() -> stream.deliverClose(reason));
    }
  }

  /**
   * A stream whose drainer waits for {@code onWritePossible()} longer than {@link #NUDGE_MILLIS}
   * drains again: a lost container callback delays a stream by a second instead of stalling it.
   */
  private void nudge() {
    long now = System.nanoTime();
    for (Stream s : streams.values()) {
      try {
        s.connection.nudge(now, TimeUnit.MILLISECONDS.toNanos(NUDGE_MILLIS));
      } catch (RuntimeException e) {
        LOG.debug("Nudge failed for {}", s.connection, e);
      }
    }
  }

  private void keepAlive() {
    for (Stream s : streams.values()) {
      try {
        s.connection.keepAlive();
      } catch (RuntimeException e) {
        LOG.debug("Keep-alive failed for {}", s.connection, e);
      }
    }
  }

  private static String randomToken() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return BASE64URL.encodeToString(bytes);
  }

  /** One stream's inbound side; its tasks run one at a time on {@link #inbound}. */
  private static final class Stream {
    final SerialInbound inbound = new SerialInbound(e -> LOG.error("Inbound task failed", e));
    @SuppressWarnings("NullAway.Init") // set right after construction, before any use
    SseConnection connection;

    // Read and written only by tasks running in `inbound`.
    private @Nullable InboundHandler handler;
    private boolean closeReported;

    void open(SseConnectionAcceptor acceptor) {
      if (closeReported) {
        return;
      }
      InboundHandler accepted;
      try {
        accepted = acceptor.accept(connection);
      } catch (RuntimeException | Error e) {
        LOG.warn("Connection {}: the acceptor threw; closing", connection.id(), e);
        connection.close(CloseReason.INTERNAL_ERROR);
        return;
      }
      if (accepted == null) {
        connection.close(CloseReason.INTERNAL_ERROR);
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
        LOG.error("Connection {}: InboundHandler.onFrame threw (rule T7.3); closing", connection.id(), e);
        connection.close(CloseReason.INTERNAL_ERROR);
      }
    }

    void deliverClose(CloseReason reason) {
      if (closeReported) {
        return;
      }
      closeReported = true;
      InboundHandler target = handler;
      if (target == null) {
        return;
      }
      try {
        target.onClose(reason);
      } catch (RuntimeException | Error e) {
        LOG.error("Connection {}: InboundHandler.onClose threw (rule T7.3)", connection.id(), e);
      }
    }
  }

  /** The container's view of the response: completion, error, timeout. */
  private static final class Listener implements AsyncListener {
    private final SseConnection connection;

    Listener(SseConnection connection) {
      this.connection = connection;
    }

    @Override
    public void onComplete(AsyncEvent event) {
      connection.containerEnded("stream ended");
    }

    @Override
    public void onTimeout(AsyncEvent event) {
      connection.containerEnded("stream timed out");
    }

    @Override
    public void onError(AsyncEvent event) {
      connection.containerEnded("stream failed");
    }

    @Override
    public void onStartAsync(AsyncEvent event) {}
  }

  /** Builds a {@link SseRunlaneServlet}. */
  public static final class Builder {
    private final SseConnectionAcceptor acceptor;
    private Function<HttpServletRequest, @Nullable String> principals =
        r -> r.getUserPrincipal() == null ? null : r.getUserPrincipal().getName();
    private SseEvents events = SseEvents.none();
    private int maxCommandBytes = 64 * 1024;
    private Duration keepAliveInterval = Duration.ofSeconds(15);

    private Builder(SseConnectionAcceptor acceptor) {
      this.acceptor = Objects.requireNonNull(acceptor, "acceptor");
    }

    /**
     * Who a request is; {@code null} refuses a stream with 401 (a command POST may answer null: its
     * stream token proves it). Default: the servlet request's authenticated user.
     */
    public Builder principal(Function<HttpServletRequest, @Nullable String> resolver) {
      this.principals = Objects.requireNonNull(resolver, "resolver");
      return this;
    }

    /** Event ids and Last-Event-ID resume; default {@link SseEvents#none()}. */
    public Builder events(SseEvents events) {
      this.events = Objects.requireNonNull(events, "events");
      return this;
    }

    /** The largest command body; default 64 KiB. */
    public Builder maxCommandBytes(int bytes) {
      if (bytes < 1) {
        throw new IllegalArgumentException("maxCommandBytes must be >= 1: " + bytes);
      }
      this.maxCommandBytes = bytes;
      return this;
    }

    /** How often an SSE comment goes to each stream; default 15 s. */
    public Builder keepAliveInterval(Duration interval) {
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("keepAliveInterval must be positive: " + interval);
      }
      this.keepAliveInterval = interval;
      return this;
    }

    /** Builds the servlet; it starts its keep-alive thread now. */
    public SseRunlaneServlet build() {
      return new SseRunlaneServlet(this);
    }
  }
}
