package dev.runlane.spec;

import static dev.runlane.spec.DeliveryFixture.*;
import static dev.runlane.testkit.RunlaneAssertions.assertSeqRange;
import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.RunHandle;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryConnection.Mode;
import dev.runlane.testkit.WireMessage;
import dev.runlane.transport.CloseReason;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Promise 6, "slow consumers hurt only themselves": a stalled recipient is closed with {@link
 * CloseReason#SLOW_CONSUMER} (by overflow or by stall timeout), everyone else gets every frame in
 * order, the publisher is unaffected, and the closed client resumes from its last seq losing
 * nothing. The close is graceful first and forced after the close grace.
 */
class SlowConsumerTest {
  static final Duration TICK = Duration.ofSeconds(1);
  DeliveryFixture f;

  @AfterEach
  void tearDown() {
    if (f != null) {
      f.close();
    }
  }

  @Test
  void overflowClosesOnlyTheStalledRecipientAndHealthyOnesGetEverythingInOrder() {
    f = new DeliveryFixture(b -> b.maxQueuedFrames(50).maxInFlight(4));
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    List<InMemoryConnection> healthy = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      healthy.add(f.subscriber("alice", "s"));
    }
    InMemoryConnection slow = f.subscriber("alice", "s");
    publish(run, 0, 10); // everyone, the slow one included, gets 1..11
    slow.mode(Mode.MANUAL);
    publish(run, 10, 20); // the slow one has 4 in flight and 16 queued
    for (int i = 0; i < 3; i++) {
      assertTrue(slow.completeNext());
    }
    assertNull(slow.closeReason(), "within its bounds a slow connection is left alone");
    publish(run, 30, 200);
    run.complete("done");

    assertEquals(CloseReason.SLOW_CONSUMER, slow.closeReason());
    assertEquals(List.of(CloseReason.SLOW_CONSUMER), slow.closeRequests(), "closed once");
    assertFalse(slow.isOpen());
    long head = run.headSeq();
    assertEquals(232, head);
    assertSeqRange(owner, run.runId(), 1, head);
    for (InMemoryConnection h : healthy) {
      assertSeqRange(h, run.runId(), 1, head);
      assertNull(h.closeReason(), h.id() + " was closed");
    }
    long got = assertPrefix(slow, run);
    assertEquals(14, got, "1..11 while AUTO, then the three completed sends");
    assertFalse(f.rl.recipientsOf(run.runId()).contains(slow.id()));
    assertEquals(List.of(CloseReason.SLOW_CONSUMER), f.metrics.closesOf(slow.id()));

    // the client resumes from what it did receive: exactly the rest, no duplicate
    InMemoryConnection again = f.resume(slow, run);
    WireMessage ack = again.last("subscribed");
    assertNotNull(ack);
    assertEquals("FINISHED", ack.get("status"));
    assertEquals("false", ack.get("truncated"));
    assertStitched(slow, again, run);
    assertNull(again.closeReason(), "the resumed connection must not be closed again");
  }

  @Test
  void resumeAfterASlowConsumerCloseCatchesUpWhileTheRunGoesOn() {
    f = new DeliveryFixture(b -> b.maxQueuedFrames(50).maxInFlight(4).replayCapacity(4096));
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    InMemoryConnection slow = f.subscriber("alice", "s");
    slow.mode(Mode.MANUAL);
    publish(run, 0, 500);
    assertEquals(CloseReason.SLOW_CONSUMER, slow.closeReason());
    assertPrefix(slow, run);

    InMemoryConnection again = f.resume(slow, run);
    assertEquals("EXACT", again.last("subscribed").get("status"));
    publish(run, 500, 10); // live frames follow the replay on the same connection
    run.complete(null);
    assertStitched(slow, again, run);
    assertNull(again.closeReason());
    assertSeqRange(owner, run.runId(), 1, run.headSeq());
  }

  @Test
  void byteOverflowAlsoClosesWithSlowConsumer() {
    f = new DeliveryFixture(b -> b.maxQueuedBytes(4_000).maxInFlight(2));
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    InMemoryConnection slow = f.subscriber("alice", "s");
    slow.mode(Mode.MANUAL);
    String big = "x".repeat(500);
    for (int i = 0; i < 20; i++) {
      assertTrue(run.publish("delta", big).isOk());
    }
    assertEquals(CloseReason.SLOW_CONSUMER, slow.closeReason());
    assertSeqRange(owner, run.runId(), 1, 21);
    InMemoryConnection again = f.resume(slow, run);
    assertStitched(slow, again, run);
    assertNull(again.closeReason(), "a resume's replay is bounded by the ring, not the outbox");
  }

  @Test
  void stallTimeoutClosesASlowConsumerThatNeverOverflows() {
    f = new DeliveryFixture(b -> b.sendStallTimeout(Duration.ofSeconds(5)).housekeepingInterval(TICK));
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    InMemoryConnection healthy = f.subscriber("alice", "s");
    InMemoryConnection stalled = f.subscriber("alice", "s");
    stalled.mode(Mode.MANUAL);
    publish(run, 0, 10);
    f.time.advance(Duration.ofMillis(4_999));
    assertNull(stalled.closeReason(), "not before the stall timeout");
    f.time.advance(Duration.ofSeconds(3));
    assertEquals(CloseReason.SLOW_CONSUMER, stalled.closeReason());
    assertEquals(List.of(CloseReason.SLOW_CONSUMER), f.metrics.closesOf(stalled.id()));
    assertNull(healthy.closeReason());
    assertNull(owner.closeReason());
    publish(run, 10, 5);
    assertSeqRange(healthy, run.runId(), 1, 16);

    InMemoryConnection again = f.resume(stalled, run);
    assertEquals("EXACT", again.last("subscribed").get("status"));
    assertStitched(stalled, again, run);
  }

  @Test
  void aSlowConnectionThatKeepsMakingProgressIsNotStalled() {
    f = new DeliveryFixture(b -> b.sendStallTimeout(Duration.ofSeconds(3)).housekeepingInterval(TICK).maxInFlight(1));
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    InMemoryConnection slow = f.subscriber("alice", "s");
    slow.mode(Mode.MANUAL);
    publish(run, 0, 40);
    for (int i = 0; i < 20; i++) {
      assertTrue(slow.completeNext());
      f.time.advance(TICK.multipliedBy(2)); // one completion every two seconds, stall limit 3 s
    }
    assertNull(slow.closeReason());
    slow.completeAll();
    assertSeqRange(slow, run.runId(), 1, 41);
  }

  @Test
  void aConnectionWithNothingInFlightIsNeverStalled() {
    f = new DeliveryFixture(b -> b.sendStallTimeout(Duration.ofSeconds(2)).housekeepingInterval(TICK));
    InMemoryConnection c = f.tx.open("alice");
    c.mode(Mode.MANUAL);
    f.time.advance(Duration.ofMinutes(5));
    assertNull(c.closeReason());
    assertTrue(c.isOpen());
  }

  @Test
  void thePublisherIsNeverBlockedNorToldAboutASlowConsumer() {
    f = new DeliveryFixture(b -> b.maxQueuedFrames(10).maxInFlight(1));
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    InMemoryConnection slow = f.subscriber("alice", "s");
    slow.mode(Mode.MANUAL).closeHandshakeHangs(true);
    for (int i = 0; i < 1_000; i++) {
      assertDoesNotThrow(() -> run.publish("delta", "x"));
    }
    assertTrue(run.complete(null).isOk());
    assertEquals(CloseReason.SLOW_CONSUMER, slow.closeReason());
    assertSeqRange(owner, run.runId(), 1, 1_002);
  }

  @Test
  void closeThenTerminateAfterTheGraceWhenTheCloseHandshakeHangs() {
    f = new DeliveryFixture(b -> b.maxQueuedFrames(5).maxInFlight(1).closeGrace(Duration.ofSeconds(5)));
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    InMemoryConnection slow = f.subscriber("alice", "s");
    slow.mode(Mode.MANUAL).closeHandshakeHangs(true);
    publish(run, 0, 20);
    assertEquals(CloseReason.SLOW_CONSUMER, slow.closeReason(), "close first");
    assertFalse(slow.terminated());
    assertTrue(f.rl.connectionStats(slow.id()).isEmpty(), "it left every registry at once");
    f.time.advance(Duration.ofMillis(4_999));
    assertFalse(slow.terminated(), "not before the close grace");
    f.time.advance(Duration.ofMillis(1));
    assertTrue(slow.terminated(), "terminated once the grace is over");
    assertFalse(slow.isOpen());
    assertEquals(List.of(CloseReason.SLOW_CONSUMER), f.metrics.closesOf(slow.id()), "one close counted");
    assertSeqRange(owner, run.runId(), 1, 21);
  }

  @Test
  void noTerminateWhenTheHostReportsTheCloseWithinTheGrace() {
    f = new DeliveryFixture(b -> b.maxQueuedFrames(5).maxInFlight(1).closeGrace(Duration.ofSeconds(5)));
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    InMemoryConnection slow = f.subscriber("alice", "s");
    slow.mode(Mode.MANUAL).closeHandshakeHangs(true);
    publish(run, 0, 20);
    assertEquals(CloseReason.SLOW_CONSUMER, slow.closeReason());
    f.time.advance(Duration.ofSeconds(2));
    slow.clientClose(CloseReason.SLOW_CONSUMER); // the peer answered the close
    f.time.advance(Duration.ofSeconds(30));
    assertFalse(slow.terminated());
  }

  @Test
  void noTerminateWhenTheCloseCompletesAtOnce() {
    f = new DeliveryFixture(b -> b.maxQueuedFrames(5).maxInFlight(1).closeGrace(Duration.ofSeconds(5)));
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    InMemoryConnection slow = f.subscriber("alice", "s");
    slow.mode(Mode.MANUAL);
    publish(run, 0, 20);
    assertEquals(CloseReason.SLOW_CONSUMER, slow.closeReason());
    f.time.advance(Duration.ofSeconds(30));
    assertFalse(slow.terminated());
  }
}
