package dev.runlane.tck;

/**
 * The client end of one connection, as the kit drives it: sends raw frames, records what arrives
 * (in order, text or binary, and the close) and can close or drop the connection.
 *
 * <p>WebSocket adapters use {@link JdkWebSocketClientPeer}; other transports implement this over
 * their own client and record into a {@link PeerRecording}.
 *
 * <p><b>Thread safety:</b> implementations must allow the send methods to be called from any one
 * thread at a time and the other methods from any thread; {@link #recording()} is thread-safe.
 */
public interface ClientPeer extends AutoCloseable {

  /** Everything this peer has received so far, and its close; filled by the peer's own threads. */
  PeerRecording recording();

  /**
   * Sends one text message and returns once the client has written it; messages go out in the
   * order of these calls.
   *
   * @throws Exception if the message could not be written (e.g. the connection is closed)
   */
  void sendText(String text) throws Exception;

  /**
   * Sends one binary message and returns once the client has written it; messages go out in the
   * order of these calls.
   *
   * @throws Exception if the message could not be written
   */
  void sendBinary(byte[] bytes) throws Exception;

  /**
   * Starts a graceful close from the client side with this code and reason (a WebSocket close
   * frame, or the transport's equivalent). Does not wait for the server's answer.
   */
  void sendClose(int code, String reason) throws Exception;

  /** Drops the connection at once, without a closing handshake (a network failure). */
  void abort();

  /**
   * Whether this peer can stop reading, so that the server's writes back up as with a slow client
   * ({@link #pauseReading}). Tests that need a slow client are skipped with the reason if not.
   */
  default boolean canPauseReading() {
    return false;
  }

  /**
   * Stops reading from the connection until {@link #resumeReading}: the server's writes must then
   * back up (in socket buffers, then in the server's write queue), as with a slow client.
   *
   * @throws UnsupportedOperationException if {@link #canPauseReading()} is false
   */
  default void pauseReading() {
    throw new UnsupportedOperationException("this peer cannot stop reading");
  }

  /** Resumes reading after {@link #pauseReading}; what backed up is then received in order. */
  default void resumeReading() {
    throw new UnsupportedOperationException("this peer cannot stop reading");
  }

  /** Releases the peer: drops the connection if it is still open. Idempotent. */
  @Override
  void close();
}
