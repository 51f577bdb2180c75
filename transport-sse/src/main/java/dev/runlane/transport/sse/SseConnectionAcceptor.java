package dev.runlane.transport.sse;

import dev.runlane.transport.InboundHandler;

/**
 * Registers each SSE stream with Runlane, e.g. {@code runlane::connect}, and returns the handler
 * its commands and close go to.
 *
 * <p><b>Thread safety:</b> called from servlet container threads, for different streams
 * concurrently.
 */
@FunctionalInterface
public interface SseConnectionAcceptor {

  /**
   * Registers {@code connection}.
   *
   * @return the handler for its inbound commands and close; never null
   */
  InboundHandler accept(SseConnection connection);
}
