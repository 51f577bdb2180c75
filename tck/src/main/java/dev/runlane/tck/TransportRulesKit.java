package dev.runlane.tck;

import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.Payload;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * The SPI rules T1–T7 of {@link dev.runlane.transport}, one or more tests per rule, each named by
 * its rule id ({@code T2_2_…}, display name {@code "T2.2 …"}). Extend it with your fixture:
 *
 * <pre>{@code
 * class JettyTransportRulesTest extends TransportRulesKit {
 *   @Override
 *   protected TransportFixture createFixture() {
 *     return new JettyFixture();
 *   }
 * }
 * }</pre>
 *
 * <p>Each test gets a fresh fixture, started with a sink that answers every connection with a
 * recording handler; it drives the server side's {@link Connection} directly and the client side
 * through {@link ClientPeer}s. A test of a capability the connection does not declare ({@code
 * BINARY}, {@code STREAM_TRANSPORT}) or of a slow client when the peer cannot stop reading is
 * skipped with the reason. Rules T2.5 and T7.3 are Runlane's own obligations: the kit checks the
 * transport's side of T2.5 (several sends in flight) and has nothing to check for T7.3.
 *
 * <p><b>Thread safety:</b> JUnit creates one instance per test; tests of one instance never run
 * concurrently.
 */
public abstract class TransportRulesKit {

  private @Nullable Bench bench;

  /** For subclasses: one per transport under test, instantiated by JUnit. */
  protected TransportRulesKit() {}

  /** Creates the fixture for one test; the kit starts and closes it. */
  protected abstract TransportFixture createFixture() throws Exception;

  /** The timeout, seed and backlog size; default {@link TckSettings#fromSystemProperties()}. */
  protected TckSettings settings() {
    return TckSettings.fromSystemProperties();
  }

  /** Starts a fresh fixture for the test. */
  @BeforeEach
  protected final void startFixture(TestInfo info) throws Exception {
    bench = new Bench(settings(), info, createFixture(), ServerRecorder.recording());
  }

  /** Closes the peers and the fixture. */
  @AfterEach
  protected final void closeFixture() throws Exception {
    Bench b = bench;
    bench = null;
    if (b != null) {
      b.close();
    }
  }

  private Bench bench() {
    Bench b = bench;
    if (b == null) {
      throw new IllegalStateException("no fixture: the kit's @BeforeEach did not run");
    }
    return b;
  }

  private Checks check() {
    return bench().checks;
  }

  private static void assumePause(Bench.Link link) {
    Assumptions.assumeTrue(
        link.peer.canPauseReading(),
        "skipped: the client peer cannot stop reading (ClientPeer.canPauseReading() is false), so"
            + " a slow client cannot be simulated");
  }

  private static void assumeCapability(Bench.Link link, Capability capability) {
    Assumptions.assumeTrue(
        link.connection.capabilities().contains(capability),
        "skipped: the connection does not declare " + capability + " (rule T5.1)");
  }

  private static List<Frame> textFrames(String prefix, int count) {
    List<Frame> frames = new ArrayList<>(count);
    for (int i = 1; i <= count; i++) {
      frames.add(Frame.stream(prefix + i));
    }
    return frames;
  }

  /** Checks that the peer received exactly these payloads, in order, starting at {@code from}. */
  private void assertReceivedInOrder(Rule rule, Bench.Link link, List<Frame> frames, int from) {
    check().awaitMessages(rule, link.peer, from + frames.size(), frames.size() + " frames");
    List<PeerMessage> got = link.peer.recording().messages();
    for (int i = 0; i < frames.size(); i++) {
      PeerMessage m = got.get(from + i);
      Payload expected = frames.get(i).payload();
      int n = i;
      check()
          .that(
              rule,
              Bench.matches(m, expected),
              () ->
                  "frame #"
                      + (n + 1)
                      + " of "
                      + frames.size()
                      + ": expected "
                      + Bench.describe(expected)
                      + " but the peer received "
                      + Bench.describe(m));
    }
  }

  // =================================================================================== T1

  /** Rules T1.1 and T1.2. */
  @Nested
  @DisplayName("T1 Identity")
  class T1_Identity {

    @Test
    @DisplayName("T1.1 id() is stable and unique among live connections")
    void T1_1_idIsStableAndUniqueAmongLiveConnections() {
      List<Bench.Link> links = List.of(bench().connect(), bench().connect(), bench().connect());
      Set<String> ids = new HashSet<>();
      for (Bench.Link l : links) {
        String id = l.connection.id();
        check().that(Rule.T1_1, id != null && !id.isEmpty(), () -> "id() is empty");
        ids.add(id);
      }
      check().that(Rule.T1_1, ids.size() == 3, () -> "three live connections share ids: " + links.stream().map(l -> l.connection.id()).toList());
      Bench.Link first = links.get(0);
      String before = first.connection.id();
      List<SendProbe> p = bench().sendAll(first.connection, textFrames("x", 3));
      bench().awaitDone(Rule.T1_1, p);
      first.connection.close(CloseReason.NORMAL);
      check().equal(Rule.T1_1, before, first.connection.id(), "id() after sends and a close");
    }

    @Test
    @DisplayName("T1.2 principal() is the authenticated principal and never changes")
    void T1_2_principalIsTheAuthenticatedOneAndNeverChanges() {
      Bench.Link a = bench().connect();
      Bench.Link b = bench().connect();
      check().equal(Rule.T1_2, a.principal, a.connection.principal(), "principal()");
      check().equal(Rule.T1_2, b.principal, b.connection.principal(), "principal()");
      a.connection.close(CloseReason.NORMAL);
      check().awaitPeerClose(Rule.T4_1, a.peer, "the close");
      check().equal(Rule.T1_2, a.principal, a.connection.principal(), "principal() after the close");
    }
  }

  // =================================================================================== T2

