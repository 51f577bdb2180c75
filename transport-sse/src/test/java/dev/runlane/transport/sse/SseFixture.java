package dev.runlane.transport.sse;

import dev.runlane.tck.ClientPeer;
import dev.runlane.tck.ConnectionSink;
import dev.runlane.tck.TransportFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.catalina.Context;
import org.apache.catalina.Wrapper;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.jspecify.annotations.Nullable;

/**
 * The kit's fixture for the SSE transport: {@link SseRunlaneServlet} on an embedded Tomcat 11, the
 * raw {@link SseClientPeer} as the client. The principal travels in a header on the stream's GET.
 */
final class SseFixture implements TransportFixture {

  static final String PRINCIPAL_HEADER = "X-Tck-Principal";
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  private static final Logger TOMCAT_LOG = Logger.getLogger("org.apache");

  static {
    TOMCAT_LOG.setLevel(Level.SEVERE); // no start-up chatter or leak-detection advice in test output
  }

  private final SseEvents events;
  private @Nullable Tomcat tomcat;
  private @Nullable Path baseDir;
  private @Nullable SseRunlaneServlet servlet;
  private int port;

  SseFixture() {
    this(SseEvents.none());
  }

  SseFixture(SseEvents events) {
    this.events = events;
  }

  @Override
  public void start(ConnectionSink sink) throws Exception {
    start(SseRunlaneServlet.builder(sink::accept)
        .principal(r -> r.getHeader(PRINCIPAL_HEADER))
        .events(events)
        .keepAliveInterval(Duration.ofMillis(100)) // notices dropped clients quickly
        .build());
  }

  /** Starts Tomcat with {@code s} at {@code /sse}. */
  void start(SseRunlaneServlet s) throws Exception {
    servlet = s;
    Path dir = Files.createTempDirectory("runlane-tomcat");
    baseDir = dir;
    Tomcat t = new Tomcat();
    t.setBaseDir(dir.toString());
    Connector connector = new Connector();
    connector.setPort(0);
    connector.setProperty("address", "127.0.0.1");
    t.setConnector(connector);
    Context context = t.addContext("", dir.toString());
    Wrapper w = Tomcat.addServlet(context, "runlane-sse", s);
    w.setAsyncSupported(true);
    context.addServletMappingDecoded("/sse", "runlane-sse");
    t.start();
    tomcat = t;
    port = connector.getLocalPort();
  }

  int port() {
    return port;
  }

  @Override
  public ClientPeer connect(String principal) throws Exception {
    return SseClientPeer.connect(port, "/sse", Map.of(PRINCIPAL_HEADER, principal), CONNECT_TIMEOUT);
  }

  @Override
  public void close() throws Exception {
    Tomcat t = tomcat;
    if (t != null) {
      t.stop();
      t.destroy();
    }
    SseRunlaneServlet s = servlet;
    if (s != null) {
      s.destroy();
    }
    Path dir = baseDir;
    if (dir != null) {
      try (var files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
