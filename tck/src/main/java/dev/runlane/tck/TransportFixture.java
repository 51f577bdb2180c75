package dev.runlane.tck;

import dev.runlane.transport.Capability;

/**
 * What an adapter author writes to run the kit: the server half of their transport and a way to
 * open client peers against it.
 *
 * <pre>{@code
 * final class JettyFixture implements TransportFixture {
 *   public void start(ConnectionSink sink) throws Exception {
 *     // start the server on an ephemeral port; for every accepted socket: sink.accept(connection)
 *   }
 *   public ClientPeer connect(String principal) throws Exception {
 *     return JdkWebSocketClientPeer.connect(uri, Map.of("X-User", principal), Duration.ofSeconds(10));
 *   }
 *   public void close() throws Exception { server.stop(); }
 * }
 * }</pre>
 *
 * <p>The kit creates one fixture per test, calls {@link #start} once, {@link #connect} as often as
 * the test needs peers, and {@link #close} after the test. Capabilities are read from each
 * accepted connection's {@code capabilities()}, as Runlane reads them: a test of a capability the
 * connection does not declare is skipped with the reason. A connection that declares {@link
 * Capability#STREAM_TRANSPORT} needs {@link #connectStream}.
 *
 * <p><b>Thread safety:</b> the kit calls {@link #start}, {@link #connect}, {@link #connectStream}
 * and {@link #close} from the test thread; the server side calls the sink from its own threads.
 */
public interface TransportFixture extends AutoCloseable {

  /**
   * Starts the server side. From now on, every accepted connection is handed to {@code
   * sink.accept(...)} (or {@code sink.acceptStream(...)} for a stream transport), and its inbound
   * frames and close are forwarded to the handler the sink returned.
   *
   * @param sink where accepted connections go
   * @throws Exception if the server cannot start; the test then fails
   */
  void start(ConnectionSink sink) throws Exception;

  /**
   * Opens a client peer authenticated as {@code principal}. The server side must hand the
   * connection to the sink with exactly this principal (rule T1.2): the kit pairs peers with
   * server connections by principal. It may do so before or after this method returns.
   *
   * @param principal the principal to authenticate as; unique per peer within a test
   * @return the connected peer
   * @throws Exception if the peer cannot connect; the test then fails
   */
  ClientPeer connect(String principal) throws Exception;

  /**
   * Opens a client peer for the stream lane of an existing connection (capability {@link
   * Capability#STREAM_TRANSPORT}, rule T6.1): the server side must call {@code
   * sink.acceptStream(connection, connectionId, generation)} with the values given here.
   *
   * <p>The default throws {@link UnsupportedOperationException}: fine for adapters that do not
   * declare {@code STREAM_TRANSPORT}; one that declares it fails rule T5.1 without this method.
   *
   * @param principal the principal to authenticate as (the primary connection's)
   * @param connectionId the primary connection's id, as announced to the client
   * @param generation the primary connection's generation, as announced to the client
   * @return the connected stream peer
   * @throws Exception if the peer cannot connect; the test then fails
   */
  default ClientPeer connectStream(String principal, String connectionId, long generation)
      throws Exception {
    throw new UnsupportedOperationException("this fixture cannot open stream transports");
  }

  /** Stops the server side and releases everything; peers still open may be dropped. */
  @Override
  void close() throws Exception;
}