  /** Rules T2.1–T2.6. */
  @Nested
  @DisplayName("T2 Sending")
  class T2_Sending {

    @Test
    @DisplayName("T2.1 send does not block while the peer is not reading")
    void T2_1_sendDoesNotBlockWhileThePeerIsNotReading() {
      Bench.Link link = bench().connect();
      assumePause(link);
      long backlog = check().settings().backlogBytes();
      int frameChars = (int) Math.max(1, Math.min(512 * 1024, backlog / 16));
      int count = (int) Math.min(Bench.MAX_IN_FLIGHT, Math.max(1, (backlog + frameChars - 1) / frameChars));
      String body = Payloads.ascii(bench().random, frameChars);
      List<SendProbe> probes = new ArrayList<>();
      AtomicInteger returned = new AtomicInteger();
      link.peer.pauseReading();
      try {
        check()
            .returnsInTime(
                Rule.T2_1,
                bench().helpers,
                () -> "sending "
                    + count
                    + " frames of "
                    + frameChars
                    + " bytes to a peer that does not read (send #"
                    + (returned.get() + 1)
                    + " was the first that had not returned)",
                () -> {
                  for (int i = 0; i < count; i++) {
                    SendProbe p = new SendProbe(i + 1);
                    probes.add(p);
                    bench().send(link.connection, Frame.stream(i + ":" + body), p);
                    returned.incrementAndGet();
                  }
                  return null;
                });
      } finally {
        link.peer.resumeReading();
      }
      check().awaitMessages(Rule.T2_1, link.peer, count, "the backlog after the peer resumed reading");
      bench().awaitDone(Rule.T2_1, probes);
    }

    @Test
    @DisplayName("T2.2 the callback fires exactly once per send, on an open and a closed connection")
    void T2_2_callbackFiresExactlyOncePerSend() {
      Bench.Link link = bench().connect();
      List<SendProbe> open = bench().sendAll(link.connection, textFrames("once-", 20));
      bench().awaitDone(Rule.T2_2, open);
      // A barrier: one more frame, received and completed, so that late duplicates have had time.
      List<SendProbe> barrier = bench().sendAll(link.connection, textFrames("barrier-", 1));
      bench().awaitDone(Rule.T2_2, barrier);
      check().awaitMessages(Rule.T2_2, link.peer, 21, "21 frames");
      link.connection.close(CloseReason.NORMAL);
      List<SendProbe> closed = bench().sendAll(link.connection, textFrames("closed-", 5));
      bench().awaitDone(Rule.T2_2, closed);
      check().quietPeriod();
      List<SendProbe> all = new ArrayList<>(open);
      all.addAll(barrier);
      all.addAll(closed);
      for (SendProbe p : all) {
        check().that(Rule.T2_2, p.completions() == 1, () -> p + ": completed " + p.completions() + " times");
      }
    }

    @Test
    @DisplayName("T2.2 the callback fires exactly once when sends race a close")
    void T2_2_callbackFiresExactlyOnceWhenSendsRaceAClose() throws Exception {
      Bench.Link link = bench().connect();
      int count = 200;
      List<SendProbe> probes = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        probes.add(new SendProbe(i + 1));
      }
      CountDownLatch go = new CountDownLatch(1);
      int closeAfter = 5 + bench().random.nextInt(50);
      Future<?> sender =
          bench()
              .helpers
              .submit(
                  () -> {
                    go.await();
                    for (int i = 0; i < count; i++) {
                      if (i >= Bench.MAX_IN_FLIGHT) {
                        SendProbe older = probes.get(i - Bench.MAX_IN_FLIGHT);
                        check().await(Rule.T2_2, "the callback of " + older, older::done);
                      }
                      bench().send(link.connection, Frame.stream("race-" + i), probes.get(i));
                    }
                    return null;
                  });
      go.countDown();
      check().await(Rule.T2_2, "send #" + closeAfter + " to be called", () -> probes.get(closeAfter - 1).done() || sender.isDone());
      link.connection.close(CloseReason.NORMAL);
      sender.get(check().timeout().toMillis(), TimeUnit.MILLISECONDS);
      bench().awaitDone(Rule.T2_2, probes);
      check().quietPeriod();
      for (SendProbe p : probes) {
        check().that(Rule.T2_2, p.completions() == 1, () -> p + ": completed " + p.completions() + " times");
      }
    }

    @Test
    @DisplayName("T2.3 the callback runs while the transport holds none of its own locks")
    void T2_3_callbackRunsOffTheTransportsLock() {
      Bench.Link link = bench().connect();
      int count = 10;
      List<SendProbe> probes = new ArrayList<>();
      List<String> violations = java.util.Collections.synchronizedList(new ArrayList<>());
      long waitMillis = Math.max(1, check().timeout().toMillis() / 2);
      SendProbe.Hook hook =
          new SendProbe.Hook() {
            @Override
            public void run(SendProbe probe, boolean success) {
              // isOpen() from another thread must not wait for this callback to return.
              if (!violations.isEmpty()) {
                chain(probe);
                return;
              }
              Future<Boolean> other = bench().helpers.submit(link.connection::isOpen);
              try {
                other.get(waitMillis, TimeUnit.MILLISECONDS);
              } catch (java.util.concurrent.TimeoutException e) {
                violations.add(
                    "isOpen() on another thread did not return within "
                        + waitMillis
                        + " ms while the callback of "
                        + probe
                        + " was running: the callback runs under a lock isOpen() needs");
                other.cancel(true);
              } catch (Exception e) {
                violations.add("isOpen() on another thread threw " + e);
              }
              chain(probe);
            }

            // Runlane sends its next frame from inside the callback.
            private void chain(SendProbe probe) {
              int next = probe.index;
              if (next < count) {
                SendProbe p = probes.get(next);
                bench().send(link.connection, Frame.stream("chain-" + (next + 1)), p);
              }
            }
          };
      for (int i = 0; i < count; i++) {
        probes.add(new SendProbe(i + 1, hook));
      }
      bench().send(link.connection, Frame.stream("chain-1"), probes.get(0));
      bench().awaitDone(Rule.T2_3, probes);
      check().that(Rule.T2_3, violations.isEmpty(), () -> violations.get(0));
      check().awaitMessages(Rule.T2_3, link.peer, count, count + " chained frames");
    }

