package dev.runlane.transport.jetty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Upgrade admission on a real Jetty server: accepting pauses while {@code maxPending} connections
 * are between accept and upgrade, and resumes as they upgrade, close or age out.
 */
class UpgradeAdmissionTest {
  private Server server;
  private ServerConnector connector;
  private UpgradeAdmission admission;
  private final List<Socket> sockets = new ArrayList<>();
  private final List<WebSocket> webSockets = new ArrayList<>();

  private void start(int maxPending, long maxWaitMillis) throws Exception {
    server = new Server();
    connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    connector.setAcceptQueueSize(64);
    admission = UpgradeAdmission.install(connector, maxPending, maxWaitMillis);
    server.addConnector(connector);
    server.setStopTimeout(1_000);
    ContextHandler context = new ContextHandler("/");
    context.setHandler(
        new Handler.Abstract() {
          @Override
          public boolean handle(Request request, Response response, Callback callback) {
            response.setStatus(200);
            response.write(true, StandardCharsets.UTF_8.encode("plain"), callback);
            return true;
          }
        });
    server.setHandler(context);
    JettyRunlaneWebSockets.install(
        server, context, "/ws", JettyRunlaneWebSockets.Settings.builder(r -> "alice").build(), new RecordingAcceptor());
    server.start();
  }

  @AfterEach
  void stop() throws Exception {
    for (WebSocket w : webSockets) {
      w.abort();
    }
    for (Socket s : sockets) {
      s.close();
    }
    if (server != null) {
      server.stop();
    }
  }

  private Socket rawConnect() throws Exception {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", connector.getLocalPort()), 5_000);
    sockets.add(s);
    return s;
  }

  /** Whether the server has accepted {@code s}: one of its end points has {@code s}'s local port as its remote one. */
  private boolean accepted(Socket s) {
    for (org.eclipse.jetty.io.EndPoint e : connector.getConnectedEndPoints()) {
      if (e.getRemoteSocketAddress() instanceof InetSocketAddress r && r.getPort() == s.getLocalPort()) {
        return true;
      }
    }
    return false;
  }

