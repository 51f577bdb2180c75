package dev.runlane.transport.spring;

import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.tck.ConnectionSink;
import dev.runlane.tck.JdkWebSocketClientPeer;
import dev.runlane.tck.PeerClose;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Payload;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What the kit does not pin down: which write path Tomcat gets, refusals, close-code mapping. */
class SpringWebSocketConnectionTest {
  static final Duration WAIT = Duration.ofSeconds(10);

  final TomcatFixture fixture = new TomcatFixture();
  final CopyOnWriteArrayList<Connection> accepted = new CopyOnWriteArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    fixture.close();
  }

  void start() throws Exception {
    fixture.start(
        new ConnectionSink() {
          @Override
          public InboundHandler accept(Connection connection) {
            accepted.add(connection);
            return new InboundHandler() {
              @Override
              public void onFrame(Payload payload) {}

              @Override
              public void onActivity() {}

              @Override
              public void onClose(CloseReason reason) {}
            };
          }

          @Override
          public InboundHandler acceptStream(Connection streamTransport, String connectionId, long generation) {
            return accept(streamTransport);
          }
        });
  }

  @Test
  void onTomcatWritesGoThroughTheAsyncRemote() throws Exception {
    start();
    fixture.connect("alice").close();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (accepted.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    SpringWebSocketConnection c = (SpringWebSocketConnection) accepted.get(0);
    assertTrue(c.nonBlockingWrites(), "Tomcat's session has a Jakarta async remote; no executor thread may write");
    assertEquals("alice", c.principal());
  }

  @Test
  void aSessionWithoutAPrincipalIsRefusedWith4401AndNeverReachesRunlane() throws Exception {
    start();
    int port = fixture.port();
    JdkWebSocketClientPeer peer =
        JdkWebSocketClientPeer.connect(URI.create("ws://127.0.0.1:" + port + "/ws"), Map.of(), WAIT);
    assertTrue(peer.recording().awaitClose(WAIT));
    PeerClose close = peer.recording().close().orElseThrow();
    assertEquals(CloseReason.UNAUTHORIZED.code(), close.code());
    assertTrue(accepted.isEmpty());
  }

  @Test
  void closeCodesTheWireForbidsBecome1011AndReasonsFitAFrame() {
    assertEquals(4000, SpringWebSocketConnection.wireCode(4000));
    assertEquals(1000, SpringWebSocketConnection.wireCode(1000));
    assertEquals(1011, SpringWebSocketConnection.wireCode(1006));
    assertEquals(1011, SpringWebSocketConnection.wireCode(2500));
    String emoji = "\uD83D\uDE00".repeat(40); // 160 UTF-8 bytes
    String cut = SpringWebSocketConnection.truncateUtf8(emoji, 123);
    assertEquals(120, cut.getBytes(java.nio.charset.StandardCharsets.UTF_8).length, "whole characters only");
    assertTrue(emoji.startsWith(cut));
  }
}
