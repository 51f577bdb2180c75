package dev.runlane.transport.spring;

import dev.runlane.transport.InboundHandler;

/**
 * Registers each accepted connection with Runlane, e.g. {@code runlane::connect}, and returns the
 * handler its inbound traffic goes to.
 *
 * <p>A host that pairs stream transports (capability {@code STREAM_TRANSPORT}) decides here, e.g.
 * from {@link SpringWebSocketConnection#session()}'s URI, whether to call {@code
 * runlane.connectStream(connection, primaryId, generation)} instead.
 *
 * <p><b>Thread safety:</b> called from container threads, for different connections concurrently.
 */
@FunctionalInterface
public interface SpringConnectionAcceptor {

  /**
   * Registers {@code connection}.
   *
   * @return the handler for its inbound frames and close; never null
   */
  InboundHandler accept(SpringWebSocketConnection connection);
}
