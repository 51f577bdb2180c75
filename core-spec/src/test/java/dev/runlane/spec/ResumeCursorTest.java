package dev.runlane.spec;

import static dev.runlane.testkit.RunlaneAssertions.assertSeqs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.AttachMode;
import dev.runlane.InvariantCheck;
import dev.runlane.Result;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.TextCodec;
import dev.runlane.testkit.WireMessage;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A connection's cursor per run: what it was handed stays handed across unsubscribe/resubscribe
 * and the run's end (no duplicates), and a gap below a replay-less attach is announced.
 */
class ResumeCursorTest {
  final Runlane rl =
      InvariantCheck.track(Runlane.builder()
          .codec(new TextCodec())
          .timeSource(new ManualTimeSource())
          .idleTimeout(Duration.ZERO)
          .build());
  final InMemoryTransport tx = new InMemoryTransport(rl);

  @AfterEach
  void close() {
    rl.close();
  }

  RunHandle start(String session, InMemoryConnection c) {
    return rl.startRun(StartRequest.of(session, c.principal()).fromConnection(c.id())).orElseThrow();
  }

  @Test
  void unsubscribeThenResubscribeWithAStaleLastSeqDuplicatesNothing() {
    InMemoryConnection a = tx.open("alice");
    InMemoryConnection tab = tx.open("alice");
    RunHandle r = start("s", a);
    tab.mode(InMemoryConnection.Mode.MANUAL); // frames stay queued/in flight
    tab.sendText("sub s 0 " + r.epoch());
    r.publish("delta", 1); // 2
    r.publish("delta", 2); // 3
    tab.sendText("unsub s");
    r.publish("delta", 3); // 4: tab is no longer a recipient
    tab.sendText("sub s 1 " + r.epoch()); // stale lastSeq: 2 and 3 are already queued for it
    r.publish("delta", 4); // 5
    tab.mode(InMemoryConnection.Mode.AUTO);
    tab.completeAll();
    WireMessage ack = tab.messages("subscribed").get(1);
    assertEquals("EXACT", ack.get("status"));
    assertEquals("4", ack.get("from"), "replay starts after what was already handed");
    assertSeqs(tab, r.runId(), 1, 2, 3, 4, 5);
  }

  @Test
  void resubscribingToTheFinishedRunOnTheSameConnectionReplaysNothingTwice() {
    InMemoryConnection a = tx.open("alice");
    RunHandle r = start("s", a);
    r.publish("delta", 1);
    r.complete(null); // seq 3, handed to a
    a.sendText("sub s 0 " + r.epoch());
    assertEquals("FINISHED", a.last("subscribed").get("status"));
    assertSeqs(a, r.runId(), 1, 2, 3);
  }

  @Test
  void aGapBelowAReplaylessAttachIsAnnouncedNotSilent() {
    InMemoryConnection owner = tx.open("alice");
    InMemoryConnection late = tx.open("alice");
    RunHandle r = start("s", owner);
    r.publish("delta", 1); // 2
    r.publish("delta", 2); // 3
    assertTrue(rl.attach(r.runId(), late.id(), AttachMode.ADDITIVE).isOk());
    r.publish("delta", 3); // 4, the first seq late is handed
    late.sendText("sub s 1 " + r.epoch()); // it asks for 2..: 2 and 3 were never handed to it
    WireMessage ack = late.last("subscribed");
    assertEquals("TRUNCATED", ack.get("status"));
    assertEquals("true", ack.get("truncated"));
    r.publish("delta", 4); // 5
    assertSeqs(late, r.runId(), 4, 5);
    // once announced, a later subscribe from a position it does have is exact again
    late.sendText("sub s 5 " + r.epoch());
    assertEquals("EXACT", late.last("subscribed").get("status"));
  }

  @Test
  void attachFromTheStartHasNoGap() {
    InMemoryConnection owner = tx.open("alice");
    InMemoryConnection other = tx.open("alice");
    RunHandle r = start("s", owner);
    rl.detach(r.runId(), owner.id());
    assertTrue(rl.attach(r.runId(), owner.id(), AttachMode.ADDITIVE).isOk());
    owner.sendText("sub s 0 " + r.epoch()); // handed 1 before the detach: nothing is missing
    assertEquals("EXACT", owner.last("subscribed").get("status"));
    assertSeqs(owner, r.runId(), 1);
    assertEquals(0, other.messages("subscribed").size());
  }

  @Test
  void closedConnectionsLeaveNoCursorBehind() {
    InMemoryConnection a = tx.open("alice");
    InMemoryConnection tab = tx.open("alice");
    RunHandle r = start("s", a);
    tab.sendText("sub s 0 " + r.epoch());
    tab.sendText("unsub s");
    tab.clientClose(dev.runlane.transport.CloseReason.NORMAL);
    // a new connection that happens to reuse nothing of the old gets the full replay
    InMemoryConnection fresh = tx.open("alice");
    fresh.sendText("sub s 0 " + r.epoch());
    assertSeqs(fresh, r.runId(), 1);
    assertEquals(2, rl.connectionCount());
  }
}
