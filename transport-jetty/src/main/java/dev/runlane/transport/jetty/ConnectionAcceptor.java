package dev.runlane.transport.jetty;

import dev.runlane.transport.Connection;
import dev.runlane.transport.InboundHandler;
import java.util.Objects;
import java.util.function.Function;

/**
 * The host's hook that registers a freshly upgraded connection with Runlane and returns where its
 * inbound traffic goes.
 *
 * <p>Called once per connection, on a Jetty thread, right after the WebSocket opened and before any
 * inbound frame is delivered. The connection is open and may be sent to from inside the call. A
 * host that pairs stream transports (rule T6.1) reads the pairing parameters from {@link
 * JettyConnection#upgradeRequest()} and registers accordingly.
 *
 * <p>If the acceptor throws, the connection is closed with {@link
 * dev.runlane.transport.CloseReason#INTERNAL_ERROR} and nothing is reported to any handler.
 *
 * <p><b>Thread safety:</b> called concurrently for different connections; implementations must be
 * thread-safe.
 */
@FunctionalInterface
public interface ConnectionAcceptor {

  /**
   * Registers {@code connection} and returns its inbound handler.
   *
   * @param connection the new, open connection
   * @return the handler that receives the connection's frames, activity and close
   */
  InboundHandler accept(JettyConnection connection);

  /** Adapts a plain function, e.g. a Runlane registry's {@code register(Connection)} method. */
  static ConnectionAcceptor from(Function<? super Connection, ? extends InboundHandler> register) {
    Objects.requireNonNull(register, "register");
    return register::apply;
  }
}
