package dev.runlane.tck;

import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.jetty.ConnectionAcceptor;
import dev.runlane.transport.jetty.JettyConnection;
import dev.runlane.transport.jetty.JettyRunlaneWebSockets;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.jspecify.annotations.Nullable;

/**
 * The kit's fixture for the Jetty 12.1 adapter: a real Jetty on an ephemeral loopback port with
 * Runlane's WebSocket endpoint at {@code /ws}, and {@link JdkWebSocketClientPeer}s as clients. This
 * is the whole of what a WebSocket adapter's author writes to run the kit.
 *
 * <p>Authentication: the principal travels in a header. Stream transports (rule T6.1): the client
 * opens {@code /ws?primary=ID&generation=N}; the acceptor reads both from the upgrade request and
 * pairs instead of registering.
 */
// tag::fixture[]
final class JettyFixture implements TransportFixture {

  static final String PRINCIPAL_HEADER = "X-Tck-Principal";
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  private @Nullable Server server;
  private int port;

  @Override
  public void start(ConnectionSink sink) throws Exception {
    Server s = new Server();
    ServerConnector connector = new ServerConnector(s);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    s.addConnector(connector);
    ContextHandler context = new ContextHandler("/");
    s.setHandler(context);
    JettyRunlaneWebSockets.Settings settings =
        JettyRunlaneWebSockets.Settings.builder(request -> request.getHeaders().get(PRINCIPAL_HEADER))
            .streamTransport(true) // this fixture pairs stream transports, so the kit tests T6
            .maxTextMessageSize(1 << 20)
            .maxBinaryMessageSize(1 << 20)
            .build();
    ConnectionAcceptor acceptor = connection -> accept(sink, connection);
    JettyRunlaneWebSockets.install(s, context, "/ws", settings, acceptor);
    s.start();
    server = s;
    port = connector.getLocalPort();
  }

  /** Registers a primary connection, or pairs a stream transport (T6.1: ids passed as sent). */
  private static InboundHandler accept(ConnectionSink sink, JettyConnection c) {
    Map<String, List<String>> query = c.upgradeRequest().getParameterMap();
    List<String> primary = query.get("primary");
    List<String> generation = query.get("generation");
    if (primary != null && generation != null) {
      return sink.acceptStream(c, primary.get(0), Long.parseLong(generation.get(0)));
    }
    return sink.accept(c);
  }

  @Override
  public ClientPeer connect(String principal) throws Exception {
    return JdkWebSocketClientPeer.connect(uri(""), Map.of(PRINCIPAL_HEADER, principal), CONNECT_TIMEOUT);
  }

  @Override
  public ClientPeer connectStream(String principal, String connectionId, long generation) throws Exception {
    String query = "?primary=" + URLEncoder.encode(connectionId, StandardCharsets.UTF_8) + "&generation=" + generation;
    return JdkWebSocketClientPeer.connect(uri(query), Map.of(PRINCIPAL_HEADER, principal), CONNECT_TIMEOUT);
  }

  private URI uri(String query) {
    return URI.create("ws://127.0.0.1:" + port + "/ws" + query);
  }

  @Override
  public void close() throws Exception {
    Server s = server;
    if (s != null) {
      s.stop();
    }
  }
}
// end::fixture[]