    @Test
    @DisplayName("T2.4 a payload shared by several sends and connections is not mutated")
    void T2_4_sharedPayloadIsNotMutated() {
      Bench.Link a = bench().connect();
      Bench.Link b = bench().connect();
      List<Frame> frames = new ArrayList<>();
      frames.add(Frame.stream(Payloads.text(bench().random, 2000)));
      boolean binary =
          a.connection.capabilities().contains(Capability.BINARY)
              && b.connection.capabilities().contains(Capability.BINARY);
      byte[] original = Payloads.bytes(bench().random, 4096);
      if (binary) {
        frames.add(new Frame(Lane.STREAM, Payload.binary(original)));
      }
      List<Frame> twice = new ArrayList<>(frames);
      twice.addAll(frames);
      // one frame at a time, so that only mutation (not ordering, T2.6) can make this fail
      for (int i = 0; i < twice.size(); i++) {
        bench().awaitDone(Rule.T2_4, bench().sendAll(a.connection, List.of(twice.get(i))));
        assertReceivedInOrder(Rule.T2_4, a, List.of(twice.get(i)), i);
      }
      for (int i = 0; i < frames.size(); i++) {
        bench().awaitDone(Rule.T2_4, bench().sendAll(b.connection, List.of(frames.get(i))));
        assertReceivedInOrder(Rule.T2_4, b, List.of(frames.get(i)), i);
      }
      if (binary) {
        Payload.Binary shared = (Payload.Binary) frames.get(1).payload();
        ByteBuffer view = shared.data();
        check().that(Rule.T2_4, view.position() == 0 && view.remaining() == original.length,
            () -> "the shared binary payload's view changed: " + view);
        check().that(Rule.T2_4, java.util.Arrays.equals(original, shared.toByteArray()),
            () -> "the shared binary payload's bytes changed");
      }
    }

    @Test
    @DisplayName("T2.5 several sends may be in flight at once, and all are delivered")
    void T2_5_severalSendsMayBeInFlightAtOnce() {
      Bench.Link link = bench().connect();
      List<Frame> frames = textFrames("inflight-", Bench.MAX_IN_FLIGHT);
      List<SendProbe> probes = new ArrayList<>();
      for (int i = 0; i < frames.size(); i++) { // no waiting between sends
        SendProbe p = new SendProbe(i + 1);
        probes.add(p);
        bench().send(link.connection, frames.get(i), p);
      }
      bench().awaitSucceeded(Rule.T2_5, probes);
      check().awaitMessages(Rule.T2_5, link.peer, frames.size(), frames.size() + " frames sent back to back");
      Set<String> expected = new HashSet<>();
      for (Frame f : frames) {
        expected.add(((Payload.Text) f.payload()).text());
      }
      Set<String> got = new HashSet<>();
      for (PeerMessage m : link.peer.recording().messages()) {
        got.add(m.text());
      }
      check().equal(Rule.T2_5, expected, got, "the frames the peer received (in any order)");
    }

    @Test
    @DisplayName("T2.6 frames reach the peer in send order, each intact")
    void T2_6_framesArriveInSendOrderIntact() {
      Bench.Link link = bench().connect();
      List<Frame> frames = new ArrayList<>();
      int[] sizes = {0, 1, 2, 3, 125, 126, 127, 65_535, 65_536, 65_537, 100_000};
      for (int size : sizes) {
        frames.add(Frame.stream(Payloads.text(bench().random, size)));
      }
      for (int i = 0; i < 100; i++) {
        frames.add(Frame.stream(i + ":" + Payloads.text(bench().random, bench().random.nextInt(4096))));
      }
      java.util.Collections.shuffle(frames, bench().random);
      List<SendProbe> probes = bench().sendAll(link.connection, frames);
      bench().awaitSucceeded(Rule.T2_6, probes);
      assertReceivedInOrder(Rule.T2_6, link, frames, 0);
    }

    @Test
    @DisplayName("T2.6 success is reported only once the frame was handed to the socket")
    void T2_6_successMeansTheFrameWasHandedToTheSocket() {
      Bench.Link link = bench().connect();
      List<Frame> frames = textFrames("handed-", 20);
      List<SendProbe> probes = bench().sendAll(link.connection, frames);
      bench().awaitSucceeded(Rule.T2_6, probes);
      // Every frame reported as handed over must reach the peer ahead of a close that follows.
      link.connection.close(CloseReason.NORMAL);
      PeerClose close = check().awaitPeerClose(Rule.T2_6, link.peer, "the close after 20 successful sends");
      List<PeerMessage> got = link.peer.recording().messages();
      check().that(Rule.T2_6, close.messagesBefore() >= frames.size(),
          () -> "all 20 sends reported success, then close(): the peer received only "
              + close.messagesBefore() + " frames before the close (" + close + "), so success was"
              + " reported before the frames were handed to the socket");
      assertReceivedInOrder(Rule.T2_6, link, frames, 0);
      check().that(Rule.T2_6, got.size() >= frames.size(), () -> "received " + got.size());
    }

