package dev.runlane.transport.spring;

import dev.runlane.tck.ClientPeer;
import dev.runlane.tck.ConnectionSink;
import dev.runlane.tck.JdkWebSocketClientPeer;
import dev.runlane.tck.TransportFixture;
import dev.runlane.transport.InboundHandler;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.websocket.server.WsSci;
import org.jspecify.annotations.Nullable;
import org.springframework.http.server.ServerHttpRequest;
import org.springframework.http.server.ServerHttpResponse;
import org.springframework.web.socket.WebSocketHandler;
import org.springframework.web.socket.server.HandshakeInterceptor;
import org.springframework.web.socket.server.support.DefaultHandshakeHandler;
import org.springframework.web.socket.server.support.WebSocketHttpRequestHandler;
import org.springframework.web.util.UriComponentsBuilder;

/**
 * The kit's fixture for the Spring WebSocket transport: {@link RunlaneWebSocketHandler} behind
 * Spring's {@link WebSocketHttpRequestHandler} on an embedded Tomcat 11, the JDK's WebSocket client
 * as the peer. The principal travels in a header that a {@link HandshakeInterceptor} copies into
 * the session attributes; a stream transport's pairing in query parameters.
 */
final class TomcatFixture implements TransportFixture {

  static final String PRINCIPAL_HEADER = "X-Tck-Principal";
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  private static final Logger TOMCAT_LOG = Logger.getLogger("org.apache");
  private static final Logger TOMCAT_LOADER_LOG = Logger.getLogger("org.apache.catalina.loader");

  static {
    TOMCAT_LOG.setLevel(Level.WARNING); // no start-up chatter in test output
    TOMCAT_LOADER_LOG.setLevel(Level.SEVERE); // leak-detection advice about the JVM flags and pool threads
  }

  private @Nullable Tomcat tomcat;
  private @Nullable RunlaneWebSocketHandler handler;
  private @Nullable Path baseDir;
  private int port;

  @Override
  public void start(ConnectionSink sink) throws Exception {
    RunlaneWebSocketHandler h =
        RunlaneWebSocketHandler.builder(c -> accept(sink, c))
            .streamTransport(true) // this fixture pairs stream transports, so the kit tests T6
            .maxTextMessageSize(1 << 20)
            .maxBinaryMessageSize(1 << 20)
            .build();
    handler = h;
    WebSocketHttpRequestHandler upgrade = new WebSocketHttpRequestHandler(h, new DefaultHandshakeHandler());
    upgrade.setHandshakeInterceptors(List.of(new PrincipalFromHeader()));

    Path dir = Files.createTempDirectory("runlane-tomcat");
    baseDir = dir;
    Tomcat t = new Tomcat();
    t.setBaseDir(dir.toString());
    Connector connector = new Connector();
    connector.setPort(0);
    connector.setProperty("address", "127.0.0.1");
    t.setConnector(connector);
    Context context = t.addContext("", dir.toString());
    context.addServletContainerInitializer(new WsSci(), null);
    Tomcat.addServlet(context, "runlane", new UpgradeServlet(upgrade));
    context.addServletMappingDecoded("/ws", "runlane");
    t.start();
    tomcat = t;
    port = connector.getLocalPort();
  }

  /** Registers a primary connection, or pairs a stream transport (T6.1: ids passed as sent). */
  static InboundHandler accept(ConnectionSink sink, SpringWebSocketConnection c) {
    URI uri = c.session().getUri();
    Map<String, List<String>> query =
        uri == null ? Map.of() : UriComponentsBuilder.fromUri(uri).build().getQueryParams();
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

  /** The port Tomcat listens on, once started. */
  int port() {
    return port;
  }

  private URI uri(String query) {
    return URI.create("ws://127.0.0.1:" + port + "/ws" + query);
  }

  @Override
  public void close() throws Exception {
    Tomcat t = tomcat;
    if (t != null) {
      t.stop();
      t.destroy();
    }
    RunlaneWebSocketHandler h = handler;
    if (h != null) {
      h.close();
    }
    Path dir = baseDir;
    if (dir != null) {
      try (var files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** Copies the principal header into the session attributes. */
  static final class PrincipalFromHeader implements HandshakeInterceptor {
    @Override
    public boolean beforeHandshake(
        ServerHttpRequest request, ServerHttpResponse response, WebSocketHandler wsHandler, Map<String, Object> attributes) {
      String principal = request.getHeaders().getFirst(PRINCIPAL_HEADER);
      if (principal != null) {
        attributes.put(RunlaneWebSocketHandler.PRINCIPAL_ATTRIBUTE, principal);
      }
      return true;
    }

    @Override
    public void afterHandshake(
        ServerHttpRequest request, ServerHttpResponse response, WebSocketHandler wsHandler, @Nullable Exception exception) {}
  }

  /** A plain servlet in front of Spring's upgrade handler (no DispatcherServlet needed). */
  static final class UpgradeServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private final transient WebSocketHttpRequestHandler upgrade;

    UpgradeServlet(WebSocketHttpRequestHandler upgrade) {
      this.upgrade = upgrade;
    }

    @Override
    public void init() {
      upgrade.setServletContext(getServletContext());
      upgrade.start();
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws ServletException, IOException {
      upgrade.handleRequest(req, resp);
    }

    @Override
    public void destroy() {
      upgrade.stop();
    }
  }
}
