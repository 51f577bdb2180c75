import org.jspecify.annotations.NullMarked;

/**
 * The transport SPI implemented on Jetty 12.1's native WebSocket API. Jetty's server and WebSocket
 * API types appear in this module's API, hence {@code transitive}.
 */
@NullMarked
module dev.runlane.transport.jetty {
  requires transitive dev.runlane.transport;
  requires static transitive org.jspecify;
  requires transitive org.eclipse.jetty.server;
  requires transitive org.eclipse.jetty.websocket.api;
  requires transitive org.eclipse.jetty.websocket.server;
  requires org.eclipse.jetty.websocket.common; // the core session behind the API one: encode-once text frames
  requires org.eclipse.jetty.websocket.core.common;
  requires org.eclipse.jetty.websocket.core.server; // the mapping whose sessions keep a detached upgrade
  requires org.slf4j;

  exports dev.runlane.transport.jetty;
}