    @Test
    @DisplayName("T2.7 with BATCHING, a batch arrives in order after one flush, each callback once")
    void T2_7_aBatchArrivesInOrderAfterOneFlush() {
      Bench.Link link = bench().connect();
      assumeCapability(link, Capability.BATCHING);
      List<Frame> frames = new ArrayList<>();
      for (int i = 0; i < 300; i++) {
        int size = i % 50 == 7 ? 20_000 + bench().random.nextInt(50_000) : bench().random.nextInt(300);
        frames.add(Frame.stream(i + ":" + Payloads.text(bench().random, size)));
      }
      List<SendProbe> probes = bench().sendAll(link.connection, frames); // one flush at the end
      bench().awaitSucceeded(Rule.T2_7, probes);
      assertReceivedInOrder(Rule.T2_7, link, frames, 0);
      check().quietPeriod();
      for (SendProbe p : probes) {
        check().that(Rule.T2_7, p.completions() == 1, () -> p + ": completed " + p.completions() + " times");
      }
    }

    @Test
    @DisplayName("T2.7 with BATCHING, a lone frame goes out at its flush")
    void T2_7_aLoneFrameGoesOutAtItsFlush() {
      Bench.Link link = bench().connect();
      assumeCapability(link, Capability.BATCHING);
      for (int i = 1; i <= 3; i++) {
        List<Frame> one = textFrames("lone-" + i + "-", 1);
        SendProbe p = new SendProbe(i);
        bench().sendOnly(link.connection, one.get(0), p);
        check().returnsInTime(Rule.T2_7, bench().helpers, "flush()", () -> {
          link.connection.flush();
          return null;
        });
        // nothing else is sent: the flush alone must put the frame on the wire
        check().awaitMessages(Rule.T2_7, link.peer, i, "frame #" + i + ", sent alone and flushed");
        bench().awaitSucceeded(Rule.T2_7, List.of(p));
        assertReceivedInOrder(Rule.T2_7, link, one, i - 1);
      }
    }

    @Test
    @DisplayName("T2.7 with BATCHING, a close writes the batch before the close frame")
    void T2_7_aCloseWritesTheBatchFirst() {
      Bench.Link link = bench().connect();
      assumeCapability(link, Capability.BATCHING);
      List<Frame> frames = textFrames("unflushed-", 20);
      List<SendProbe> probes = new ArrayList<>();
      for (int i = 0; i < frames.size(); i++) {
        SendProbe p = new SendProbe(i + 1);
        probes.add(p);
        bench().sendOnly(link.connection, frames.get(i), p); // no flush
      }
      link.connection.close(CloseReason.NORMAL);
      PeerClose close = check().awaitPeerClose(Rule.T2_7, link.peer, "the close after 20 unflushed sends");
      bench().awaitDone(Rule.T2_7, probes);
      int succeeded = 0;
      for (SendProbe p : probes) {
        succeeded += p.successes();
      }
      int reported = succeeded;
      check().that(Rule.T2_7, close.messagesBefore() >= reported,
          () -> reported + " sends reported success but only " + close.messagesBefore()
              + " frames reached the peer before the close (" + close + "): the close did not write the batch first");
      assertReceivedInOrder(Rule.T2_7, link, frames.subList(0, reported), 0);
    }

