package dev.runlane.transport.jetty;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.io.NetworkTrafficListener;
import org.eclipse.jetty.server.NetworkTrafficServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.util.Callback;

/** A real Jetty server on an ephemeral loopback port with Runlane mapped at {@code /ws}. */
final class TestServer implements AutoCloseable {

  static final String USER_HEADER = "X-Test-User";

  /** Authenticates by a test header: its value is the principal; no header refuses. */
  static final UpgradeAuthenticator HEADER_AUTH = request -> request.getHeaders().get(USER_HEADER);

  private static final HttpClient CLIENT = HttpClient.newHttpClient();

  final Server server;
  final RecordingAcceptor acceptor;
  /** The container of the handler install() returned. */
  final org.eclipse.jetty.websocket.server.ServerWebSocketContainer container;
  private final int port;

  /** Socket writes of the server, counted at the socket (one per buffer written). */
  final AtomicInteger writes;

  private TestServer(
      Server server,
      RecordingAcceptor acceptor,
      org.eclipse.jetty.websocket.server.ServerWebSocketContainer container,
      int port,
      AtomicInteger writes) {
    this.server = server;
    this.acceptor = acceptor;
    this.container = container;
    this.port = port;
    this.writes = writes;
  }

  static TestServer start(JettyRunlaneWebSockets.Settings settings, RecordingAcceptor acceptor)
      throws Exception {
    Server server = new Server();
    NetworkTrafficServerConnector connector = new NetworkTrafficServerConnector(server);
    AtomicInteger writes = new AtomicInteger();
    connector.setNetworkTrafficListener(
        new NetworkTrafficListener() {
          @Override
          public void outgoing(java.net.Socket socket, java.nio.ByteBuffer bytes) {
            writes.incrementAndGet(); // one per buffer Jetty writes to the socket
          }
        });
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    server.addConnector(connector);
    ContextHandler context = new ContextHandler("/");
    // A handler that was there before: install() must keep it serving non-upgrade requests.
    context.setHandler(
        new Handler.Abstract() {
          @Override
          public boolean handle(Request request, Response response, Callback callback) {
            response.setStatus(200);
            response.write(
                true, StandardCharsets.UTF_8.encode("plain http"), callback);
            return true;
          }
        });
    server.setHandler(context);
    org.eclipse.jetty.websocket.server.ServerWebSocketContainer container =
        JettyRunlaneWebSockets.install(server, context, "/ws", settings, acceptor)
            .getServerWebSocketContainer();
    server.start();
    return new TestServer(server, acceptor, container, connector.getLocalPort(), writes);
  }

  static TestServer start(RecordingAcceptor acceptor) throws Exception {
    return start(JettyRunlaneWebSockets.Settings.builder(HEADER_AUTH).build(), acceptor);
  }

  URI wsUri() {
    return URI.create("ws://127.0.0.1:" + port + "/ws");
  }

  URI httpUri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  static HttpClient client() {
    return CLIENT;
  }

  /** Starts a client connection as {@code user} (null: without credentials). */
  CompletableFuture<WebSocket> connectAsync(String user, ClientRecorder listener) {
    WebSocket.Builder builder = CLIENT.newWebSocketBuilder();
    if (user != null) {
      builder.header(USER_HEADER, user);
    }
    return builder.buildAsync(wsUri(), listener);
  }

  /** Connects as {@code user} and waits for the server side to be registered. */
  Pair connect(String user) throws Exception {
    ClientRecorder listener = new ClientRecorder();
    WebSocket ws = connectAsync(user, listener).get(10, TimeUnit.SECONDS);
    RecordingAcceptor.Accepted accepted = acceptor.next();
    return new Pair(ws, listener, accepted.connection, accepted.handler);
  }

  @Override
  public void close() throws Exception {
    server.stop();
  }

  /** Both ends of one connection. */
  static final class Pair {
    final WebSocket client;
    final ClientRecorder clientEvents;
    final JettyConnection connection;
    final RecordingHandler handler;

    Pair(
        WebSocket client,
        ClientRecorder clientEvents,
        JettyConnection connection,
        RecordingHandler handler) {
      this.client = client;
      this.clientEvents = clientEvents;
      this.connection = connection;
      this.handler = handler;
    }
  }
}
