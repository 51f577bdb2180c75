package dev.runlane.transport.jetty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.Payload;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.core.CoreSession;
import org.eclipse.jetty.websocket.core.OpCode;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Encode once, all the way to the socket (issue 12 item 9): a text frame fanned out to many
 * connections is turned into UTF-8 once, not once per recipient, and the adapter hands Jetty those
 * bytes. The socket boundary is counted: Jetty's string sends (each one a UTF-8 encode inside
 * Jetty) on the API session, frames on the core session.
 */
class EncodeOnceTest {

  /** Jetty's core session as the adapter sees it: it records every frame handed to it. */
  static final class RecordingCoreSession extends CoreSession.Empty {
    final List<org.eclipse.jetty.websocket.core.Frame> frames = new CopyOnWriteArrayList<>();

    @Override
    public void sendFrame(org.eclipse.jetty.websocket.core.Frame frame, Callback callback, boolean batch) {
      frames.add(frame);
      callback.succeeded();
    }
  }

  private static byte[] bytesOf(ByteBuffer view) {
    byte[] out = new byte[view.remaining()];
    view.duplicate().get(out);
    return out;
  }

  @Test
  void aThousandWayFanOutEncodesTheFrameOnceAndJettyNeverEncodesIt() {
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    Assumptions.assumeTrue(threads.isThreadAllocatedMemorySupported(), "no allocation counter");
    threads.setThreadAllocatedMemoryEnabled(true);

    String text = "{\"kind\":\"delta\",\"text\":\"ünïcødé ∑ 😀 " + "x".repeat(1_000_000) + "\"}";
    byte[] expected = text.getBytes(StandardCharsets.UTF_8);
    Payload.Text payload = Payload.text(text);
    Frame frame = new Frame(Lane.STREAM, payload);
    int fanOut = 1000;
    List<FakeSession> sessions = new ArrayList<>();
    List<RecordingCoreSession> cores = new ArrayList<>();
    List<JettyConnection> connections = new ArrayList<>();
    for (int i = 0; i < fanOut; i++) {
      FakeSession s = new FakeSession();
      RecordingCoreSession core = new RecordingCoreSession();
      sessions.add(s);
      cores.add(core);
      connections.add(new JettyConnection("c" + i, "u" + i, s.session, core, Set.of()));
    }
    CountingCallback done = new CountingCallback(fanOut);
    connections.get(0).send(frame, done); // the one encode, outside the measurement

    long thread = Thread.currentThread().getId();
    long before = threads.getThreadAllocatedBytes(thread);
    for (JettyConnection c : connections.subList(1, fanOut)) {
      c.send(frame, done);
    }
    long allocated = threads.getThreadAllocatedBytes(thread) - before;

    assertEquals(fanOut, done.successes.get());
    int stringSends = 0;
    for (FakeSession s : sessions) {
      stringSends += s.sent.size();
    }
    assertEquals(0, stringSends, "the adapter handed Jetty strings to encode, once per recipient");
    for (RecordingCoreSession core : cores) {
      assertEquals(1, core.frames.size());
      org.eclipse.jetty.websocket.core.Frame sent = core.frames.get(0);
      assertEquals(OpCode.TEXT, sent.getOpCode());
      assertTrue(sent.isFin());
      assertTrue(java.util.Arrays.equals(expected, bytesOf(sent.getPayload())), "frame bytes differ");
    }
    // After the first send, no encode at all: one would allocate at least the frame's ~1 MB, one
    // per recipient ~1 GB. What is left is a few small objects per send (callback, frame, a view
    // of the shared bytes).
    assertTrue(
        allocated < expected.length,
        "sending a " + expected.length + "-byte frame to " + (fanOut - 1)
            + " more connections allocated " + allocated + " bytes: the text was encoded again");
  }

  @Test
  void aCodecsUtf8BytesReachTheSocketWithoutATrip() {
    byte[] utf8 = "{\"t\":\"中文 😀\"}".getBytes(StandardCharsets.UTF_8);
    Payload.Text payload = Payload.utf8Text(utf8);
    utf8[0] = 'X'; // the payload holds its own copy
    RecordingCoreSession core = new RecordingCoreSession();
    FakeSession fake = new FakeSession();
    JettyConnection c = new JettyConnection("c", "u", fake.session, core, Set.of());
    CountingCallback cb = new CountingCallback(2);
    c.send(new Frame(Lane.STREAM, payload), cb);
    c.send(new Frame(Lane.STREAM, payload), cb);
    assertEquals(2, cb.successes.get());
    byte[] want = "{\"t\":\"中文 😀\"}".getBytes(StandardCharsets.UTF_8);
    for (org.eclipse.jetty.websocket.core.Frame f : core.frames) {
      assertTrue(java.util.Arrays.equals(want, bytesOf(f.getPayload())));
    }
    assertEquals("{\"t\":\"中文 😀\"}", payload.text());
    assertEquals(want.length, payload.sizeInBytes());
    assertEquals(Payload.text("{\"t\":\"中文 😀\"}"), payload);
    assertEquals(0, fake.sent.size());
  }

  @Test
  void utf8TextRefusesMalformedBytes() {
    assertThrows(IllegalArgumentException.class, () -> Payload.utf8Text(new byte[] {'a', (byte) 0xC3, 0x28}));
    assertThrows(IllegalArgumentException.class, () -> Payload.utf8Text(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}));
    assertEquals("", Payload.utf8Text(new byte[0]).text());
  }

  @Test
  void utf8ViewsAreReadOnlyAndIndependent() {
    Payload.Text payload = Payload.text("héllo");
    ByteBuffer a = payload.utf8();
    assertTrue(a.isReadOnly());
    a.get();
    ByteBuffer b = payload.utf8();
    assertEquals(0, b.position());
    assertEquals(6, b.remaining());
    assertEquals(6, payload.sizeInBytes());
  }

  @Test
  void threadsRacingForTheBytesAllSeeOneEncoding() throws Exception {
    long seed = System.nanoTime();
    java.util.Random random = new java.util.Random(seed);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      for (int round = 0; round < 50; round++) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 1 + random.nextInt(2000); i++) {
          sb.append((char) (random.nextBoolean() ? 'a' + random.nextInt(26) : 0x4e00 + random.nextInt(500)));
        }
        String text = sb.toString();
        Payload.Text payload = Payload.text(text);
        CountDownLatch go = new CountDownLatch(1);
        List<java.util.concurrent.Future<byte[]>> got = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
          got.add(pool.submit(() -> {
            go.await();
            return bytesOf(payload.utf8());
          }));
        }
        go.countDown();
        byte[] want = text.getBytes(StandardCharsets.UTF_8);
        for (java.util.concurrent.Future<byte[]> f : got) {
          assertTrue(java.util.Arrays.equals(want, f.get(10, TimeUnit.SECONDS)), "seed " + seed);
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
