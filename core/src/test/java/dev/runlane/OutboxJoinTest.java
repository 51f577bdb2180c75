package dev.runlane;

import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.Payload;
import dev.runlane.transport.SendCallback;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * Joined messages ({@link Capability#JOINED_MESSAGES}): a backlog drained at once leaves in as few
 * transport frames as the codec can join, in order, each frame completing exactly once, with the
 * in-flight and byte bounds counted per frame.
 */
class OutboxJoinTest {

  /** A transport that records what it was sent, as messages (text or binary), and may hold callbacks. */
  static class Transport implements Connection {
    final Set<Capability> caps;
    volatile boolean hold;
    volatile boolean fail;
    final List<Payload> sent = Collections.synchronizedList(new ArrayList<>());
    final ArrayDeque<SendCallback> held = new ArrayDeque<>(); // guarded by this
    final AtomicInteger inside = new AtomicInteger();
    final AtomicInteger maxInside = new AtomicInteger();

    Transport(Capability... caps) {
      this.caps = caps.length == 0 ? EnumSet.noneOf(Capability.class) : EnumSet.of(caps[0], caps);
    }

    @Override
    public String id() {
      return "c";
    }

    @Override
    public String principal() {
      return "p";
    }

    @Override
    public void send(Frame frame, SendCallback callback) {
      maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
      try {
        sent.add(frame.payload());
        if (fail) {
          callback.failed(new java.io.IOException("scripted failure"));
        } else if (hold) {
          synchronized (this) {
            held.addLast(callback);
          }
        } else {
          callback.succeeded();
        }
      } finally {
        inside.decrementAndGet();
      }
    }

    boolean completeNext() {
      SendCallback cb;
      synchronized (this) {
        cb = held.pollFirst();
      }
      if (cb == null) {
        return false;
      }
      cb.succeeded();
      return true;
    }

    /** The texts sent, one per transport frame. */
    List<String> texts() {
      List<String> out = new ArrayList<>();
      synchronized (sent) {
        for (Payload p : sent) {
          out.add(p instanceof Payload.Text ? ((Payload.Text) p).text() : "<binary " + p.sizeInBytes() + ">");
        }
      }
      return out;
    }

    /** The messages sent, with every joined frame split at its line feeds. */
    List<String> messages() {
      List<String> out = new ArrayList<>();
      for (String t : texts()) {
        out.addAll(Arrays.asList(t.split("\n", -1)));
      }
      return out;
    }

    @Override
    public void close(CloseReason reason) {}

    @Override
    public void terminate() {}

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public Set<Capability> capabilities() {
      return caps;
    }
  }

  /** An owner whose client negotiated joining, joining texts with line feeds as the JSON codec does. */
  static class Owner implements OutboxOwner {
    volatile boolean joins = true;
    volatile boolean refuse;
    volatile int wireThrowsAt = -1;
    final AtomicInteger joinCalls = new AtomicInteger();
    final AtomicInteger wires = new AtomicInteger();
    final List<CloseReason> reasons = Collections.synchronizedList(new ArrayList<>());
    final List<Long> latencies = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void deliveryFailed(CloseReason reason, @Nullable Throwable cause) {
      reasons.add(reason);
    }

    @Override
    public Frame wire(EncodedFrame f) {
      if (wires.getAndIncrement() == wireThrowsAt) {
        throw new IllegalStateException("scripted wire failure");
      }
      return f.frame();
    }

    @Override
    public boolean joins() {
      return joins;
    }

    @Override
    public @Nullable Payload join(List<Payload> parts) {
      joinCalls.incrementAndGet();
      if (refuse) {
        return null;
      }
      List<Payload.Text> texts = new ArrayList<>();
      for (Payload p : parts) {
        if (!(p instanceof Payload.Text)) {
          return null;
        }
        texts.add((Payload.Text) p);
      }
      return Payload.joinText(texts, '\n');
    }

    @Override
    public void deliveryLatency(Lane lane, long latencyNanos) {
      latencies.add(latencyNanos);
    }
  }

  final Owner owner = new Owner();

  static EncodedFrame stream(String text) {
    return new EncodedFrame(Frame.stream(text), null);
  }

  static EncodedFrame control(String text) {
    return new EncodedFrame(Frame.control(text), null);
  }

  static EncodedFrame binary(int n) {
    return new EncodedFrame(new Frame(Lane.STREAM, Payload.binary(new byte[n])), null);
  }

  static Transport joining() {
    return new Transport(Capability.JOINED_MESSAGES);
  }

  static List<String> names(String prefix, int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(prefix + i);
    }
    return out;
  }

  @Test
  void aBacklogLeavesInOneJoinedFrameAndEveryFrameCompletes() {
    Transport t = joining();
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 64);
    for (String s : names("s", 10)) {
      o.enqueue(stream(s));
    }
    o.flush();
    assertEquals(List.of(String.join("\n", names("s", 10))), t.texts());
    assertEquals(10, o.delivered(), "each joined frame counts as delivered");
    assertEquals(0, o.inFlight());
    assertEquals(0, o.queuedFrames());
    assertEquals(0, o.queuedBytes());
  }

  @Test
  void aLoneFrameTravelsAloneAndIsNeverOfferedToTheCodec() {
    Transport t = joining();
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 64);
    o.enqueue(stream("only"));
    o.flush();
    assertEquals(List.of("only"), t.texts());
    assertEquals(0, owner.joinCalls.get());
  }

  @Test
  void controlFramesLeadTheJoinedFrame() {
    Transport t = joining();
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 64);
    o.enqueue(stream("s0"));
    o.enqueue(stream("s1"));
    o.enqueue(control("c0"));
    o.flush();
    assertEquals(List.of("c0", "s0\ns1"), t.texts(), "control first, and a joined frame keeps to one lane");
  }

  @Test
  void aPassThatFindsRoomInTheWindowTakesTheWholeBacklog() {
    Transport t = joining();
    t.hold = true;
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 4);
    for (String s : names("s", 10)) {
      o.enqueue(stream(s));
    }
    o.flush();
    assertEquals(List.of(String.join("\n", names("s", 10))), t.texts(),
        "one send of ten frames: the window counts sends' frames, but a pass with room polls the backlog");
    assertEquals(10, o.inFlight(), "the frames in flight count against the frame bound");
    o.enqueue(stream("late"));
    o.flush();
    assertEquals(1, t.texts().size(), "no room in the window: nothing more is sent");
    assertTrue(t.completeNext());
    assertEquals(List.of(String.join("\n", names("s", 10)), "late"), t.texts());
    assertTrue(t.completeNext());
    assertEquals(11, o.delivered());
    assertEquals(0, o.inFlight());
  }

  /** The review's scenario: a window filled by single sends frees one slot per completion. */
  @Test
  void aFullWindowStillJoinsTheBacklogWhenASlotFrees() {
    Transport t = joining();
    t.hold = true;
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 4);
    for (int i = 0; i < 4; i++) { // four lone frames fill the window, one send each
      o.enqueue(stream("w" + i));
      o.flush();
    }
    assertEquals(names("w", 4), t.texts());
    for (String s : names("s", 20)) {
      o.enqueue(stream(s));
      o.flush();
    }
    assertEquals(4, t.texts().size(), "the window is full");
    assertTrue(t.completeNext()); // one slot frees: the next pass takes the whole backlog
    assertEquals(5, t.texts().size());
    assertEquals(String.join("\n", names("s", 20)), t.texts().get(4));
    while (t.completeNext()) {
      // drain the rest
    }
    assertEquals(24, o.delivered());
    assertEquals(0, o.inFlight());
  }

  @Test
  void aJoinedFrameStaysWithinTheByteCapAndTheFrameCap() {
    Transport t = joining();
    Outbox o = new Outbox(owner, t, 100_000, Long.MAX_VALUE, 100_000);
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      String s = i + ":" + "x".repeat(i % 7 == 0 ? 900 : 40);
      sent.add(s);
      o.enqueue(stream(s));
    }
    o.flush();
    assertEquals(sent, t.messages(), "the split frames give back every message, in order");
    assertTrue(t.texts().size() > 1);
    for (Payload p : t.sent) {
      assertTrue(p.sizeInBytes() <= JoinedSends.MAX_JOINED_BYTES, "joined frame of " + p.sizeInBytes() + " B");
    }
    for (String text : t.texts()) {
      assertTrue(text.split("\n").length <= JoinedSends.MAX_JOINED_FRAMES);
    }
    assertEquals(300, o.delivered());
  }

  @Test
  void aMessageLongerThanTheCapTravelsAlone() {
    Transport t = joining();
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 64);
    String big = "b".repeat(JoinedSends.MAX_JOINED_BYTES + 1);
    o.enqueue(stream("a0"));
    o.enqueue(stream("a1"));
    o.enqueue(stream(big));
    o.enqueue(stream("c0"));
    o.enqueue(stream("c1"));
    o.flush();
    assertEquals(List.of("a0\na1", big, "c0\nc1"), t.texts());
    assertEquals(5, o.delivered());
  }

  @Test
  void aBinaryFrameIsNeverJoined() {
    Transport t = new Transport(Capability.JOINED_MESSAGES, Capability.BINARY);
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 64);
    o.enqueue(stream("t0"));
    o.enqueue(stream("t1"));
    o.enqueue(binary(5));
    o.enqueue(stream("t3"));
    o.enqueue(stream("t4"));
    o.flush();
    assertEquals(List.of("t0\nt1", "<binary 5>", "t3\nt4"), t.texts());
    assertEquals(5, o.delivered());
  }

  @Test
  void aCodecThatWillNotJoinGetsTheFramesOneByOne() {
    owner.refuse = true;
    Transport t = joining();
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 64);
    for (String s : names("s", 5)) {
      o.enqueue(stream(s));
    }
    o.flush();
    assertEquals(names("s", 5), t.texts());
    assertEquals(5, o.delivered());
  }

  @Test
  void noJoinWithoutTheClientsConsentOrTheTransportsCapability() {
    owner.joins = false;
    Transport t = joining();
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 64);
    for (String s : names("s", 5)) {
      o.enqueue(stream(s));
    }
    o.flush();
    assertEquals(names("s", 5), t.texts(), "the client did not negotiate joining");

    Owner willing = new Owner();
    Transport plain = new Transport(); // an SSE-like transport: no JOINED_MESSAGES
    Outbox o2 = new Outbox(willing, plain, 1000, Long.MAX_VALUE, 64);
    for (String s : names("s", 5)) {
      o2.enqueue(stream(s));
    }
    o2.flush();
    assertEquals(names("s", 5), plain.texts(), "the transport does not keep line feeds whole");
    assertEquals(0, willing.joinCalls.get());
  }

  @Test
  void aFailedJoinedSendClosesOnceAndAccountsEveryFrame() {
    Transport t = joining();
    t.fail = true;
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 64);
    for (String s : names("s", 6)) {
      o.enqueue(stream(s));
    }
    o.flush();
    assertEquals(List.of(CloseReason.SEND_FAILED), owner.reasons);
    assertEquals(0, o.inFlight(), "the failed frames are not left in flight");
  }

  @Test
  void aWireFormThatThrowsFailsTheBatchWithoutLeakingInFlightFrames() {
    owner.wireThrowsAt = 2;
    Transport t = joining();
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 64);
    for (String s : names("s", 6)) {
      o.enqueue(stream(s));
    }
    assertDoesNotThrow(o::flush);
    assertEquals(List.of(CloseReason.SEND_FAILED), owner.reasons);
    assertEquals(0, o.inFlight());
    assertEquals(List.of(), t.texts(), "nothing of the batch reached the transport");
  }

  @Test
  void aCodecWhoseJoinThrowsSendsThePartsOneByOneAndKeepsTheConnection() {
    Owner throwing = new Owner() {
      @Override
      public @Nullable Payload join(List<Payload> parts) {
        throw new IllegalStateException("scripted join failure");
      }
    };
    Transport t = joining();
    Outbox o = new Outbox(throwing, t, 1000, Long.MAX_VALUE, 64);
    for (String s : names("s", 4)) {
      o.enqueue(stream(s));
    }
    o.flush();
    assertEquals(names("s", 4), t.texts());
    assertEquals(List.of(), throwing.reasons, "a codec's join is not the connection's failure");
    assertEquals(4, o.delivered());
  }

  @Test
  void afterAFailedSendTheRestOfTheBatchIsDroppedNotSent() {
    Transport t = joining();
    t.fail = true;
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 64);
    String big = "b".repeat(JoinedSends.MAX_JOINED_BYTES); // each alone: one group per frame
    for (int i = 0; i < 5; i++) {
      o.enqueue(stream(i + big));
    }
    o.flush();
    assertEquals(1, t.sent.size(), "the first send failed and closed the outbox: nothing more sent");
    assertEquals(List.of(CloseReason.SEND_FAILED), owner.reasons);
    assertEquals(0, o.inFlight(), "the dropped frames are not left in flight");
  }

  @Test
  void aJoinedFrameCarriesOneLane() {
    List<Lane> lanes = Collections.synchronizedList(new ArrayList<>());
    Transport recording = new Transport(Capability.JOINED_MESSAGES) {
      @Override
      public void send(Frame frame, SendCallback callback) {
        lanes.add(frame.lane());
        super.send(frame, callback);
      }
    };
    Outbox o2 = new Outbox(owner, recording, 1000, Long.MAX_VALUE, 64);
    o2.enqueue(stream("s0"));
    o2.enqueue(stream("s1"));
    o2.enqueue(control("c0"));
    o2.enqueue(control("c1"));
    o2.flush();
    assertEquals(List.of("c0\nc1", "s0\ns1"), recording.texts());
    assertEquals(List.of(Lane.CONTROL, Lane.STREAM), lanes);
    assertEquals(0, o2.inFlight());
  }

  @Test
  void anAsynchronousJoinedCompletionDrainsOnFromTheCompletingThread() throws Exception {
    Transport t = joining();
    t.hold = true;
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 3);
    for (String s : names("s", 7)) {
      o.enqueue(stream(s));
    }
    o.flush();
    for (String s : names("t", 3)) {
      o.enqueue(stream(s));
    }
    o.flush();
    assertEquals(List.of(String.join("\n", names("s", 7))), t.texts(), "the window is full: t0-t2 wait");
    Thread completer = new Thread(() -> {
      while (t.completeNext()) {
        // the completion frees the window and sends the next joined frame on this thread
      }
    });
    completer.start();
    completer.join(10_000);
    assertEquals(List.of(String.join("\n", names("s", 7)), String.join("\n", names("t", 3))), t.texts());
    assertEquals(10, o.delivered());
    assertEquals(0, o.inFlight());
  }

  @Test
  void everyStampedLiveFrameOfAJoinedFrameReportsItsLatency() {
    Transport t = joining();
    TimeSource clock = new TimeSource() {
      @Override
      public long nanoTime() {
        return 1_000;
      }

      @Override
      public long epochMillis() {
        return 0;
      }

      @Override
      public Cancellable schedule(long delayNanos, Runnable task) {
        throw new UnsupportedOperationException("not used");
      }
    };
    Outbox o = new Outbox(owner, t, 1000, Long.MAX_VALUE, 64, 1000, clock, null);
    o.enqueue(stream("unstamped"));
    for (int i = 0; i < 4; i++) {
      o.enqueue(stream("s" + i).stampedAt(100 * i));
    }
    o.enqueueReplay(stream("replayed").stampedAt(0)); // a replay is never timed
    o.flush();
    assertEquals(1, t.texts().size());
    assertEquals(List.of(1_000L, 900L, 800L, 700L), owner.latencies);
  }

  /**
   * Seeded interleavings: producers push random texts (some with the control lane, some too long
   * to join, some binary), flushing at random, while a completer completes held sends at random,
   * with random in-flight bounds. Every message arrives exactly once, each producer's stream-lane
   * messages in order, sends never overlap, and nothing is left in flight.
   */
  @Test
  void seededInterleavingsKeepOrderAndExactlyOnce() throws Exception {
    long base = new Random().nextLong();
    int joined = 0;
    for (int round = 0; round < 12; round++) {
      long seed = base + round;
      try {
        joined += oneInterleaving(seed);
      } catch (AssertionError | Exception e) {
        throw new AssertionError("seed " + seed + ": " + e.getMessage(), e);
      }
    }
    assertTrue(joined > 0, "no joined frame in 12 rounds (base seed " + base + "): joining is off");
  }

  /** One seeded round; returns how many joined frames were sent. */
  private int oneInterleaving(long seed) throws Exception {
    Random r = new Random(seed);
    Transport t = new Transport(Capability.JOINED_MESSAGES, Capability.BINARY);
    t.hold = seed % 2 == 0 || r.nextBoolean(); // every other round holds sends: backlogs form
    Owner o1 = new Owner();
    Outbox o = new Outbox(o1, t, 1_000_000, Long.MAX_VALUE, 1 + r.nextInt(40));
    int producers = 1 + r.nextInt(3);
    int per = 300 + r.nextInt(700);
    long[] seeds = new long[producers];
    for (int p = 0; p < producers; p++) {
      seeds[p] = r.nextLong();
    }
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int p = 0; p < producers; p++) {
      int id = p;
      threads.add(new Thread(() -> {
        Random pr = new Random(seeds[id]);
        awaitQuietly(start);
        for (int i = 0; i < per; i++) {
          int kind = pr.nextInt(40);
          if (kind == 0) {
            o.enqueue(binary(1 + pr.nextInt(3))); // binaries carry no order mark; counted only
          } else if (kind == 1) {
            o.enqueue(control("c" + id + ":" + i));
          } else {
            String pad = kind == 2 ? "y".repeat(JoinedSends.MAX_JOINED_BYTES) : "";
            o.enqueue(stream("s" + id + ":" + i + pad));
          }
          if (pr.nextInt(4) == 0) {
            o.flush();
          }
        }
        o.flush();
      }));
    }
    int total = producers * per;
    Thread completer = new Thread(() -> {
      awaitQuietly(start);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (o.delivered() < total && System.nanoTime() < deadline) {
        if (!t.completeNext()) {
          o.flush();
          Thread.onSpinWait();
        }
      }
    });
    threads.add(completer);
    threads.forEach(Thread::start);
    start.countDown();
    for (Thread th : threads) {
      th.join(TimeUnit.SECONDS.toMillis(60));
    }
    assertEquals(total, o.delivered(), "every frame delivered once");
    assertEquals(0, o.inFlight());
    assertEquals(1, t.maxInside.get(), "rule T2.5: sends never overlap");
    int[] nextStream = new int[producers];
    int[] lastControl = new int[producers];
    Arrays.fill(lastControl, -1);
    int count = 0;
    for (String m : t.messages()) {
      count++;
      if (m.startsWith("<binary")) {
        continue;
      }
      int colon = m.indexOf(':');
      int p = Integer.parseInt(m.substring(1, colon));
      int end = colon + 1;
      while (end < m.length() && Character.isDigit(m.charAt(end))) {
        end++;
      }
      int i = Integer.parseInt(m.substring(colon + 1, end));
      if (m.charAt(0) == 's') {
        assertTrue(i >= nextStream[p], "stream order of producer " + p + ": " + i + " after " + nextStream[p]);
        nextStream[p] = i + 1;
      } else {
        assertTrue(i > lastControl[p], "control order of producer " + p);
        lastControl[p] = i;
      }
    }
    assertEquals(total, count, "no message lost or duplicated by joining");
    int joined = 0;
    for (Payload p : t.sent) {
      byte[] bytes = p instanceof Payload.Text ? ((Payload.Text) p).text().getBytes(StandardCharsets.UTF_8) : new byte[0];
      if (new String(bytes, StandardCharsets.UTF_8).indexOf('\n') >= 0) {
        joined++;
        assertTrue(bytes.length <= JoinedSends.MAX_JOINED_BYTES, "a joined frame over the cap");
      }
    }
    return joined;
  }

  private static void awaitQuietly(CountDownLatch l) {
    try {
      l.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
