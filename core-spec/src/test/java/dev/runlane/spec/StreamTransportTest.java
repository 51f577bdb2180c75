package dev.runlane.spec;

import static dev.runlane.spec.DeliveryFixture.*;
import static dev.runlane.testkit.RunlaneAssertions.assertSeqRange;
import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.RunHandle;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryConnection.Mode;
import dev.runlane.testkit.WireMessage;
import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Rule T6 and promise 7 with two sockets: a second transport dedicated to the stream lane, paired
 * by connection id and generation. Stale or foreign pairings are refused with {@link
 * CloseReason#STALE_STREAM_TRANSPORT}; a run's frames never travel over two transports at once; if
 * either transport dies the pair is torn down and the client resumes.
 */
class StreamTransportTest {
  static final Set<Capability> STREAM = Set.of(Capability.STREAM_TRANSPORT);
  DeliveryFixture f =
      new DeliveryFixture(b -> b.maxQueuedFrames(20).maxInFlight(2).closeGrace(Duration.ofSeconds(5)));

  @AfterEach
  void tearDown() {
    f.close();
  }

  static long generation(InMemoryConnection primary) {
    WireMessage w = primary.last("welcome");
    assertNotNull(w, "no welcome on " + primary.id());
    return w.num("generation");
  }

  InMemoryConnection primary(String id) {
    InMemoryConnection p = f.tx.open("alice", id, STREAM);
    assertEquals("true", p.last("welcome").get("stream"));
    return p;
  }

  InMemoryConnection paired(InMemoryConnection primary) {
    InMemoryConnection s = f.tx.openStream(primary, generation(primary));
    assertNull(s.closeReason(), "pairing refused");
    assertNotNull(primary.last("stream_paired"), "no stream_paired on the primary");
    assertEquals(String.valueOf(generation(primary)), primary.last("stream_paired").get("generation"));
    return s;
  }

  static void assertRefused(InMemoryConnection stream) {
    assertEquals(CloseReason.STALE_STREAM_TRANSPORT, stream.closeReason());
    assertEquals(4003, stream.closeReason().code());
    assertFalse(stream.closeReason().resumable(), "a refused pairing must not be retried as is");
    assertTrue(stream.frames().isEmpty(), "a refused stream transport is sent nothing");
  }

  @Test
  void sequencedFramesGoOnlyOverTheStreamTransportAndControlOnlyOverThePrimary() {
    InMemoryConnection p = primary("p1");
    InMemoryConnection s = paired(p);
    RunHandle run = f.start("s", p);
    publish(run, 0, 5);
    run.publishStatus("typing", true);
    run.requestApproval("tool", null, (a, r, d, by) -> {});
    f.rl.noticeSession("s", "hello", null);
    p.sendText("bogus");
    run.complete(null);

    for (Frame fr : p.frames()) {
      assertEquals(Lane.CONTROL, fr.lane(), "stream frame on the primary: " + fr);
    }
    for (Frame fr : s.frames()) {
      assertEquals(Lane.STREAM, fr.lane(), "control frame on the stream transport: " + fr);
    }
    assertSeqRange(s, run.runId(), 1, 7);
    assertEquals(List.of("welcome", "stream_paired", "approval", "notice", "error", "approval_resolved"), types(p));
    assertEquals("status", types(s).get(6));
  }

  @Test
  void aResumesAckTravelsOnThePrimaryAndItsReplayOnTheStreamTransport() {
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    publish(run, 0, 5);
    InMemoryConnection p = primary("p1");
    InMemoryConnection s = paired(p);
    p.sendText("sub s 3 " + run.epoch() + " " + run.runId());
    WireMessage ack = p.last("subscribed");
    assertNotNull(ack);
    assertEquals("EXACT", ack.get("status"));
    assertSeqRange(s, run.runId(), 4, 6);
    publish(run, 5, 2);
    assertSeqRange(s, run.runId(), 4, 8);
    assertTrue(p.messages(WireMessage::isEvent).isEmpty());
  }

  @Test
  void aStaleGenerationIsRefused() {
    InMemoryConnection p = primary("p1");
    long gen = generation(p);
    assertRefused(f.tx.openStream(p, gen - 1));
    assertRefused(f.tx.openStream(p, gen + 1));
    assertNull(p.closeReason(), "the primary is unaffected");
    InMemoryConnection s = paired(p); // the right generation still pairs afterwards
    RunHandle run = f.start("s", p);
    assertSeqRange(s, run.runId(), 1, 1);
  }

  @Test
  void aLateSocketFromAnEarlierConnectionAttemptCanNeverAttach() {
    InMemoryConnection first = primary("p1");
    long oldGen = generation(first);
    first.clientClose(new CloseReason(1006, "network"));
    InMemoryConnection second = primary("p1"); // the client reconnects with the same id
    long newGen = generation(second);
    assertNotEquals(oldGen, newGen);
    assertRefused(f.tx.openStream(second, oldGen));
    InMemoryConnection s = paired(second);
    RunHandle run = f.start("s", second);
    assertSeqRange(s, run.runId(), 1, 1);
  }

  @Test
  void anUnknownConnectionIdIsRefused() {
    InMemoryConnection nobody = new InMemoryConnection("ghost", "alice", STREAM);
    InMemoryConnection s = new InMemoryConnection("ghost-stream", "alice", Set.of());
    s.bind(f.rl.connectStream(s, nobody.id(), 1));
    assertRefused(s);
  }

  @Test
  void anotherPrincipalsStreamTransportIsRefused() {
    InMemoryConnection p = primary("p1");
    InMemoryConnection mallory = new InMemoryConnection("m-stream", "mallory", Set.of());
    mallory.bind(f.rl.connectStream(mallory, p.id(), generation(p)));
    assertRefused(mallory);
    RunHandle run = f.start("s", p);
    run.publish("delta", "secret");
    assertTrue(mallory.frames().isEmpty());
    assertSeqRange(p, run.runId(), 1, 2);
  }

  @Test
  void aPrimaryWithoutTheCapabilityCannotPair() {
    InMemoryConnection p = f.tx.open("alice", "plain", Set.of());
    assertEquals("false", p.last("welcome").get("stream"));
    assertRefused(f.tx.openStream(p, generation(p)));
    RunHandle run = f.start("s", p);
    assertSeqRange(p, run.runId(), 1, 1);
  }

  @Test
  void pairingAfterStreamFramesFlowedOnThePrimaryIsRefused() {
    InMemoryConnection p = primary("p1");
    RunHandle run = f.start("s", p);
    publish(run, 0, 3);
    InMemoryConnection late = f.tx.openStream(p, generation(p));
    assertRefused(late);
    publish(run, 3, 3);
    assertSeqRange(p, run.runId(), 1, 7); // everything stays on the primary, in order
    assertNull(p.closeReason());
  }

  @Test
  void onlyOneStreamTransportPerConnection() {
    InMemoryConnection p = primary("p1");
    InMemoryConnection s = paired(p);
    assertRefused(f.tx.openStream(p, generation(p)));
    RunHandle run = f.start("s", p);
    assertSeqRange(s, run.runId(), 1, 1);
    assertNull(s.closeReason());
  }

  @Test
  void aClosedConnectionsGenerationIsRefused() {
    InMemoryConnection p = primary("p1");
    long gen = generation(p);
    p.clientClose(CloseReason.NORMAL);
    assertRefused(f.tx.openStream(p, gen));
  }

  @Test
  void theStreamTransportDyingTearsDownThePairAndTheClientResumes() {
    InMemoryConnection p = primary("p1");
    InMemoryConnection s = paired(p);
    RunHandle run = f.start("s", p);
    publish(run, 0, 5);
    s.clientClose(new CloseReason(1006, "stream socket lost"));
    assertEquals(CloseReason.STREAM_TRANSPORT_LOST, p.closeReason());
    assertEquals(4002, p.closeReason().code());
    assertTrue(p.closeReason().resumable());
    assertFalse(p.isOpen());
    assertEquals(List.of(CloseReason.STREAM_TRANSPORT_LOST), f.metrics.closesOf(p.id()));
    assertFalse(f.rl.recipientsOf(run.runId()).contains(p.id()));
    publish(run, 5, 5); // the publisher carries on

    // the client reconnects both and resumes from the last seq its stream transport got
    InMemoryConnection p2 = primary("p1");
    InMemoryConnection s2 = paired(p2);
    p2.sendText("sub s " + lastSeq(s, run) + " " + run.epoch() + " " + run.runId());
    assertEquals("EXACT", p2.last("subscribed").get("status"));
    publish(run, 10, 2);
    assertStitched(s, s2, run);
    assertTrue(p2.messages(WireMessage::isEvent).isEmpty());
  }

  @Test
  void thePrimaryDyingTakesTheStreamTransportDown() {
    InMemoryConnection p = primary("p1");
    InMemoryConnection s = paired(p);
    RunHandle run = f.start("s", p);
    p.clientClose(new CloseReason(1006, "primary lost"));
    assertNotNull(s.closeReason(), "the stream transport was closed with the primary");
    assertFalse(s.isOpen());
    assertEquals(0, f.rl.connectionCount());
    run.publish("delta", "after");
    assertSeqRange(s, run.runId(), 1, 1);
  }

  @Test
  void aSlowStreamTransportClosesThePairAsSlowConsumer() {
    InMemoryConnection p = primary("p1");
    InMemoryConnection s = paired(p);
    RunHandle run = f.start("s", p);
    s.mode(Mode.MANUAL);
    publish(run, 0, 50);
    assertEquals(CloseReason.SLOW_CONSUMER, p.closeReason());
    assertEquals(CloseReason.SLOW_CONSUMER, s.closeReason());
    assertEquals(List.of(CloseReason.SLOW_CONSUMER), f.metrics.closesOf(p.id()));
    f.time.advance(Duration.ofSeconds(30));
    assertFalse(p.terminated(), "both closed promptly: nothing to terminate");
    assertFalse(s.terminated(), "both closed promptly: nothing to terminate");
  }

  @Test
  void aStalledStreamTransportIsDetectedByTheStallTimeout() {
    f.close();
    f = new DeliveryFixture(b -> b.sendStallTimeout(Duration.ofSeconds(5)).housekeepingInterval(Duration.ofSeconds(1)));
    InMemoryConnection p = primary("p1");
    InMemoryConnection s = paired(p);
    RunHandle run = f.start("s", p);
    s.mode(Mode.MANUAL);
    publish(run, 0, 3);
    f.time.advance(Duration.ofSeconds(4));
    assertNull(p.closeReason());
    f.time.advance(Duration.ofSeconds(4));
    assertEquals(CloseReason.SLOW_CONSUMER, p.closeReason());
    assertEquals(CloseReason.SLOW_CONSUMER, s.closeReason());
  }

  @Test
  void hangingClosesOfBothTransportsAreTerminatedAfterTheGrace() {
    InMemoryConnection p = primary("p1");
    InMemoryConnection s = paired(p);
    RunHandle run = f.start("s", p);
    p.closeHandshakeHangs(true);
    s.mode(Mode.MANUAL).closeHandshakeHangs(true);
    publish(run, 0, 50);
    assertEquals(CloseReason.SLOW_CONSUMER, p.closeReason());
    assertEquals(CloseReason.SLOW_CONSUMER, s.closeReason());
    f.time.advance(Duration.ofMillis(4_999));
    assertFalse(p.terminated());
    assertFalse(s.terminated());
    f.time.advance(Duration.ofMillis(1));
    assertTrue(p.terminated());
    assertTrue(s.terminated());
  }

  @Test
  void aFailingStreamSendClosesThePairWithSendFailed() {
    InMemoryConnection p = primary("p1");
    InMemoryConnection s = paired(p);
    RunHandle run = f.start("s", p);
    s.mode(Mode.FAIL);
    assertDoesNotThrow(() -> publish(run, 0, 3));
    assertEquals(CloseReason.SEND_FAILED, p.closeReason());
    assertEquals(CloseReason.SEND_FAILED, s.closeReason());
  }
}
