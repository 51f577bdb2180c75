package dev.runlane.transport.jetty;

import dev.runlane.transport.CloseReason;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Payload;
import dev.runlane.transport.support.SerialInbound;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Jetty WebSocket endpoint of one Runlane connection: it opens the {@link JettyConnection},
 * hands it to the host's {@link ConnectionAcceptor} and forwards what arrives to the returned
 * {@link InboundHandler}.
 *
 * <p>Created by {@link JettyRunlaneWebSockets#creator}; Jetty calls its listener methods.
 *
 * <ul>
 *   <li>Text and binary messages go to {@link InboundHandler#onFrame} (a binary message is copied
 *       before Jetty recycles its buffer); pings (answered with a pong) and pongs go to {@link
 *       InboundHandler#onActivity}.
 *   <li>It is {@linkplain Session.Listener.AutoDemanding auto-demanding}: Jetty reads the next
 *       message only after the previous listener call returned, so messages arrive one at a time in
 *       arrival order. Jetty may report the close from another thread (idle timeout, abort, a failed
 *       write), so every event goes through one serializer: calls to the handler never overlap, and
 *       {@link InboundHandler#onClose} comes after the last {@code onFrame} (rules T7.1, T7.2).
 *   <li>The close is reported exactly once, whoever closed and however (close handshake, error,
 *       abrupt disconnect, {@code terminate()}; rule T4.5). Frames that arrive after it are dropped.
 *   <li>An exception thrown by the handler (which rule T7.3 forbids) never reaches Jetty's thread: it
 *       is logged, and an exception from {@code onFrame} or {@code onActivity} closes the connection
 *       with {@link CloseReason#INTERNAL_ERROR}.
 * </ul>
 *
 * <p><b>Thread safety:</b> Jetty's listener calls may come from any Jetty thread, also
 * concurrently with each other; the endpoint serializes them as described above.
 */
public final class JettyRunlaneEndpoint implements Session.Listener.AutoDemanding {

  private static final Logger LOG = LoggerFactory.getLogger(JettyRunlaneEndpoint.class);

  private final String id;
  private final String principal;
  private final ConnectionAcceptor acceptor;
  private final JettyRunlaneWebSockets.Settings settings;
  private final Executor executor;
  private final SerialInbound inbound =
      new SerialInbound(e -> LOG.error("Inbound task failed", e));

  // Read and written only by tasks running in `inbound`, which orders them.
  private @Nullable JettyConnection connection;
  private @Nullable InboundHandler handler;
  private boolean closeReported;

  /** The session, for answering pings outside the serializer; set on open. */
  private volatile @Nullable Session session;

  /** The connection, for spotting a close reported from inside its own close(); set on open. */
  private volatile @Nullable JettyConnection openedConnection;

  /** The last error Jetty reported; it precedes the close Jetty reports for it. */
  private volatile @Nullable Throwable lastError;

  JettyRunlaneEndpoint(
      String id,
      String principal,
      ConnectionAcceptor acceptor,
      JettyRunlaneWebSockets.Settings settings,
      Executor executor) {
    this.id = Objects.requireNonNull(id, "id");
    this.principal = Objects.requireNonNull(principal, "principal");
    this.acceptor = Objects.requireNonNull(acceptor, "acceptor");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.executor = Objects.requireNonNull(executor, "executor");
  }

  @Override
  public void onWebSocketOpen(Session session) {
    this.session = session;
    try {
      settings.applyTo(session);
    } catch (RuntimeException e) {
      LOG.warn("Connection {}: could not apply session settings", id, e);
    }
    JettyConnection opened = new JettyConnection(id, principal, session, settings.capabilities());
    openedConnection = opened;
    inbound.execute(() -> open(opened));
  }

  @Override
  public void onWebSocketText(String message) {
    Payload payload = Payload.text(message);
    inbound.execute(() -> deliverFrame(payload));
  }

  @Override
  public void onWebSocketBinary(ByteBuffer buffer, Callback callback) {
    try {
      // Copies the bytes: Jetty recycles `buffer` once the callback completes.
      Payload payload = new Payload.Binary(buffer);
      inbound.execute(() -> deliverFrame(payload));
    } finally {
      callback.succeed();
    }
  }

  @Override
  public void onWebSocketPing(ByteBuffer payload) {
    // Overriding this turns off Jetty's automatic pong, so answer here. Jetty queues the pong ahead
    // of pending data frames under the flusher's lock; that is safe alongside Runlane's sends.
    Session current = session;
    if (current != null && current.isOpen()) {
      try {
        current.sendPong(payload, Callback.NOOP);
      } catch (RuntimeException e) {
        LOG.debug("Connection {}: pong failed", id, e);
      }
    }
    inbound.execute(this::deliverActivity);
  }

  @Override
  public void onWebSocketPong(ByteBuffer payload) {
    inbound.execute(this::deliverActivity);
  }

  @Override
  public void onWebSocketError(Throwable cause) {
    // Jetty reports an error only on its way to closing the session, and then reports the close.
    lastError = cause;
    LOG.debug("Connection {}: error", id, cause);
  }

  @Override
  public void onWebSocketClose(int statusCode, @Nullable String reason, Callback callback) {
    try {
      CloseReason observed = toCloseReason(statusCode, reason, lastError);
      Runnable report = () -> inbound.execute(() -> deliverClose(observed));
      JettyConnection current = openedConnection;
      if (current != null && current.closingOnCurrentThread()) {
        // Jetty reports an abnormal close (e.g. 1001, 1011) synchronously, from inside Runlane's
        // own close() or terminate(); never call back into Runlane from there.
        dispatch(report);
      } else {
        report.run();
      }
    } finally {
      callback.succeed();
    }
  }

  @Override
  public String toString() {
    return "JettyRunlaneEndpoint[" + id + "]";
  }

  private void dispatch(Runnable report) {
    try {
      executor.execute(report);
    } catch (RejectedExecutionException e) {
      LOG.debug("Connection {}: executor refused the close report; reporting inline", id, e);
      report.run();
    }
  }

  // ---- tasks, run one at a time by `inbound` ----

  private void open(JettyConnection opened) {
    connection = opened;
    if (closeReported) {
      return; // cannot happen: the open is the first task; kept for safety
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
    deriveIdleTimeout(accepted);
  }

  /**
   * Rule T8.1: unless the host set Jetty's idle timeout, put it above the handler's, so that
   * Runlane closes a quiet connection first (4001, resumable) rather than Jetty (1001, after its
   * 30 s default).
   */
  private void deriveIdleTimeout(InboundHandler accepted) {
    Session current = session;
    if (settings.idleTimeout() != null || current == null) {
      return;
    }
    try {
      Duration derived = JettyRunlaneWebSockets.Settings.socketIdleTimeoutAbove(accepted.idleTimeout());
      if (derived != null) {
        current.setIdleTimeout(derived);
      }
    } catch (RuntimeException e) {
      LOG.warn("Connection {}: could not derive the socket idle timeout", id, e);
    }
  }

  private void deliverFrame(Payload payload) {
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

  private void deliverActivity() {
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

  private void deliverClose(CloseReason reason) {
    if (closeReported) {
      return;
    }
    closeReported = true;
    JettyConnection closing = connection;
    if (closing != null) {
      closing.markClosed();
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
    JettyConnection current = connection;
    if (current != null) {
      current.close(CloseReason.INTERNAL_ERROR);
    }
  }

  // ---- helpers ----

  /** A close as Jetty reported it, made valid for {@link CloseReason}. */
  static CloseReason toCloseReason(
      int statusCode, @Nullable String reason, @Nullable Throwable error) {
    String text = reason == null ? "" : reason;
    if (text.isEmpty() && error != null) {
      String message = error.getMessage();
      text = error.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }
    int code = statusCode >= 1000 && statusCode <= 4999 ? statusCode : 1006;
    return new CloseReason(code, text);
  }
}
