package dev.runlane.transport.jetty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Payload;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.websocket.api.Callback;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The endpoint's ordering of Jetty's events, including the races a real socket rarely shows. */
@Timeout(30)
class JettyRunlaneEndpointTest {

  private final FakeSession fake = new FakeSession();
  private final JettyRunlaneWebSockets.Settings settings =
      JettyRunlaneWebSockets.Settings.builder(request -> "alice").build();

  private static Callback counting(AtomicInteger completions) {
    return Callback.from(completions::incrementAndGet, x -> completions.incrementAndGet());
  }

  @Test
  void closeFromAnotherThreadWaitsForTheFrameInProgressAndLaterFramesAreDropped()
      throws Exception {
    CountDownLatch inFrame = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    RecordingHandler handler =
        new RecordingHandler() {
          @Override
          void frameHook(Payload payload) {
            inFrame.countDown();
            try {
              release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
        };
    JettyRunlaneEndpoint endpoint =
        new JettyRunlaneEndpoint("c1", "alice", c -> handler, settings, Runnable::run);
    endpoint.onWebSocketOpen(fake.session);

    Thread reader = new Thread(() -> endpoint.onWebSocketText("first"));
    reader.start();
    assertTrue(inFrame.await(10, TimeUnit.SECONDS));

    // Jetty reports the close on another thread while the frame is being handled.
    AtomicInteger closeCallbacks = new AtomicInteger();
    endpoint.onWebSocketClose(1001, "idle", counting(closeCallbacks));
    endpoint.onWebSocketText("after close");
    assertEquals(1, closeCallbacks.get(), "Jetty's close callback completes without waiting");
    assertTrue(handler.closes.isEmpty(), "onClose must wait for the frame in progress");

    release.countDown();
    reader.join(10_000);

    assertEquals(List.of(Payload.text("first")), List.copyOf(handler.frames));
    assertEquals(List.of(new CloseReason(1001, "idle")), handler.closes);
    assertEquals(0, handler.overlaps.get());
    assertEquals(0, handler.callsAfterClose.get());
  }

  @Test
  void closeIsReportedOnceAndMarksTheConnectionClosed() {
    RecordingAcceptor acceptor = new RecordingAcceptor();
    JettyRunlaneEndpoint endpoint = new JettyRunlaneEndpoint("c1", "alice", acceptor, settings, Runnable::run);
    endpoint.onWebSocketOpen(fake.session);
    JettyConnection connection;
    RecordingHandler handler;
    try {
      RecordingAcceptor.Accepted accepted = acceptor.next();
      connection = accepted.connection;
      handler = accepted.handler;
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    endpoint.onWebSocketError(new java.io.IOException("reset"));
    endpoint.onWebSocketClose(1006, null, Callback.NOOP);
    endpoint.onWebSocketClose(1000, "again", Callback.NOOP);

    assertEquals(1, handler.closes.size());
    assertEquals(new CloseReason(1006, "IOException: reset"), handler.closes.get(0));
    assertFalse(connection.isOpen(), "even though the fake session still says open");
  }

  @Test
  void binaryIsCopiedBeforeJettyRecyclesTheBuffer() {
    RecordingAcceptor acceptor = new RecordingAcceptor();
    JettyRunlaneEndpoint endpoint = new JettyRunlaneEndpoint("c1", "alice", acceptor, settings, Runnable::run);
    endpoint.onWebSocketOpen(fake.session);
    ByteBuffer pooled = ByteBuffer.wrap(new byte[] {7, 8, 9});
    AtomicInteger completions = new AtomicInteger();
    endpoint.onWebSocketBinary(pooled, counting(completions));
    pooled.put(0, (byte) 0); // Jetty reuses the buffer

    assertEquals(1, completions.get());
    RecordingHandler handler = acceptor.nextQuietly().handler;
    assertEquals(Payload.binary(new byte[] {7, 8, 9}), handler.frames.peek());
  }

  @Test
  void pingsAreAnsweredAndPingsAndPongsCountAsActivity() {
    RecordingAcceptor acceptor = new RecordingAcceptor();
    JettyRunlaneEndpoint endpoint = new JettyRunlaneEndpoint("c1", "alice", acceptor, settings, Runnable::run);
    endpoint.onWebSocketOpen(fake.session);
    endpoint.onWebSocketPing(ByteBuffer.wrap(new byte[] {1}));
    endpoint.onWebSocketPong(ByteBuffer.allocate(0));
    assertEquals(1, fake.pongs.get());
    assertEquals(2, acceptor.nextQuietly().handler.activity.get());
  }

  @Test
  void closeCodesOutsideTheRangeBecome1006() {
    assertEquals(new CloseReason(1006, ""), JettyRunlaneEndpoint.toCloseReason(-1, null, null));
    assertEquals(new CloseReason(4000, "x"), JettyRunlaneEndpoint.toCloseReason(4000, "x", null));
  }
}
