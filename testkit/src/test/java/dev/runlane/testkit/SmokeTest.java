package dev.runlane.testkit;

import dev.runlane.RunHandle;
import dev.runlane.Result;
import static dev.runlane.testkit.RunlaneAssertions.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.*;
import dev.runlane.transport.CloseReason;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SmokeTest {
  ManualTimeSource time = new ManualTimeSource();
  Runlane rl = Runlane.builder().codec(new TextCodec()).timeSource(time).build();
  InMemoryTransport tx = new InMemoryTransport(rl);

  @AfterEach
  void close() {
    rl.close();
  }

  RunHandle start(String session, String principal, InMemoryConnection c) {
    Result<RunHandle> r = rl.startRun(StartRequest.of(session, principal).fromConnection(c.id()));
    return r.orElseThrow();
  }

  @Test
  void isolationAndOrder() {
    InMemoryConnection a = tx.open("alice");
    InMemoryConnection b = tx.open("bob");
    RunHandle ra = start("sa", "alice", a);
    RunHandle rb = start("sb", "bob", b);
    ra.publish("delta", "x");
    rb.publish("delta", "y");
    ra.complete(null);
    assertSeqs(a, ra.runId(), 1, 2, 3);
    assertOnlyRuns(a, ra.runId());
    assertOnlyRuns(b, rb.runId());
    assertSeqs(b, rb.runId(), 1, 2);
    assertFalse(ra.complete(null).isOk());
    assertEquals(dev.runlane.ErrorCode.RUN_ENDED, ra.publish("delta", "z").refusalCode().orElseThrow());
  }

  @Test
  void resumeExactAndTruncated() {
    rl.close();
    rl = Runlane.builder().codec(new TextCodec()).timeSource(time).replayCapacity(4).build();
    tx = new InMemoryTransport(rl);
    InMemoryConnection a = tx.open("alice");
    RunHandle r = start("s", "alice", a);
    for (int i = 0; i < 5; i++) r.publish("delta", i);
    // head 6, ring holds 3..6
    InMemoryConnection a2 = tx.open("alice");
    a2.sendText("sub s 2 " + r.epoch());
    WireMessage ack = a2.last("subscribed");
    assertEquals("EXACT", ack.get("status"));
    assertSeqRange(a2, r.runId(), 3, 6);
    InMemoryConnection a3 = tx.open("alice");
    a3.sendText("sub s 1 " + r.epoch());
    assertEquals("TRUNCATED", a3.last("subscribed").get("status"));
    assertSeqRange(a3, r.runId(), 3, 6);
    r.publish("delta", "live");
    assertSeqRange(a3, r.runId(), 3, 7);
    assertSeqRange(a2, r.runId(), 3, 7);
  }

  @Test
  void slowConsumerClosedOthersContinue() {
    rl.close();
    rl = Runlane.builder().codec(new TextCodec()).timeSource(time).maxQueuedFrames(10).maxInFlight(2).build();
    tx = new InMemoryTransport(rl);
    InMemoryConnection a = tx.open("alice");
    InMemoryConnection slow = tx.open("alice");
    RunHandle r = start("s", "alice", a);
    slow.sendText("sub s 0");
    slow.mode(InMemoryConnection.Mode.MANUAL);
    for (int i = 0; i < 50; i++) r.publish("delta", i);
    assertEquals(CloseReason.SLOW_CONSUMER, slow.closeReason());
    assertSeqRange(a, r.runId(), 1, 51);
    assertEquals(1, rl.recipientsOf(r.runId()).size());
  }

  @Test
  void badInputGetsErrorAndConnectionStays() {
    InMemoryConnection a = tx.open("alice");
    a.sendText("bogus");
    assertEquals("UNKNOWN_MESSAGE_TYPE", a.last("error").get("code"));
    a.sendText("ping");
    assertNotNull(a.last("heartbeat"));
    assertTrue(a.isOpen());
  }

  @Test
  void retentionEvictsOnlyThatInstance() {
    rl.close();
    rl = Runlane.builder().codec(new TextCodec()).timeSource(time).idleTimeout(Duration.ZERO).build();
    tx = new InMemoryTransport(rl);
    InMemoryConnection a = tx.open("alice");
    RunHandle r1 = start("s", "alice", a);
    r1.complete(null);
    time.advance(Duration.ofMinutes(4));
    RunHandle r2 = start("s", "alice", a);
    time.advance(Duration.ofMinutes(2)); // r1's retention passes
    assertTrue(rl.run(r1.runId()).isEmpty());
    assertSame(r2, rl.currentRun("s").orElseThrow());
    r2.publish("delta", 1);
    assertSeqs(a, r2.runId(), 1, 2);
  }
}
