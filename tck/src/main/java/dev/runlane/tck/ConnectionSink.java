package dev.runlane.tck;

import dev.runlane.transport.Connection;
import dev.runlane.transport.InboundHandler;

/**
 * Where a {@link TransportFixture}'s server side hands every connection it accepts: the kit's
 * stand-in for {@code runlane.connect(...)} and {@code runlane.connectStream(...)}.
 *
 * <p>The fixture calls {@link #accept} once per accepted socket, after authenticating it, and from
 * then on forwards that socket's inbound frames, activity and close to the returned handler,
 * honouring rules T7.1 and T7.2. At the SPI level the kit answers with a recording handler; in the
 * end-to-end kit the sink is a real {@code Runlane}.
 *
 * <p><b>Thread safety:</b> the kit's sinks are thread-safe: a fixture may call them from any
 * thread, also concurrently for different connections.
 */
public interface ConnectionSink {

  /**
   * Registers a freshly accepted, open connection (rule T1) and returns where its inbound traffic
   * goes. The connection may be sent to from inside this call.
   *
   * @param connection the server side of the new connection; {@code principal()} must be the
   *     principal the client peer connected as (rule T1.2)
   * @return the handler the fixture must deliver the connection's frames and close to
   */
  InboundHandler accept(Connection connection);

  /**
   * Registers a second transport that carries the stream lane of an existing connection (rule
   * T6.1; only for adapters whose connections declare {@code STREAM_TRANSPORT}). The fixture passes
   * the primary connection id and generation through exactly as the client sent them.
   *
   * @param streamTransport the server side of the stream transport
   * @param connectionId the primary connection's id, as the client sent it
   * @param generation the primary connection's generation, as the client sent it
   * @return the handler the fixture must deliver the stream transport's frames and close to
   */
  InboundHandler acceptStream(Connection streamTransport, String connectionId, long generation);
}
