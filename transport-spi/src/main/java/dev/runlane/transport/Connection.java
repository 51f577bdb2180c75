package dev.runlane.transport;

import java.util.Set;

/**
 * One client connection, implemented by the host over its own socket (WebSocket, SSE, …).
 *
 * <p>Runlane calls these methods; the host implements them honouring the numbered rules in the
 * {@linkplain dev.runlane.transport package documentation}. Example (Jetty 12, abridged):
 *
 * <pre>{@code
 * public void send(Frame frame, SendCallback cb) {
 *   ByteBuffer utf8 = ((Payload.Text) frame.payload()).utf8(); // T5.2: encoded once, not per send
 *   coreSession.sendFrame(new Frame(OpCode.TEXT, utf8),
 *       Callback.from(cb::succeeded, cb::failed), false);   // T2.1: asynchronous, never blocks
 * }                                                         // T2.2: guard with a once-flag if your
 *                                                           // stack may complete a write twice
 * }</pre>
 *
 * <p><b>Thread safety:</b> Runlane may call {@link #send} from any thread but never concurrently
 * for the same connection (rule T2.5); {@link #close}, {@link #terminate}, {@link #ping} and {@link
 * #isOpen} may be called from any thread at any time, also concurrently with a send.
 */
public interface Connection {

  /**
   * A stable id, unique among the live connections of one Runlane instance (rule T1.1). It appears
   * in logs; it should not be guessable from another client's id.
   */
  String id();

  /**
   * The authenticated principal the host resolved for this connection (user id, account id, …),
   * before handing it to Runlane (rule T1.2). Runlane never authenticates; it authorizes by this.
   */
  String principal();

  /**
   * Sends one frame without blocking (rule T2.1) and reports completion to {@code callback} exactly
   * once (rule T2.2). Success means the frame was handed to the socket (with {@link
   * Capability#BATCHING}: to the batch that the next {@link #flush()} writes); frames of one
   * connection go out in the order of their sends (rule T2.6). After {@link #close} or once the connection is
   * closed, a send must complete with failure and write nothing (rule T3.2).
   *
   * @param frame the frame; its payload is shared with other connections and must not be mutated
   * @param callback completion, called exactly once, not under a lock the caller may hold
   */
  void send(Frame frame, SendCallback callback);

  /**
   * Starts a graceful close: sends a close frame with {@code reason} after the frames already
   * handed to the socket (rule T4.1) and then releases the socket. Idempotent (rule T4.3). Must
   * not block (rule T4.2).
   */
  void close(CloseReason reason);

  /**
   * Forcibly drops the socket without a closing handshake (rule T4.4). Runlane calls it when a
   * graceful close did not finish within the close grace period. Idempotent, must not block.
   */
  void terminate();

  /**
   * Writes every frame sent before this call that the transport still holds in a batch (rule
   * T2.7). Runlane calls it only on a connection that declares {@link Capability#BATCHING}, after
   * the last send of each drain of the connection's outbox, on the draining thread, never
   * concurrently with a send. Must not block; never throws; does nothing once closed.
   *
   * <p>The default does nothing: a transport that does not batch writes each frame at its send.
   */
  default void flush() {}

  /**
   * Sends a transport-level ping (a WebSocket ping) without blocking; the peer's pong is reported
   * through {@link InboundHandler#onActivity()} (rule T8.2). Runlane calls it only on a connection
   * that declares {@link Capability#TRANSPORT_PING}, from its housekeeping timer, when the
   * connection's inbound side has been quiet for a heartbeat interval. On a closed connection it
   * does nothing. It never throws.
   *
   * <p>The default throws {@link UnsupportedOperationException}: a connection that does not declare
   * {@code TRANSPORT_PING} is never pinged.
   */
  default void ping() {
    throw new UnsupportedOperationException("this connection does not declare TRANSPORT_PING");
  }

  /** Whether the connection can still send (rule T3.1). False forever once false. */
  boolean isOpen();

  /** The optional abilities of this connection and its peer (rule T5); usually fixed at connect. */
  Set<Capability> capabilities();
}