  static void await(BooleanSupplier done, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!done.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
      Thread.sleep(2);
    }
  }

  @Test
  void acceptingPausesAtTheLimitAndResumesAsConnectionsClose() throws Exception {
    start(3, 60_000);
    Socket a = rawConnect();
    rawConnect();
    rawConnect();
    await(() -> admission.pending() == 3, "three accepted connections, none upgraded");
    await(admission::limiting, "accepting paused at the limit");
    assertFalse(connector.isAccepting(), "the connector itself stops accepting");
    Socket fourth = rawConnect(); // queued by the kernel, not accepted
    Thread.sleep(100);
    assertEquals(3, admission.pending(), "the fourth waits in the listen queue");
    assertFalse(accepted(fourth), "the fourth is not accepted while the places are taken");
    a.close(); // the server reads EOF and closes the channel: a place frees
    await(() -> accepted(fourth), "the fourth accepted in the freed place");
    await(() -> admission.pending() == 3, "three pending again: the fourth took the place");
    for (Socket s : sockets) {
      s.close();
    }
    await(() -> admission.pending() == 0, "every place freed");
    await(() -> !admission.limiting() && connector.isAccepting(), "accepting again");
  }

  @Test
  void anUpgradeFreesItsPlaceWhileTheWebSocketStaysOpen() throws Exception {
    start(2, 60_000);
    HttpClient client = HttpClient.newHttpClient();
    for (int i = 0; i < 5; i++) { // more upgrades than places: each frees its own on upgrading
      webSockets.add(
          client.newWebSocketBuilder()
              .buildAsync(URI.create("ws://127.0.0.1:" + connector.getLocalPort() + "/ws"), new WebSocket.Listener() {})
              .get(10, TimeUnit.SECONDS));
    }
    await(() -> admission.pending() == 0, "no connection pending once upgraded");
    assertFalse(admission.limiting());
    for (WebSocket w : webSockets) {
      assertFalse(w.isInputClosed(), "the WebSocket stays open");
    }
  }

  @Test
  void aConnectionThatNeitherUpgradesNorClosesAgesOut() throws Exception {
    start(2, 200);
    rawConnect();
    Socket keepAlive = rawConnect(); // a plain HTTP exchange, then idle on keep-alive
    OutputStream out = keepAlive.getOutputStream();
    out.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    out.flush();
    InputStream in = keepAlive.getInputStream();
    byte[] b = new byte[512];
    assertTrue(in.read(b) > 0, "the plain request is served");
    await(admission::limiting, "two idle connections fill the places");
    Socket waiting = rawConnect(); // waits in the listen queue until the others age out
    await(() -> accepted(waiting), "accepted once the idle ones aged out");
    await(() -> admission.pending() <= 1, "the idle ones no longer counted");
    assertTrue(keepAlive.isConnected() && !keepAlive.isClosed(), "aging out closes nothing");
  }

  /** Over TLS a connection's end point is the decrypted one: the upgrade must still free the place. */
  @Test
  void aTlsUpgradeFreesItsPlace() throws Exception {
    server = new Server();
    org.eclipse.jetty.util.ssl.SslContextFactory.Server ssl = new org.eclipse.jetty.util.ssl.SslContextFactory.Server();
    ssl.setKeyStoreResource(org.eclipse.jetty.util.resource.ResourceFactory.root().newClassLoaderResource("localhost-test.p12"));
    ssl.setKeyStorePassword("changeit");
    ssl.setKeyStoreType("PKCS12");
    connector = new ServerConnector(server, new org.eclipse.jetty.server.SslConnectionFactory(ssl, "http/1.1"),
        new org.eclipse.jetty.server.HttpConnectionFactory());
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    admission = UpgradeAdmission.install(connector, 2, 60_000);
    server.addConnector(connector);
    server.setStopTimeout(1_000);
    ContextHandler context = new ContextHandler("/");
    server.setHandler(context);
    JettyRunlaneWebSockets.install(
        server, context, "/ws", JettyRunlaneWebSockets.Settings.builder(r -> "alice").build(), new RecordingAcceptor());
    server.start();
    java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
    try (InputStream in = getClass().getClassLoader().getResourceAsStream("localhost-test.p12")) {
      ks.load(in, "changeit".toCharArray());
    }
    javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    javax.net.ssl.SSLContext tls = javax.net.ssl.SSLContext.getInstance("TLS");
    tls.init(null, tmf.getTrustManagers(), null);
    HttpClient client = HttpClient.newBuilder().sslContext(tls).build();
    for (int i = 0; i < 4; i++) { // twice the places: each upgrade must free its own
      webSockets.add(
          client.newWebSocketBuilder()
              .buildAsync(URI.create("wss://localhost:" + connector.getLocalPort() + "/ws"), new WebSocket.Listener() {})
              .get(10, TimeUnit.SECONDS));
    }
    await(() -> admission.pending() == 0, "no TLS connection pending once upgraded");
    assertFalse(admission.limiting());
  }

  /** A connector stopped while paused accepts again when it restarts. */
  @Test
  void aRestartedConnectorAcceptsAgain() throws Exception {
    start(2, 60_000);
    rawConnect();
    rawConnect();
    await(admission::limiting, "paused at the limit");
    connector.stop();
    for (Socket s : sockets) {
      s.close();
    }
    sockets.clear();
    connector.start();
    assertFalse(admission.limiting(), "the stop ended the pause");
    assertEquals(0, admission.pending(), "the stopped connector's connections are not counted");
    Socket after = rawConnect();
    await(() -> accepted(after), "a connection after the restart is accepted");
  }

  @Test
  void refusesMeaninglessLimitsAndALateInstall() throws Exception {
    ServerConnector c = new ServerConnector(new Server());
    assertThrows(IllegalArgumentException.class, () -> UpgradeAdmission.install(c, 0));
    assertThrows(IllegalArgumentException.class, () -> UpgradeAdmission.install(c, 1, 0));
    assertThrows(IllegalArgumentException.class,
        () -> UpgradeAdmission.install(new ServerConnector(new Server(), 0, -1), 1), "no acceptor thread");
    start(2, 1_000);
    assertThrows(IllegalStateException.class, () -> UpgradeAdmission.install(connector, 2), "after the start");
  }
}
