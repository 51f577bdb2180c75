package dev.runlane.transport.jetty;

import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Payload;
import dev.runlane.transport.SendCallback;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.UpgradeRequest;
import org.eclipse.jetty.websocket.common.WebSocketSession;
import org.eclipse.jetty.websocket.core.CoreSession;
import org.eclipse.jetty.websocket.core.OpCode;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Runlane {@link Connection} over one Jetty 12.1 WebSocket {@link Session}.
 *
 * <p>Created by {@link JettyRunlaneWebSockets}'s endpoint when a WebSocket opens; a host with its
 * own endpoint may create one itself, as long as it also honours the inbound rules T7 and reports
 * pongs through {@code onActivity()} (rule T8.2: this connection declares {@code TRANSPORT_PING}),
 * see {@link JettyRunlaneWebSockets}.
 *
 * <p><b>What this relies on in Jetty 12.1</b> (checked against the 12.1.8 sources): frames go out
 * through Jetty's core session ({@code CoreSession.sendFrame}, which {@link Session#sendText(String,
 * Callback)} and {@link Session#sendBinary(ByteBuffer, Callback)} call too), a text payload as a
 * TEXT frame over its already-encoded UTF-8 bytes. {@code sendFrame} never blocks. It validates the
 * frame and appends it to the session's frame flusher queue under the flusher's lock, and the flusher writes queued frames one at a time in queue order and completes
 * each frame's callback after its bytes were written, or fails it when the connection fails. So
 * several sends may be in flight at once without a {@code WritePendingException}, and frames reach
 * the peer in the order of the {@code send} calls (rules T2.1, T2.6). Jetty fails a send only when a
 * positive {@code maxOutgoingFrames} is configured (the default, -1, is unbounded); Runlane bounds
 * its sends in flight itself (rule T2.5). Once a close frame is queued, Jetty fails every later
 * send with a {@link ClosedChannelException} and writes nothing, which also covers a send that
 * races a {@link #close} (rule T3.2). Close codes Jetty deems abnormal (1001–2999, e.g. 1001 and 1011)
 * make it fail the frames still queued and send the close frame at once; for 1000 and 3000–4999 the
 * close frame follows the frames already queued. Either way, the close frame follows every frame
 * whose send reported success (rule T4.1).
 *
 * <p><b>Thread safety:</b> thread-safe. {@link #send} needs no external serialization, though
 * Runlane never calls it concurrently for one connection (rule T2.5); {@link #close}, {@link
 * #terminate} and {@link #isOpen} may be called from any thread at any time. No lock is held while a
 * {@link SendCallback} runs (rule T2.3): a callback may run on the calling thread (a send to a closed
 * connection, or a write that completed at once) or on a Jetty thread.
 */
public final class JettyConnection implements Connection {

  private static final Logger LOG = LoggerFactory.getLogger(JettyConnection.class);

  /** The most UTF-8 bytes of a close reason that fit in a WebSocket close frame. */
  static final int MAX_CLOSE_REASON_BYTES = 123;

  private final String id;
  private final String principal;
  private final Session session;

  /**
   * Jetty's core session under {@code session}, through which text goes out as a TEXT frame built
   * from the payload's UTF-8 bytes; null for a session that is not Jetty's own (a test double).
   */
  private final @Nullable CoreSession core;

  private final Set<Capability> capabilities;

  /** Whether frames go to Jetty in batch mode, written at {@link #flush()} (rule T2.7). */
  private final boolean batching;

  /** Set once the connection can no longer send; never cleared (rule T3.1). */
  private final AtomicBoolean closed = new AtomicBoolean();

  private final AtomicBoolean closeStarted = new AtomicBoolean();
  private final AtomicBoolean terminated = new AtomicBoolean();

  /** The thread inside {@link #close} or {@link #terminate}, while Jetty may report the close. */
  private volatile @Nullable Thread closingThread;

  /**
   * Wraps an open session.
   *
   * @param id the connection id; unique among live connections and hard to guess (rule T1.1)
   * @param principal the principal the host authenticated (rule T1.2)
   * @param session the open Jetty session
   * @param capabilities what the connection honours; {@link Capability#BINARY}, {@link
   *     Capability#TRANSPORT_PING} and {@link Capability#JOINED_MESSAGES} are always honoured by a
   *     WebSocket and so always declared; {@link
   *     Capability#BATCHING} only if asked for (then whoever sends must {@link #flush()}, as
   *     Runlane does), {@link Capability#STREAM_TRANSPORT} only if the host
   *     pairs stream transports
   */
  public JettyConnection(
      String id, String principal, Session session, Set<Capability> capabilities) {
    this(id, principal, session, coreSessionOf(session), capabilities);
  }

  /** With an explicit core session: the socket boundary, which tests stand in for. */
  JettyConnection(
      String id,
      String principal,
      Session session,
      @Nullable CoreSession core,
      Set<Capability> capabilities) {
    this.id = Objects.requireNonNull(id, "id");
    this.principal = Objects.requireNonNull(principal, "principal");
    this.session = Objects.requireNonNull(session, "session");
    this.core = core;
    EnumSet<Capability> declared = EnumSet.of(Capability.BINARY, Capability.TRANSPORT_PING, Capability.JOINED_MESSAGES);
    declared.addAll(capabilities);
    if (core == null) {
      declared.remove(Capability.BATCHING); // batching needs Jetty's core session
    }
    this.capabilities = Set.copyOf(declared);
    this.batching = declared.contains(Capability.BATCHING);
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String principal() {
    return principal;
  }

  /**
   * The HTTP upgrade request this connection was opened with: its headers and query parameters,
   * e.g. a stream transport's pairing of primary connection id and generation (rule T6.1).
   */
  public UpgradeRequest upgradeRequest() {
    return session.getUpgradeRequest();
  }

  /**
   * {@inheritDoc}
   *
   * <p>Text payloads go out as text messages and binary payloads as binary messages, byte for byte
   * (rule T5.2). A text payload goes out as a TEXT frame built from its UTF-8 bytes ({@link
   * Payload.Text#utf8()}), which the payload computed once for all its recipients: nothing is
   * encoded per send. Every payload is written from a private read-only view, so the shared payload
   * is never mutated (rule T2.4).
   */
  @Override
  public void send(Frame frame, SendCallback callback) {
    Objects.requireNonNull(frame, "frame");
    OnceCallback once = new OnceCallback(callback, id);
    if (!isOpen()) {
      once.fail(new ClosedChannelException());
      return;
    }
    Payload payload = frame.payload();
    try {
      CoreSession direct = core;
      if (payload instanceof Payload.Text text) {
        if (direct != null) {
          direct.sendFrame(
              new org.eclipse.jetty.websocket.core.Frame(OpCode.TEXT, text.utf8()), once, batching);
        } else {
          session.sendText(text.text(), once);
        }
      } else if (payload instanceof Payload.Binary binary) {
        if (direct != null) {
          direct.sendFrame(
              new org.eclipse.jetty.websocket.core.Frame(OpCode.BINARY, binary.data()), once, batching);
        } else {
          session.sendBinary(binary.data(), once);
        }
      } else {
        once.fail(new IllegalArgumentException("unknown payload type " + payload.getClass()));
      }
    } catch (RuntimeException e) {
      // Jetty reports failures through the callback; a throw would be a bug, but must not leak.
      once.fail(e);
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>Sends a close frame with the reason's code and its reason truncated to {@value
   * #MAX_CLOSE_REASON_BYTES} UTF-8 bytes at a character boundary. A code that RFC 6455 forbids on
   * the wire (1004–1006, 1015, 1016–2999) is sent as 1011. A no-op after an earlier {@code close} or
   * {@link #terminate()}. The close is reported to the connection's {@code InboundHandler} once the
   * closing handshake ends (or the socket drops), never from inside this call: for codes Jetty
   * deems abnormal it closes at once and reports synchronously, and the endpoint then hands the
   * report to Jetty's executor.
   */
  @Override
  public void close(CloseReason reason) {
    Objects.requireNonNull(reason, "reason");
    if (terminated.get() || !closeStarted.compareAndSet(false, true)) {
      return;
    }
    closed.set(true);
    int code = wireCode(reason.code());
    String text = truncateUtf8(reason.reason(), MAX_CLOSE_REASON_BYTES);
    closingThread = Thread.currentThread();
    try {
      session.close(code, text, new LoggingCallback("close"));
    } catch (RuntimeException e) {
      LOG.debug("Connection {}: close failed, dropping the socket", id, e);
      terminate();
    } finally {
      closingThread = null;
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>Aborts the socket through {@link Session#disconnect()}; Jetty then reports the close (as
   * code 1006) to the endpoint, which reports it to the connection's {@code InboundHandler}.
   */
  @Override
  public void terminate() {
    if (!terminated.compareAndSet(false, true)) {
      return;
    }
    closed.set(true);
    Thread outer = closingThread;
    closingThread = Thread.currentThread();
    try {
      session.disconnect();
    } catch (RuntimeException e) {
      LOG.debug("Connection {}: disconnect failed", id, e);
    } finally {
      closingThread = outer;
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>With {@link Capability#BATCHING} declared, frames go to Jetty's frame flusher in batch mode:
   * it copies small frames (under a quarter of the session's output buffer size) into one
   * aggregation buffer and completes their callbacks, and writes the buffer, with any larger frame
   * gathered behind it, when it fills, when a frame that is not batched comes, or at this flush
   * (Jetty's {@code CoreSession.flush}, a flush marker queued behind the frames). A close frame is
   * never batched, so it goes out behind the batch (rule T4.1). Without {@code BATCHING} a no-op.
   */
  @Override
  public void flush() {
    CoreSession direct = core;
    if (!batching || direct == null || !isOpen()) {
      return;
    }
    try {
      direct.flush(new LoggingCallback("flush"));
    } catch (RuntimeException e) {
      LOG.debug("Connection {}: flush failed", id, e);
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>Sends an empty WebSocket ping through {@link Session#sendPing}; Jetty queues it ahead of
   * pending data frames. Browsers and Jetty's own client answer with a pong, which the endpoint
   * reports through {@code onActivity()} on the connection's serial inbound path (rule T8.2).
   */
  @Override
  public void ping() {
    if (!isOpen()) {
      return;
    }
    try {
      session.sendPing(ByteBuffer.allocate(0), new LoggingCallback("ping"));
    } catch (RuntimeException e) {
      LOG.debug("Connection {}: ping failed", id, e);
    }
  }

  /** {@inheritDoc} False from the first close, terminate or Jetty-observed close on, forever. */
  @Override
  public boolean isOpen() {
    if (closed.get()) {
      return false;
    }
    if (!session.isOpen()) {
      closed.set(true);
      return false;
    }
    return true;
  }

  @Override
  public Set<Capability> capabilities() {
    return capabilities;
  }

  /** Whether the current thread is inside this connection's {@link #close} or {@link #terminate}. */
  boolean closingOnCurrentThread() {
    return closingThread == Thread.currentThread();
  }

  /** Called by the endpoint when Jetty reports the session closed. */
  void markClosed() {
    closed.set(true);
  }

  @Override
  public String toString() {
    return "JettyConnection[" + id + "]";
  }

  /** Jetty's core session under an API session, or null if the session is not Jetty's own. */
  static @Nullable CoreSession coreSessionOf(Session session) {
    return session instanceof WebSocketSession ? ((WebSocketSession) session).getCoreSession() : null;
  }

  /** Maps a close code to one that may travel in a close frame. */
  static int wireCode(int code) {
    boolean rfcDefined = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
    boolean application = code >= 3000 && code <= 4999;
    return rfcDefined || application ? code : CloseReason.INTERNAL_ERROR.code();
  }

  /** Truncates {@code text} to at most {@code maxBytes} UTF-8 bytes without splitting a character. */
  static String truncateUtf8(String text, int maxBytes) {
    // Fast path: every char takes at most 3 UTF-8 bytes (a surrogate pair takes 4 for 2 chars).
    if (text.length() * 3 <= maxBytes) {
      return text;
    }
    CharsetEncoder encoder =
        StandardCharsets.UTF_8
            .newEncoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    ByteBuffer out = ByteBuffer.allocate(maxBytes);
    // On overflow the encoder stops before the first character that does not fit whole.
    encoder.encode(CharBuffer.wrap(text), out, true);
    out.flip();
    return StandardCharsets.UTF_8.decode(out).toString();
  }

  /**
   * Adapts a {@link SendCallback} to Jetty's callback and guarantees exactly one completion (rule
   * T2.2), even if Jetty were to complete a callback twice or both ways.
   */
  private static final class OnceCallback
      implements Callback, org.eclipse.jetty.util.Callback {
    private final SendCallback delegate;
    private final String connectionId;
    private final AtomicBoolean done = new AtomicBoolean();

    OnceCallback(SendCallback delegate, String connectionId) {
      this.delegate = Objects.requireNonNull(delegate, "callback");
      this.connectionId = connectionId;
    }

    @Override
    public void succeed() {
      if (!done.compareAndSet(false, true)) {
        LOG.debug("Connection {}: ignored a second completion (success)", connectionId);
        return;
      }
      try {
        delegate.succeeded();
      } catch (RuntimeException e) {
        LOG.warn("Connection {}: send callback threw", connectionId, e);
      }
    }

    @Override
    public void succeeded() {
      succeed();
    }

    @Override
    public void failed(Throwable cause) {
      fail(cause);
    }

    @Override
    public void fail(Throwable cause) {
      if (!done.compareAndSet(false, true)) {
        LOG.debug("Connection {}: ignored a second completion (failure)", connectionId, cause);
        return;
      }
      try {
        delegate.failed(cause);
      } catch (RuntimeException e) {
        LOG.warn("Connection {}: send callback threw", connectionId, e);
      }
    }
  }

  /** Completion of a close frame write: nothing to do but say so at debug level. */
  private final class LoggingCallback implements Callback, org.eclipse.jetty.util.Callback {
    private final String what;

    LoggingCallback(String what) {
      this.what = what;
    }

    @Override
    public void failed(Throwable cause) {
      fail(cause);
    }

    @Override
    public void fail(Throwable cause) {
      LOG.debug("Connection {}: {} frame not written", id, what, cause);
    }
  }
}