    @Test
    @DisplayName("T2.7 with BATCHING, flush never blocks nor throws, also once closed")
    void T2_7_flushNeverBlocksNorThrows() {
      Bench.Link link = bench().connect();
      assumeCapability(link, Capability.BATCHING);
      check().returnsInTime(Rule.T2_7, bench().helpers, "flush() with nothing sent", () -> {
        link.connection.flush();
        return null;
      });
      if (link.peer.canPauseReading()) {
        link.peer.pauseReading();
        try {
          String body = Payloads.ascii(bench().random, 256 * 1024);
          for (int i = 0; i < 16; i++) {
            bench().sendOnly(link.connection, Frame.stream(i + ":" + body), new SendProbe(i + 1));
            check().returnsInTime(Rule.T2_7, bench().helpers, "flush() while the peer is not reading", () -> {
              link.connection.flush();
              return null;
            });
          }
        } finally {
          link.peer.resumeReading();
        }
      }
      link.connection.close(CloseReason.NORMAL);
      check().returnsInTime(Rule.T2_7, bench().helpers, "flush() after close()", () -> {
        link.connection.flush();
        return null;
      });
      link.connection.terminate();
      check().returnsInTime(Rule.T2_7, bench().helpers, "flush() after terminate()", () -> {
        link.connection.flush();
        return null;
      });
    }
  }

  // =================================================================================== T3

  /** Rules T3.1 and T3.2. */
  @Nested
  @DisplayName("T3 Open state")
  class T3_OpenState {

    @Test
    @DisplayName("T3.1 isOpen() turns false once, whoever closes, and never back")
    void T3_1_isOpenTurnsFalseOnceAndNeverBack() throws Exception {
      Bench.Link byClose = bench().connect();
      Bench.Link byTerminate = bench().connect();
      Bench.Link byPeer = bench().connect();
      for (Bench.Link l : List.of(byClose, byTerminate, byPeer)) {
        check().that(Rule.T3_1, l.connection.isOpen(), () -> "isOpen() is false on a fresh connection");
      }
      byClose.connection.close(CloseReason.NORMAL);
      check().that(Rule.T3_1, !byClose.connection.isOpen(), () -> "isOpen() is still true right after close()");
      byTerminate.connection.terminate();
      check().that(Rule.T3_1, !byTerminate.connection.isOpen(), () -> "isOpen() is still true right after terminate()");
      byPeer.peer.sendClose(1000, "bye");
      check().await(Rule.T4_5, "onClose after the peer closed", () -> byPeer.handler().closeCount() > 0);
      check().that(Rule.T3_1, !byPeer.connection.isOpen(), () -> "isOpen() is still true after the peer closed and onClose was reported");
      check().await(Rule.T4_5, "onClose after close()", () -> byClose.handler().closeCount() > 0);
      check().await(Rule.T4_5, "onClose after terminate()", () -> byTerminate.handler().closeCount() > 0);
      for (int i = 0; i < 20; i++) {
        for (Bench.Link l : List.of(byClose, byTerminate, byPeer)) {
          check().that(Rule.T3_1, !l.connection.isOpen(), () -> "isOpen() turned true again after the close");
        }
        Checks.pause(2);
      }
    }

    @Test
    @DisplayName("T3.2 a send after close writes nothing and fails")
    void T3_2_sendAfterCloseWritesNothingAndFails() throws Exception {
      Bench.Link closed = bench().connect();
      Bench.Link terminated = bench().connect();
      Bench.Link peerClosed = bench().connect();
      List<SendProbe> before = bench().sendAll(closed.connection, textFrames("before-", 1));
      bench().awaitDone(Rule.T3_2, before);
      check().awaitMessages(Rule.T3_2, closed.peer, 1, "the frame sent before the close");

      closed.connection.close(CloseReason.NORMAL);
      SendProbe afterClose = new SendProbe(1);
      bench().send(closed.connection, Frame.stream("after-close"), afterClose);

      terminated.connection.terminate();
      SendProbe afterTerminate = new SendProbe(1);
      bench().send(terminated.connection, Frame.stream("after-terminate"), afterTerminate);

      peerClosed.peer.sendClose(1000, "bye");
      check().await(Rule.T4_5, "onClose after the peer closed", () -> peerClosed.handler().closeCount() > 0);
      SendProbe afterPeer = new SendProbe(1);
      bench().send(peerClosed.connection, Frame.stream("after-peer-close"), afterPeer);

      for (SendProbe p : List.of(afterClose, afterTerminate, afterPeer)) {
        check().await(Rule.T3_2, "the callback of a send after close", p::done);
      }
      check().awaitPeerClose(Rule.T4_1, closed.peer, "the close");
      check().quietPeriod();
      check().that(Rule.T3_2, afterClose.successes() == 0, () -> "a send after close() reported success");
      check().that(Rule.T3_2, afterTerminate.successes() == 0, () -> "a send after terminate() reported success");
      check().that(Rule.T3_2, afterPeer.successes() == 0, () -> "a send after the peer closed (and onClose) reported success");
      for (PeerMessage m : closed.peer.recording().messages()) {
        check().that(Rule.T3_2, !m.text().startsWith("after-"), () -> "the peer received " + m + ", sent after close()");
      }
      for (PeerMessage m : terminated.peer.recording().messages()) {
        check().that(Rule.T3_2, !m.text().startsWith("after-"), () -> "the peer received " + m + ", sent after terminate()");
      }
    }
  }

  // =================================================================================== T4

  /** Rules T4.1–T4.5. */
  @Nested
  @DisplayName("T4 Closing")
  class T4_Closing {

    @Test
    @DisplayName("T4.1 close codes and reasons reach the peer after the frames sent before")
    void T4_1_closeCodeAndReasonReachThePeer() {
      List<CloseReason> reasons =
          List.of(
              CloseReason.NORMAL,
              CloseReason.GOING_AWAY,
              CloseReason.INTERNAL_ERROR,
              CloseReason.SLOW_CONSUMER,
              CloseReason.IDLE_TIMEOUT,
              CloseReason.STREAM_TRANSPORT_LOST,
              CloseReason.UNAUTHORIZED);
      List<Bench.Link> links = new ArrayList<>();
      for (CloseReason r : reasons) {
        Bench.Link l = bench().connect();
        links.add(l);
        List<SendProbe> p = bench().sendAll(l.connection, textFrames("pre-close-", 2));
        bench().awaitDone(Rule.T4_1, p);
        check().awaitMessages(Rule.T4_1, l.peer, 2, "2 frames before the close");
        l.connection.close(r);
      }
      for (int i = 0; i < reasons.size(); i++) {
        CloseReason r = reasons.get(i);
        PeerClose c = check().awaitPeerClose(Rule.T4_1, links.get(i).peer, "close(" + r + ")");
        check().that(Rule.T4_1, c.code() == r.code() && c.reason().equals(r.reason()),
            () -> "close(" + r + ") reached the peer as " + c);
        check().that(Rule.T4_1, c.messagesBefore() == 2,
            () -> "the close arrived after " + c.messagesBefore() + " frames, expected after the 2 sent before it");
      }
    }

    @Test
    @DisplayName("T4.1 a reason too long for the transport arrives truncated, not dropped")
    void T4_1_longReasonArrivesTruncatedNotDropped() {
      Bench.Link link = bench().connect();
      String reason = "slow consumer: reconnect and resume " + "é".repeat(150);
      link.connection.close(new CloseReason(4000, reason));
      PeerClose c = check().awaitPeerClose(Rule.T4_1, link.peer, "a close with a 336-byte reason");
      check().that(Rule.T4_1, c.code() == 4000, () -> "close code 4000 reached the peer as " + c);
      check().that(Rule.T4_1, !c.reason().isEmpty() && reason.startsWith(c.reason()),
          () -> "the reason reached the peer as '" + c.reason() + "', not as a prefix of the reason sent");
      check().that(Rule.T4_1, c.reason().getBytes(StandardCharsets.UTF_8).length <= 123 || c.reason().equals(reason),
          () -> "reason of " + c.reason().getBytes(StandardCharsets.UTF_8).length + " bytes");
    }

    @Test
    @DisplayName("T4.2 close and terminate return without waiting for the peer")
    void T4_2_closeAndTerminateDoNotBlock() {
      Bench.Link link = bench().connect();
      check().returnsInTime(Rule.T4_2, bench().helpers, "close(NORMAL)", () -> {
        link.connection.close(CloseReason.NORMAL);
        return null;
      });
      check().returnsInTime(Rule.T4_2, bench().helpers, "terminate() after close()", () -> {
        link.connection.terminate();
        return null;
      });
      Bench.Link other = bench().connect();
      check().returnsInTime(Rule.T4_2, bench().helpers, "terminate()", () -> {
        other.connection.terminate();
        return null;
      });
    }

    @Test
    @DisplayName("T4.2 close returns while the peer is not reading")
    void T4_2_closeDoesNotBlockWhileThePeerIsNotReading() {
      Bench.Link link = bench().connect();
      assumePause(link);
      link.peer.pauseReading();
      try {
        check().returnsInTime(Rule.T4_2, bench().helpers, "close(NORMAL) to a peer that does not read", () -> {
          link.connection.close(CloseReason.NORMAL);
          return null;
        });
        check().returnsInTime(Rule.T4_2, bench().helpers, "terminate() of a peer that does not read", () -> {
          link.connection.terminate();
          return null;
        });
      } finally {
        link.peer.resumeReading();
      }
    }

    @Test
    @DisplayName("T4.3 close and terminate are idempotent")
    void T4_3_closeAndTerminateAreIdempotent() throws Exception {
      Bench.Link twice = bench().connect();
      twice.connection.close(CloseReason.NORMAL);
      twice.connection.close(CloseReason.GOING_AWAY);
      PeerClose c = check().awaitPeerClose(Rule.T4_3, twice.peer, "the first close");
      check().that(Rule.T4_3, c.code() == CloseReason.NORMAL.code(),
          () -> "close(NORMAL) then close(GOING_AWAY): the peer saw " + c + "; the second close must be a no-op");
      twice.connection.terminate();
      twice.connection.terminate();

      Bench.Link terminated = bench().connect();
      terminated.connection.terminate();
      terminated.connection.terminate();
      terminated.connection.close(CloseReason.NORMAL);
      check().that(Rule.T4_3, !terminated.connection.isOpen(), () -> "open after terminate()");

      Bench.Link racing = bench().connect();
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> closers = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        boolean terminate = i == 3;
        closers.add(bench().helpers.submit(() -> {
          go.await();
          if (terminate) {
            racing.connection.terminate();
          } else {
            racing.connection.close(CloseReason.NORMAL);
          }
          return null;
        }));
      }
      go.countDown();
      for (Future<?> f : closers) {
        try {
          f.get(check().timeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
          throw check().failure(Rule.T4_3, "a concurrent close()/terminate() threw", e.getCause() == null ? e : e.getCause());
        }
      }
      for (Bench.Link l : List.of(twice, terminated, racing)) {
        check().await(Rule.T4_5, "onClose", () -> l.handler().closeCount() > 0);
      }
    }

    @Test
    @DisplayName("T4.4 terminate drops the socket at once, without a close frame")
    void T4_4_terminateDropsTheSocketAtOnce() {
      Bench.Link link = bench().connect();
      link.connection.terminate();
      check().await(Rule.T4_4, "onClose after terminate()", () -> link.handler().closeCount() > 0);
      PeerClose c = check().awaitPeerClose(Rule.T4_4, link.peer, "the peer to see the socket dropped");
      check().that(Rule.T4_4, c.abnormal(),
          () -> "after terminate() the peer saw a close frame " + c + " instead of a dropped connection");
    }

    @Test
    @DisplayName("T4.4 terminate ends a graceful close that the peer never answers")
    void T4_4_terminateEndsACloseThePeerNeverAnswers() {
      Bench.Link slow = bench().connect();
      assumePause(slow);
      slow.peer.pauseReading();
      try {
        slow.connection.close(CloseReason.NORMAL); // the peer does not read: the handshake cannot end
        slow.connection.terminate();
        check().await(Rule.T4_4, "onClose after close() then terminate() of a peer that does not read",
            () -> slow.handler().closeCount() > 0);
      } finally {
        slow.peer.resumeReading();
      }
    }

    @Test
    @DisplayName("T4.5 the close is reported exactly once, whoever closes")
    void T4_5_closeIsReportedExactlyOnceWhoeverCloses() throws Exception {
      Bench.Link byClose = bench().connect();
      Bench.Link byTerminate = bench().connect();
      Bench.Link byPeerClose = bench().connect();
      Bench.Link byPeerAbort = bench().connect();
      byClose.connection.close(CloseReason.NORMAL);
      byTerminate.connection.terminate();
      byPeerClose.peer.sendClose(1000, "bye");
      byPeerAbort.peer.abort();
      String[] how = {"close()", "terminate()", "the peer's close", "the peer dropping the connection"};
      List<Bench.Link> links = List.of(byClose, byTerminate, byPeerClose, byPeerAbort);
      for (int i = 0; i < links.size(); i++) {
        Bench.Link l = links.get(i);
        check().await(Rule.T4_5, "onClose after " + how[i], () -> l.handler().closeCount() > 0);
        l.connection.close(CloseReason.GOING_AWAY);
        l.connection.terminate();
      }
      check().quietPeriod();
      for (int i = 0; i < links.size(); i++) {
        Bench.Link l = links.get(i);
        int n = i;
        check().that(Rule.T4_5, l.handler().closeCount() == 1,
            () -> "after " + how[n] + " onClose was reported " + l.handler().closeCount() + " times: " + l.handler().closes());
      }
    }
  }

  // =================================================================================== T5

  /** Rules T5.1 and T5.2. */
  @Nested
  @DisplayName("T5 Capabilities and payloads")
  class T5_CapabilitiesAndPayloads {

    @Test
    @DisplayName("T5.1 every declared capability is honoured")
    void T5_1_everyDeclaredCapabilityIsHonoured() {
      Bench.Link link = bench().connect();
      Set<Capability> caps = link.connection.capabilities();
      check().equal(Rule.T5_1, caps, link.connection.capabilities(), "capabilities() on a second call");
      Assumptions.assumeFalse(caps.isEmpty(), "skipped: the connection declares no capability");
      if (caps.contains(Capability.BINARY)) {
        byte[] bytes = Payloads.bytes(bench().random, 300);
        List<SendProbe> p = bench().sendAll(link.connection, List.of(new Frame(Lane.STREAM, Payload.binary(bytes))));
        bench().awaitDone(Rule.T5_1, p);
        check().awaitMessages(Rule.T5_1, link.peer, 1, "a binary frame (BINARY is declared)");
        PeerMessage m = link.peer.recording().messages().get(0);
        check().that(Rule.T5_1, m.isBinary(bytes), () -> "BINARY is declared but a binary payload arrived as " + m);
      }
      if (caps.contains(Capability.STREAM_TRANSPORT)) {
        bench().connectStream(link, 1);
      }
    }

    @Test
    @DisplayName("T5.2 text arrives as text, byte for byte, both ways")
    void T5_2_textArrivesAsTextByteForByte() throws Exception {
      Bench.Link link = bench().connect();
      List<String> texts = new ArrayList<>(List.of("", " ", "plain ascii", "null\u0000inside", "ünïcødé ∑ 中文 😀🚀"));
      texts.add(Payloads.text(bench().random, 10_000));
      texts.add(Payloads.text(bench().random, 200_000));
      for (int i = 0; i < texts.size(); i++) {
        Frame f = Frame.stream(texts.get(i));
        bench().awaitDone(Rule.T5_2, bench().sendAll(link.connection, List.of(f)));
        assertReceivedInOrder(Rule.T5_2, link, List.of(f), i);
      }
      // inbound: the same texts (at most 32 KiB, below common inbound limits) reach the handler
      int n = 0;
      for (String t : texts) {
        if (t.getBytes(StandardCharsets.UTF_8).length > 32 * 1024) {
          continue;
        }
        link.peer.sendText(t);
        int want = ++n;
        check().await(Rule.T5_2, "inbound text frame #" + want, () -> link.handler().frameCount() >= want);
        Payload got = link.handler().frames().get(want - 1);
        check().that(Rule.T5_2, Bench.samePayload(got, Payload.text(t)),
            () -> "inbound text frame #" + want + " arrived as " + Bench.describe(got));
      }
    }

    @Test
    @DisplayName("T5.2 binary arrives as binary, byte for byte, both ways")
    void T5_2_binaryArrivesAsBinaryByteForByte() throws Exception {
      Bench.Link link = bench().connect();
      assumeCapability(link, Capability.BINARY);
      List<byte[]> payloads = new ArrayList<>();
      payloads.add(new byte[0]);
      payloads.add(Payloads.bytes(bench().random, 256));
      payloads.add(new byte[] {(byte) 0xC3, (byte) 0x28, (byte) 0xFF, 0}); // not UTF-8
      payloads.add(Payloads.bytes(bench().random, 70_000));
      for (int i = 0; i < payloads.size(); i++) {
        Frame f = new Frame(Lane.STREAM, Payload.binary(payloads.get(i)));
        bench().awaitDone(Rule.T5_2, bench().sendAll(link.connection, List.of(f)));
        assertReceivedInOrder(Rule.T5_2, link, List.of(f), i);
      }
      int n = 0;
      for (byte[] b : payloads) {
        if (b.length > 32 * 1024) {
          continue;
        }
        link.peer.sendBinary(b);
        int want = ++n;
        check().await(Rule.T5_2, "inbound binary frame #" + want, () -> link.handler().frameCount() >= want);
        Payload got = link.handler().frames().get(want - 1);
        check().that(Rule.T5_2, Bench.samePayload(got, Payload.binary(b)),
            () -> "inbound binary frame #" + want + " arrived as " + Bench.describe(got));
      }
    }
  }

  // =================================================================================== T6

  /** Rules T6.1 and T6.2 (capability {@code STREAM_TRANSPORT}). */
  @Nested
  @DisplayName("T6 Stream transport")
  class T6_StreamTransport {

    @Test
    @DisplayName("T6.1 a stream transport arrives with the primary's id and generation, as sent")
    void T6_1_streamTransportCarriesThePrimarysIdAndGeneration() {
      Bench.Link primary = bench().connect();
      assumeCapability(primary, Capability.STREAM_TRANSPORT);
      long generation = 1 + (bench().random.nextLong() >>> 2);
      Bench.Link stream = bench().connectStream(primary, generation);
      check().equal(Rule.T6_1, primary.connection.id(), String.valueOf(stream.accepted.pairedWith), "the connection id passed to acceptStream");
      check().equal(Rule.T6_1, generation, stream.accepted.generation, "the generation passed to acceptStream");
      check().equal(Rule.T6_1, primary.principal, stream.connection.principal(), "the stream transport's principal");
      List<SendProbe> p = bench().sendAll(stream.connection, textFrames("on-stream-", 2));
      bench().awaitDone(Rule.T6_1, p);
      check().awaitMessages(Rule.T6_1, stream.peer, 2, "frames sent on the stream transport");
      check().that(Rule.T6_1, primary.peer.recording().size() == 0,
          () -> "frames sent on the stream transport arrived on the primary");
    }

    @Test
    @DisplayName("T6.2 the close of either transport of a pair is reported")
    void T6_2_closeOfEitherTransportIsReported() throws Exception {
      Bench.Link primary = bench().connect();
      assumeCapability(primary, Capability.STREAM_TRANSPORT);
      Bench.Link stream = bench().connectStream(primary, 7);
      stream.peer.sendClose(1000, "stream done");
      check().await(Rule.T6_2, "onClose of the stream transport after its peer closed", () -> stream.handler().closeCount() > 0);
      Bench.Link stream2 = bench().connectStream(primary, 8);
      stream2.connection.close(CloseReason.STREAM_TRANSPORT_LOST);
      check().await(Rule.T6_2, "onClose of the stream transport after close()", () -> stream2.handler().closeCount() > 0);
      primary.peer.sendClose(1000, "bye");
      check().await(Rule.T6_2, "onClose of the primary after its peer closed", () -> primary.handler().closeCount() > 0);
    }
  }

  // =================================================================================== T7

  /** Rules T7.1 and T7.2. */
  @Nested
  @DisplayName("T7 Inbound")
  class T7_Inbound {

    @Test
    @DisplayName("T7.1 inbound frames of one connection arrive in order")
    void T7_1_inboundFramesArriveInOrder() throws Exception {
      Bench.Link link = bench().connect();
      link.handler().slowDown(20, 500);
      int count = 200;
      for (int i = 1; i <= count; i++) {
        link.peer.sendText("in-" + i);
      }
      check().await(Rule.T7_1, count + " inbound frames", () -> link.handler().frameCount() >= count);
      List<Payload> got = link.handler().frames();
      for (int i = 0; i < count; i++) {
        Payload p = got.get(i);
        int n = i;
        check().that(Rule.T7_1, Bench.samePayload(p, Payload.text("in-" + (i + 1))),
            () -> "inbound frame #" + (n + 1) + " was " + Bench.describe(p));
      }
    }

    @Test
    @DisplayName("T7.1 inbound frames of one connection are never delivered concurrently")
    void T7_1_inboundFramesAreNeverDeliveredConcurrently() throws Exception {
      Bench.Link link = bench().connect();
      link.handler().slowDown(60, 1000);
      int count = 60;
      for (int i = 1; i <= count; i++) {
        link.peer.sendText("c-" + i);
      }
      check().await(Rule.T7_1, count + " inbound frames", () -> link.handler().frameCount() >= count);
      List<String> v = link.handler().t71Violations();
      check().that(Rule.T7_1, v.isEmpty(), () -> v.size() + " overlapping calls, e.g. " + v.get(0));
    }

    @Test
    @DisplayName("T7.2 onClose comes exactly once, after the last frame")
    void T7_2_onCloseComesOnceAfterTheLastFrame() throws Exception {
      Bench.Link link = bench().connect();
      link.handler().slowDown(30, 1000);
      int count = 30;
      for (int i = 1; i <= count; i++) {
        link.peer.sendText("last-" + i);
      }
      link.peer.sendClose(1000, "done");
      check().await(Rule.T7_2, "onClose after the peer's close", () -> link.handler().closeCount() > 0);
      check().quietPeriod();
      RecordingHandler h = link.handler();
      check().that(Rule.T7_2, h.closeCount() == 1, () -> "onClose was reported " + h.closeCount() + " times");
      check().that(Rule.T7_2, h.framesAtClose().get(0) == count,
          () -> "onClose came after " + h.framesAtClose().get(0) + " of the " + count + " frames the peer sent before closing");
      check().that(Rule.T7_2, h.t72Violations().isEmpty(), () -> h.t72Violations().get(0));
    }

    @Test
    @DisplayName("T7.2 a server close while frames arrive: onClose once, no frame after it")
    void T7_2_serverCloseWhileFramesArrive() throws Exception {
      Bench.Link link = bench().connect();
      link.handler().slowDown(1000, 200);
      Future<?> sender = bench().helpers.submit(() -> {
        for (int i = 1; i <= 1000; i++) {
          try {
            link.peer.sendText("flood-" + i);
          } catch (Exception e) {
            return null; // closed under us: expected
          }
        }
        return null;
      });
      check().await(Rule.T7_2, "20 inbound frames", () -> link.handler().frameCount() >= 20);
      link.connection.close(CloseReason.NORMAL);
      check().await(Rule.T7_2, "onClose after close()", () -> link.handler().closeCount() > 0);
      try {
        sender.get(check().timeout().toMillis(), TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        sender.cancel(true);
      }
      check().quietPeriod();
      RecordingHandler h = link.handler();
      check().that(Rule.T7_2, h.closeCount() == 1, () -> "onClose was reported " + h.closeCount() + " times");
      check().that(Rule.T7_2, h.t72Violations().isEmpty(), () -> h.t72Violations().get(0));
    }
  }

  // =================================================================================== T8

  /** Rule T8.2 (capability {@code TRANSPORT_PING}); T8.1 needs idle timeouts the kit does not wait out. */
  @Nested
  @DisplayName("T8 Liveness")
  class T8_Liveness {

    @Test
    @DisplayName("T8.2 a transport ping is answered by the peer and its pong reported as activity")
    void T8_2_pingIsAnsweredAndThePongReportedAsActivity() {
      Bench.Link link = bench().connect();
      assumeCapability(link, Capability.TRANSPORT_PING);
      int before = link.handler().activityCount();
      for (int i = 1; i <= 3; i++) {
        int want = before + i;
        int n = i;
        check().returnsInTime(Rule.T8_2, bench().helpers, () -> "ping() #" + n, () -> {
          link.connection.ping();
          return null;
        });
        check().await(Rule.T8_2, "the pong of ping #" + i + " reported through onActivity()",
            () -> link.handler().activityCount() >= want);
      }
      // pings do not disturb the data stream: a frame sent between two pings arrives as sent
      List<SendProbe> p = bench().sendAll(link.connection, textFrames("between-pings-", 1));
      link.connection.ping();
      bench().awaitDone(Rule.T8_2, p);
      assertReceivedInOrder(Rule.T8_2, link, textFrames("between-pings-", 1), 0);
      check().await(Rule.T8_2, "the pong of the fourth ping", () -> link.handler().activityCount() >= before + 4);
      check().that(Rule.T8_2, link.peer.recording().size() == 1,
          () -> "the peer received " + link.peer.recording().size() + " messages: a ping arrived as a message");
      link.connection.close(CloseReason.NORMAL);
      check().awaitPeerClose(Rule.T8_2, link.peer, "the close");
      check().returnsInTime(Rule.T8_2, bench().helpers, "ping() on a closed connection", () -> {
        link.connection.ping();
        return null;
      });
      List<String> v = link.handler().t71Violations();
      check().that(Rule.T8_2, v.isEmpty(), () -> "pongs were reported concurrently with other calls: " + v.get(0));
    }
  }
}
