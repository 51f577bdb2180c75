package dev.runlane.transport.jetty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.Payload;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Runlane's transport rules checked end to end: a real Jetty server and the JDK's client. */
@Timeout(60)
class JettyTransportTest {

  private TestServer server;

  @AfterEach
  void stop() throws Exception {
    if (server != null) {
      server.close();
    }
  }

  private TestServer start() throws Exception {
    server = TestServer.start(new RecordingAcceptor());
    return server;
  }

  private TestServer start(JettyRunlaneWebSockets.Settings settings, RecordingAcceptor acceptor)
      throws Exception {
    server = TestServer.start(settings, acceptor);
    return server;
  }

  private static JettyRunlaneWebSockets.Settings.Builder settings() {
    return JettyRunlaneWebSockets.Settings.builder(TestServer.HEADER_AUTH);
  }

  /** Text and binary messages, including multi-byte text and a message larger than a frame. */
  private static List<Payload> mixedPayloads(int count) {
    Random random = new Random(42);
    List<Payload> payloads = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      if (i == 7) {
        payloads.add(Payload.text("big-" + "x".repeat(200_000))); // > 64 KiB: Jetty fragments it
      } else if (i % 3 == 0) {
        byte[] bytes = new byte[random.nextInt(2_000)];
        random.nextBytes(bytes);
        payloads.add(Payload.binary(bytes));
      } else {
        payloads.add(Payload.text("{\"seq\":" + i + ",\"t\":\"h\u00e9llo \u4e16\u754c \ud83d\ude80\"}"));
      }
    }
    return payloads;
  }

  private static void assertSamePayload(Payload expected, Object received, int index) {
    if (expected instanceof Payload.Text text) {
      assertEquals(text.text(), received, "message " + index);
    } else {
      assertInstanceOf(byte[].class, received, "message " + index + " should be binary");
      assertArrayEquals(((Payload.Binary) expected).toByteArray(), (byte[]) received, "message " + index);
    }
  }

  // ---- T2 sending, T5.2 payload types ----

  @Test
  void outboundTextAndBinaryArriveInOrderByteForByte() throws Exception {
    TestServer.Pair pair = start().connect("alice");
    List<Payload> payloads = mixedPayloads(200);
    CountingCallback callbacks = new CountingCallback(payloads.size());

    // One thread, no waiting between sends: many sends in flight at once (T2.5).
    for (Payload payload : payloads) {
      pair.connection.send(new Frame(Lane.STREAM, payload), callbacks);
    }
    pair.connection.flush(); // the end of a drain (batching, rule T2.7)

    for (int i = 0; i < payloads.size(); i++) {
      assertSamePayload(payloads.get(i), pair.clientEvents.nextMessage(), i);
    }
    callbacks.awaitAll();
    assertEquals(payloads.size(), callbacks.successes.get());
    assertEquals(0, callbacks.failures.get());
  }

  @Test
  void sendCallbackFiresExactlyOnceAndSucceedsOnlyWhileOpen() throws Exception {
    TestServer.Pair pair = start().connect("alice");
    List<CountingCallback> open = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      CountingCallback cb = new CountingCallback(1);
      open.add(cb);
      pair.connection.send(Frame.control("m" + i), cb);
    }
    pair.connection.flush();
    for (int i = 0; i < 50; i++) {
      assertEquals("m" + i, pair.clientEvents.nextMessage());
    }
    for (CountingCallback cb : open) {
      cb.awaitAll();
    }

    pair.connection.close(CloseReason.NORMAL);
    CountingCallback afterClose = new CountingCallback(1);
    pair.connection.send(Frame.control("late"), afterClose);
    afterClose.awaitAll();
    pair.handler.awaitClose();

    // Nothing fires twice, even after the connection has gone through its whole close.
    server.close();
    for (CountingCallback cb : open) {
      assertEquals(1, cb.successes.get());
      assertEquals(0, cb.failures.get());
    }
    assertEquals(0, afterClose.successes.get());
    assertEquals(1, afterClose.failures.get());
  }

  // ---- T3 open state ----

  @Test
  void sendAfterCloseFailsAndWritesNothing() throws Exception {
    TestServer.Pair pair = start().connect("alice");
    pair.connection.send(Frame.control("before"), new CountingCallback(1));
    pair.connection.close(CloseReason.SLOW_CONSUMER);
    assertFalse(pair.connection.isOpen());

    CountingCallback late = new CountingCallback(1);
    pair.connection.send(Frame.control("after"), late);
    late.awaitAll();
    assertEquals(1, late.failures.get());
    assertEquals(0, late.successes.get());

    pair.clientEvents.awaitEnd();
    assertEquals(CloseReason.SLOW_CONSUMER.code(), pair.clientEvents.closeCode);
    assertEquals(List.of("before"), new ArrayList<>(pair.clientEvents.messages));
  }

  @Test
  void isOpenTurnsFalseWhenThePeerCloses() throws Exception {
    TestServer.Pair pair = start().connect("alice");
    assertTrue(pair.connection.isOpen());
    pair.client.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(10, TimeUnit.SECONDS);
    pair.handler.awaitClose();
    assertFalse(pair.connection.isOpen());

    CountingCallback late = new CountingCallback(1);
    pair.connection.send(Frame.control("after"), late);
    late.awaitAll();
    assertEquals(1, late.failures.get());
  }

  // ---- T4 closing ----

  @Test
  void closeCodeAndReasonReachTheClient() throws Exception {
    TestServer.Pair pair = start().connect("alice");
    pair.connection.close(CloseReason.SLOW_CONSUMER);
    pair.connection.close(CloseReason.NORMAL); // idempotent: no effect (T4.3)

    pair.clientEvents.awaitEnd();
    assertEquals(4000, pair.clientEvents.closeCode);
    assertEquals(CloseReason.SLOW_CONSUMER.reason(), pair.clientEvents.closeReason);
    pair.handler.awaitClose();
  }

  @Test
  void closeFollowsTheFramesAlreadySent() throws Exception {
    TestServer.Pair pair = start().connect("alice");
    CountingCallback callbacks = new CountingCallback(100);
    for (int i = 0; i < 100; i++) {
      pair.connection.send(Frame.stream("e" + i), callbacks);
    }
    pair.connection.close(new CloseReason(4000, "behind"));

    pair.clientEvents.awaitEnd();
    callbacks.awaitAll();
    // Each frame whose send succeeded reached the client, in order, before the close (T4.1).
    assertEquals(callbacks.successes.get(), pair.clientEvents.messagesAtEnd);
    for (int i = 0; i < pair.clientEvents.messagesAtEnd; i++) {
      assertEquals("e" + i, pair.clientEvents.nextMessage());
    }
    assertEquals(4000, pair.clientEvents.closeCode);
  }

  @Test
  void longCloseReasonIsTruncatedToFitACloseFrame() throws Exception {
    TestServer.Pair pair = start().connect("alice");
    String reason = "\u00e9".repeat(100); // 200 UTF-8 bytes
    pair.connection.close(new CloseReason(4000, reason));

    pair.clientEvents.awaitEnd();
    assertEquals(4000, pair.clientEvents.closeCode);
    byte[] received = pair.clientEvents.closeReason.getBytes(StandardCharsets.UTF_8);
    assertEquals(122, received.length, "61 two-byte characters: the 62nd would not fit");
    assertTrue(reason.startsWith(pair.clientEvents.closeReason));
  }

  @Test
  void terminateDropsTheConnection() throws Exception {
    TestServer.Pair pair = start().connect("alice");
    pair.connection.terminate();
    pair.connection.terminate(); // idempotent (T4.3)
    pair.connection.close(CloseReason.NORMAL); // no-op after terminate
    assertFalse(pair.connection.isOpen());

    pair.clientEvents.awaitEnd();
    assertNotEquals(CloseReason.NORMAL.code(), pair.clientEvents.closeCode, "no closing handshake");
    CloseReason reported = pair.handler.awaitClose();
    assertEquals(1006, reported.code());
  }

  @Test
  void onCloseIsReportedOnceWhenTheClientCloses() throws Exception {
    TestServer.Pair pair = start().connect("alice");
    pair.client.sendClose(4321, "client leaves").get(10, TimeUnit.SECONDS);

    CloseReason reported = pair.handler.awaitClose();
    assertEquals(4321, reported.code());
    assertEquals("client leaves", reported.reason());

    // Everything that could report a second close, then a synchronous server stop.
    pair.connection.close(CloseReason.NORMAL);
    pair.connection.terminate();
    server.close();
    assertEquals(1, pair.handler.closes.size());
    assertEquals(0, pair.handler.callsAfterClose.get());
  }

  @Test
  void onCloseIsReportedOnceWhenTheServerCloses() throws Exception {
    TestServer.Pair pair = start().connect("alice");
    pair.connection.close(CloseReason.GOING_AWAY);

    pair.handler.awaitClose();
    pair.clientEvents.awaitEnd();
    assertEquals(1001, pair.clientEvents.closeCode);

    pair.connection.terminate();
    server.close();
    assertEquals(1, pair.handler.closes.size());
  }

  @Test
  void onCloseIsReportedOnceWhenTheClientDropsAbruptly() throws Exception {
    TestServer.Pair pair = start().connect("alice");
    pair.client.abort();

    CloseReason reported = pair.handler.awaitClose();
    assertEquals(1006, reported.code());
    assertFalse(pair.connection.isOpen());
    server.close();
    assertEquals(1, pair.handler.closes.size());
  }

  @Test
  void onCloseIsReportedWhenTheServerStops() throws Exception {
    TestServer.Pair pair = start().connect("alice");
    server.close();
    pair.handler.awaitClose();
    assertEquals(1, pair.handler.closes.size());
  }

  @Test
  void onCloseNeverRunsInsideTheCallersCloseOrTerminate() throws Exception {
    start();
    // Jetty closes at once for abnormal codes (1001, 1011) and reports that synchronously.
    List<CloseReason> reasons =
        List.of(
            CloseReason.INTERNAL_ERROR,
            CloseReason.GOING_AWAY,
            CloseReason.NORMAL,
            CloseReason.SLOW_CONSUMER);
    for (CloseReason reason : reasons) {
      TestServer.Pair pair = server.connect("alice");
      pair.connection.close(reason);
      pair.handler.awaitClose();
      assertFalse(
          pair.handler.threads.contains(Thread.currentThread()), "re-entrant onClose for " + reason);
    }
    TestServer.Pair pair = server.connect("alice");
    pair.connection.terminate();
    pair.handler.awaitClose();
    assertFalse(pair.handler.threads.contains(Thread.currentThread()), "re-entrant on terminate");
  }

  // ---- T7 inbound ----

  @Test
  void inboundFramesArriveInOrderAndNeverConcurrently() throws Exception {
    TestServer.Pair pair = start().connect("alice");
    List<Payload> payloads = mixedPayloads(200);
    for (int i = 0; i < payloads.size(); i++) {
      Payload p = payloads.get(i);
      if (p instanceof Payload.Text text) {
        if (text.text().length() > 60_000) {
          continue; // over the default 64 KiB inbound limit; see inboundMessageOverTheLimitCloses
        }
        pair.client.sendText(text.text(), true).get(10, TimeUnit.SECONDS);
      } else {
        pair.client.sendBinary(((Payload.Binary) p).data(), true).get(10, TimeUnit.SECONDS);
      }
      if (i % 10 == 0) {
        pair.client.sendPing(ByteBuffer.wrap(new byte[] {(byte) i})).get(10, TimeUnit.SECONDS);
        pair.client.sendPong(ByteBuffer.allocate(0)).get(10, TimeUnit.SECONDS);
      }
    }
    pair.client.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(10, TimeUnit.SECONDS);

    for (int i = 0; i < payloads.size(); i++) {
      Payload expected = payloads.get(i);
      if (expected instanceof Payload.Text text && text.text().length() > 60_000) {
        continue;
      }
      Payload received = pair.handler.nextFrame();
      assertEquals(expected, received, "frame " + i);
    }
    pair.handler.awaitClose();
    pair.clientEvents.awaitEnd(); // the client has read everything up to the server's close
    assertEquals(0, pair.handler.overlaps.get(), "handler calls overlapped");
    assertEquals(0, pair.handler.callsAfterClose.get(), "calls after onClose");
    assertEquals(1, pair.handler.closes.size());
    // 20 pings and 20 pongs each count as activity; pings were answered.
    assertEquals(40, pair.handler.activity.get());
    assertEquals(20, pair.clientEvents.pongs.get());
  }

  @Test
  void inboundMessageOverTheLimitCloses() throws Exception {
    start(settings().maxTextMessageSize(1_000).build(), new RecordingAcceptor());
    TestServer.Pair pair = server.connect("alice");
    pair.client.sendText("y".repeat(2_000), true);

    assertEquals(1009, pair.handler.awaitClose().code());
    pair.clientEvents.awaitEnd();
    assertEquals(1009, pair.clientEvents.closeCode);
    assertTrue(pair.handler.frames.isEmpty());
  }

  @Test
  void largerLimitAdmitsLargeMessages() throws Exception {
    start(settings().maxTextMessageSize(300_000).build(), new RecordingAcceptor());
    TestServer.Pair pair = server.connect("alice");
    String big = "z".repeat(250_000);
    pair.client.sendText(big, true).get(10, TimeUnit.SECONDS);
    assertEquals(Payload.text(big), pair.handler.nextFrame());
  }

  @Test
  void idleTimeoutClosesASilentConnection() throws Exception {
    start(settings().idleTimeout(Duration.ofMillis(300)).build(), new RecordingAcceptor());
    TestServer.Pair pair = server.connect("alice");
    CloseReason reported = pair.handler.awaitClose();
    assertEquals(1001, reported.code());
    assertFalse(pair.connection.isOpen());
  }

  @Test
  void aPingIsAnsweredByTheClientAndItsPongReportedAsActivity() throws Exception {
    start();
    TestServer.Pair pair = server.connect("alice");
    for (int i = 1; i <= 3; i++) {
      int want = i;
      pair.connection.ping();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (pair.handler.activity.get() < want && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertEquals(want, pair.handler.activity.get(), "pongs reported through onActivity()");
    }
    assertTrue(pair.handler.frames.isEmpty(), "a pong is activity, not a frame");
    assertEquals(0, pair.handler.overlaps.get());
  }

  /** Sends {@code count} small frames as one drain of Runlane's outbox does: sends, then a flush. */
  private static CountingCallback drain(JettyConnection c, int count, boolean flush) {
    CountingCallback cb = new CountingCallback(count);
    for (int i = 0; i < count; i++) {
      c.send(Frame.stream("{\"kind\":\"run_event\",\"seq\":" + i + "}"), cb);
    }
    if (flush) {
      c.flush();
    }
    return cb;
  }

  private static void assertReceived(TestServer.Pair pair, int count) throws InterruptedException {
    for (int i = 0; i < count; i++) {
      assertEquals("{\"kind\":\"run_event\",\"seq\":" + i + "}", pair.clientEvents.nextMessage());
    }
  }

  @Test
  void aDrainOfSmallFramesGoesOutInOneWriteAtItsFlush() throws Exception {
    // Issue 16: frames handed over in one drain go out in as few writes as Jetty allows (T2.7).
    TestServer.Pair pair = start().connect("alice");
    assertTrue(pair.connection.capabilities().contains(Capability.BATCHING));
    int before = server.writes.get();
    CountingCallback cb = drain(pair.connection, 100, false);
    cb.awaitAll(); // batched frames complete once they are in the batch
    assertEquals(100, cb.successes.get());
    assertEquals(before, server.writes.get(), "the batch is held until the flush");
    pair.connection.flush();
    assertReceived(pair, 100);
    int writes = server.writes.get() - before;
    assertTrue(writes >= 1 && writes <= 2, "100 small frames took " + writes + " socket writes");
  }

  @Test
  void aLoneFrameGoesOutAtItsFlush() throws Exception {
    TestServer.Pair pair = start().connect("alice");
    for (int round = 0; round < 3; round++) {
      int before = server.writes.get();
      CountingCallback cb = new CountingCallback(1);
      pair.connection.send(Frame.stream("lone-" + round), cb);
      pair.connection.flush();
      assertEquals("lone-" + round, pair.clientEvents.nextMessage());
      cb.awaitAll();
      assertEquals(1, server.writes.get() - before, "one frame, one write");
    }
  }

  @Test
  void withoutBatchingEveryFrameIsWrittenOnItsOwn() throws Exception {
    start(settings().batching(false).build(), new RecordingAcceptor());
    TestServer.Pair pair = server.connect("alice");
    assertFalse(pair.connection.capabilities().contains(Capability.BATCHING));
    int before = server.writes.get();
    drain(pair.connection, 100, true).awaitAll();
    assertReceived(pair, 100);
    int writes = server.writes.get() - before;
    assertTrue(writes >= 100, "without batching 100 frames took only " + writes + " writes");
  }

  @Test
  void aCloseWritesTheBatchBeforeTheCloseFrame() throws Exception {
    TestServer.Pair pair = start().connect("alice");
    drain(pair.connection, 50, false).awaitAll();
    pair.connection.close(CloseReason.SLOW_CONSUMER);
    assertReceived(pair, 50);
    pair.clientEvents.awaitEnd();
    assertEquals(4000, pair.clientEvents.closeCode);
  }

  /** A handler reporting Runlane's idle timeout as {@code idle} (rule T8.1). */
  private static RecordingAcceptor idleTimeoutOf(Duration idle) {
    return new RecordingAcceptor(
        c ->
            new RecordingHandler() {
              @Override
              public Duration idleTimeout() {
                return idle;
              }
            });
  }

  @Test
  void socketIdleTimeoutIsDerivedFromRunlanesNotJettysDefault() throws Exception {
    // Rule T8.1: Jetty's default (30 s) would leave this quiet connection open for the whole test;
    // derived from the handler's 200 ms it is 300 ms, so Jetty closes it (1001) once that passed.
    start(settings().build(), idleTimeoutOf(Duration.ofMillis(200)));
    TestServer.Pair pair = server.connect("alice");
    CloseReason reported = pair.handler.awaitClose();
    assertEquals(1001, reported.code());
  }

  @Test
  void anExplicitSocketIdleTimeoutWinsOverTheDerivedOne() throws Exception {
    start(settings().idleTimeout(Duration.ofMillis(300)).build(), idleTimeoutOf(Duration.ofHours(1)));
    TestServer.Pair pair = server.connect("alice");
    assertEquals(1001, pair.handler.awaitClose().code());
  }

  @Test
  void theDerivedSocketIdleTimeoutStaysAboveRunlanes() {
    assertEquals(
        Duration.ofSeconds(135),
        JettyRunlaneWebSockets.Settings.socketIdleTimeoutAbove(Duration.ofSeconds(90)));
    Random random = new Random(7);
    for (int i = 0; i < 1000; i++) {
      Duration idle = Duration.ofNanos(1 + (random.nextLong() >>> 20));
      Duration derived = JettyRunlaneWebSockets.Settings.socketIdleTimeoutAbove(idle);
      assertTrue(derived != null && derived.compareTo(idle) > 0, idle + " -> " + derived);
    }
    assertEquals(null, JettyRunlaneWebSockets.Settings.socketIdleTimeoutAbove(Duration.ZERO));
  }

  @Test
  void handlerExceptionNeverReachesJettyAndClosesTheConnection() throws Exception {
    RecordingAcceptor acceptor =
        new RecordingAcceptor(
            c ->
                new RecordingHandler() {
                  @Override
                  void frameHook(Payload payload) {
                    throw new IllegalStateException("test: handler bug");
                  }
                });
    start(settings().build(), acceptor);
    TestServer.Pair pair = server.connect("alice");
    pair.client.sendText("boom", true).get(10, TimeUnit.SECONDS);

    pair.clientEvents.awaitEnd();
    assertEquals(CloseReason.INTERNAL_ERROR.code(), pair.clientEvents.closeCode);
    pair.handler.awaitClose();
    assertEquals(1, pair.handler.closes.size());
  }

  @Test
  void acceptorExceptionClosesTheConnection() throws Exception {
    CountDownLatch called = new CountDownLatch(1);
    server =
        TestServer.start(
            settings().build(),
            new RecordingAcceptor(
                c -> {
                  called.countDown();
                  throw new IllegalStateException("test: registry refused");
                }));
    ClientRecorder client = new ClientRecorder();
    server.connectAsync("alice", client).get(10, TimeUnit.SECONDS);
    assertTrue(called.await(10, TimeUnit.SECONDS));
    client.awaitEnd();
    assertEquals(CloseReason.INTERNAL_ERROR.code(), client.closeCode);
  }

  // ---- T1 identity, T5 capabilities, upgrade ----

  @Test
  void connectionsGetRandomIdsThePrincipalAndFixedCapabilities() throws Exception {
    start();
    TestServer.Pair a = server.connect("alice");
    TestServer.Pair b = server.connect("bob");
    assertEquals("alice", a.connection.principal());
    assertEquals("bob", b.connection.principal());
    assertNotEquals(a.connection.id(), b.connection.id());
    assertTrue(a.connection.id().matches("[A-Za-z0-9_-]{22}"), a.connection.id());
    assertEquals(
        EnumSet.of(
            Capability.BINARY, Capability.TRANSPORT_PING, Capability.BATCHING, Capability.JOINED_MESSAGES),
        a.connection.capabilities());
    assertEquals("alice", a.connection.upgradeRequest().getHeader(TestServer.USER_HEADER));
  }

  @Test
  void theUpgradeRequestIsADetachedCopyWithHeadersAndQuery() throws Exception {
    start();
    ClientRecorder listener = new ClientRecorder();
    TestServer.client()
        .newWebSocketBuilder()
        .header(TestServer.USER_HEADER, "alice")
        .header("Cookie", "theme=dark")
        .buildAsync(URI.create(server.wsUri() + "?primary=c1&generation=3"), listener)
        .get(10, TimeUnit.SECONDS);
    JettyConnection c = server.acceptor.next().connection;
    org.eclipse.jetty.websocket.api.UpgradeRequest r = c.upgradeRequest();
    // Jetty's own copy keeps the HTTP exchange (parser, channel, connection) reachable; ours not
    assertInstanceOf(DetachedUpgradeRequest.class, r);
    assertEquals("alice", r.getHeader(TestServer.USER_HEADER));
    assertEquals("alice", r.getHeader(TestServer.USER_HEADER.toLowerCase(java.util.Locale.ROOT)));
    assertEquals(List.of("alice"), r.getHeaders(TestServer.USER_HEADER));
    assertEquals(List.of("alice"), r.getHeaders().get(TestServer.USER_HEADER));
    assertEquals("127.0.0.1", r.getHost());
    assertEquals(List.of("c1"), r.getParameterMap().get("primary"));
    assertEquals(List.of("3"), r.getParameterMap().get("generation"));
    assertEquals("primary=c1&generation=3", r.getQueryString());
    assertEquals("GET", r.getMethod());
    assertEquals("ws", r.getRequestURI().getScheme());
    assertEquals("/ws", r.getRequestURI().getPath());
    assertEquals("dark", r.getCookies().get(0).getValue());
    assertFalse(r.isSecure());
  }

  @Test
  void sessionsOfTheInstalledPathBelongToTheContainerAndGetItsSettings() throws Exception {
    start();
    server.container.setOutputBufferSize(12_345);
    server.container.setInputBufferSize(5_432);
    TestServer.Pair a = server.connect("alice");
    assertEquals(1, server.container.getOpenSessions().size());
    org.eclipse.jetty.websocket.api.Session s = server.container.getOpenSessions().iterator().next();
    assertEquals(12_345, s.getOutputBufferSize());
    assertEquals(5_432, s.getInputBufferSize());
    assertEquals("alice", s.getUpgradeRequest().getHeader(TestServer.USER_HEADER));
    a.client.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(10, TimeUnit.SECONDS);
    a.handler.awaitClose();
  }

  @Test
  void detachedHeadersKeepEveryNameAndValueInOrderAndMatchNamesIgnoringCase() {
    org.eclipse.jetty.http.HttpFields original =
        org.eclipse.jetty.http.HttpFields.build().add("X-A", "1").add("X-B", "2").add("X-A", "3");
    String[] flat = DetachedUpgradeRequest.flatten(original);
    assertArrayEquals(new String[] {"X-A", "1", "X-B", "2", "X-A", "3"}, flat);
    assertEquals(List.of("1", "3"), DetachedUpgradeRequest.values(flat, "x-a"));
    assertEquals("1", DetachedUpgradeRequest.first(flat, "x-A"));
    assertEquals(null, DetachedUpgradeRequest.first(flat, "X-C"));
    java.util.Map<String, List<String>> map = DetachedUpgradeRequest.asMap(flat);
    assertEquals(List.of("1", "3"), map.get("x-a"));
    assertEquals(List.of("2"), map.get("X-B"));
    assertEquals(2, map.size());
  }

  @Test
  void streamTransportIsDeclaredOnlyWhenConfigured() throws Exception {
    start(settings().streamTransport(true).build(), new RecordingAcceptor());
    TestServer.Pair pair = server.connect("alice");
    assertEquals(
        EnumSet.of(
            Capability.BINARY,
            Capability.TRANSPORT_PING,
            Capability.BATCHING,
            Capability.JOINED_MESSAGES,
            Capability.STREAM_TRANSPORT), pair.connection.capabilities());
  }

  @Test
  void refusedUpgradeNeverOpensAWebSocket() throws Exception {
    start();
    ExecutionException e =
        assertThrows(
            ExecutionException.class,
            () -> server.connectAsync(null, new ClientRecorder()).get(10, TimeUnit.SECONDS));
    WebSocketHandshakeException handshake =
        assertInstanceOf(WebSocketHandshakeException.class, e.getCause());
    assertEquals(401, handshake.getResponse().statusCode());
    assertEquals(0, server.acceptor.calls.get());
  }

  @Test
  void refusalStatusIsConfigurableAndAThrowingAuthenticatorRefusesWith500() throws Exception {
    server =
        TestServer.start(
            JettyRunlaneWebSockets.Settings.builder(
                    request -> {
                      String user = request.getHeaders().get(TestServer.USER_HEADER);
                      if ("crash".equals(user)) {
                        throw new IllegalStateException("test: token store down");
                      }
                      return "bob".equals(user) ? user : null;
                    })
                .refusalStatus(403)
                .build(),
            new RecordingAcceptor());
    ExecutionException refused =
        assertThrows(
            ExecutionException.class,
            () -> server.connectAsync("mallory", new ClientRecorder()).get(10, TimeUnit.SECONDS));
    assertEquals(
        403, ((WebSocketHandshakeException) refused.getCause()).getResponse().statusCode());
    ExecutionException crashed =
        assertThrows(
            ExecutionException.class,
            () -> server.connectAsync("crash", new ClientRecorder()).get(10, TimeUnit.SECONDS));
    assertEquals(
        500, ((WebSocketHandshakeException) crashed.getCause()).getResponse().statusCode());
    assertEquals(0, server.acceptor.calls.get());
    assertNotNull(server.connect("bob").connection);
  }

  @Test
  void installKeepsTheContextsPreviousHandler() throws Exception {
    start();
    HttpResponse<String> response =
        TestServer.client()
            .send(
                HttpRequest.newBuilder(server.httpUri("/other")).build(),
                HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    assertEquals("plain http", response.body());
  }
}
