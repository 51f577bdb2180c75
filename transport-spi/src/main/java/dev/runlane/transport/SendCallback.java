package dev.runlane.transport;

/**
 * Completion of one {@link Connection#send(Frame, SendCallback)}.
 *
 * <p>The transport must call exactly one of the two methods exactly once per send (rule T2.2),
 * after the frame has been handed to the socket (success) or has definitely not been (failure),
 * and never while holding a lock that the caller may need (rule T2.3).
 *
 * <p><b>Thread safety:</b> implementations supplied by Runlane are safe to call from any thread.
 */
public interface SendCallback {

  /** The frame was handed to the socket (written or accepted by the OS / the server's writer). */
  void succeeded();

  /**
   * The frame was not delivered; the transport will deliver no later frame of this connection.
   *
   * @param cause why; for a closed connection, any exception that says so
   */
  void failed(Throwable cause);
}
