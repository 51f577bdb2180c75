package dev.runlane.transport;

import java.time.Duration;

/**
 * Where the host delivers what arrives on a {@link Connection}: returned to the host when it
 * registers the connection with Runlane.
 *
 * <p>The host must deliver the inbound frames of one connection in arrival order and never
 * concurrently (rule T7.1), and must report the close exactly once, after the last frame (rule
 * T7.2). Runlane never throws from these methods (rule T7.3): bad input becomes a protocol error
 * on that connection, never an exception on the host's socket thread.
 *
 * <p><b>Thread safety:</b> calls for one connection must be serialized by the host; calls for
 * different connections may run concurrently.
 */
public interface InboundHandler {

  /** One inbound message, as received (a WebSocket text or binary message). */
  void onFrame(Payload payload);

  /**
   * Proof of life without a message (a WebSocket pong, an SSE reconnect heartbeat): resets the
   * idle timer. Inbound frames reset it too.
   */
  void onActivity();

  /**
   * How long Runlane lets this connection go without inbound traffic (frames, pongs, {@link
   * #onActivity}) before closing it with {@link CloseReason#IDLE_TIMEOUT}, or zero if it never
   * does. A transport with an idle timeout of its own keeps it above this, so that Runlane closes a
   * quiet connection first, with its resumable 4001 (rule T8.1). Fixed for the connection's life.
   *
   * <p>The default, zero, suits handlers that never close for idleness.
   */
  default Duration idleTimeout() {
    return Duration.ZERO;
  }

  /**
   * The connection closed (by the peer, the network, or a close Runlane asked for). The connection
   * leaves every registry; nothing is sent to it afterwards.
   *
   * @param reason the code and reason, as received or as the host observed them
   */
  void onClose(CloseReason reason);
}
