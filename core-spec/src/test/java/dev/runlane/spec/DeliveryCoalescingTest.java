package dev.runlane.spec;

import static dev.runlane.spec.DeliveryFixture.*;
import static dev.runlane.testkit.RunlaneAssertions.assertSeqRange;
import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.RunHandle;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryConnection.Mode;
import dev.runlane.testkit.WireMessage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Coalescing of optional status frames ({@link RunHandle#publishStatus}): while queued, a newer
 * status with the same run and key replaces the older one in its queue position. Deltas, terminal
 * events and approvals are never coalesced or dropped, and statuses are never recorded for resume.
 */
class DeliveryCoalescingTest {
  final DeliveryFixture f = new DeliveryFixture(b -> b.maxInFlight(1).maxQueuedFrames(1_000));

  @AfterEach
  void tearDown() {
    f.close();
  }

  /** What {@code c} received after its first {@code skip} messages, as "type:detail" strings. */
  static List<String> script(InMemoryConnection c, int skip) {
    List<String> out = new ArrayList<>();
    List<WireMessage> all = c.messages();
    for (WireMessage m : all.subList(skip, all.size())) {
      switch (m.type()) {
        case "event":
          out.add("event:" + m.get("seq"));
          break;
        case "status":
          out.add("status:" + m.get("key") + "=" + m.get("data"));
          break;
        default:
          out.add(m.type());
      }
    }
    return out;
  }

  @Test
  void aQueuedStatusIsReplacedInPlaceByTheLatest() {
    InMemoryConnection c = f.tx.open("alice");
    RunHandle run = f.start("s", c); // welcome, seq 1
    c.mode(Mode.MANUAL);
    run.publish("delta", "a"); // seq 2 in flight
    assertTrue(run.publishStatus("progress", 10));
    run.publish("delta", "b"); // seq 3
    assertTrue(run.publishStatus("progress", 20));
    assertTrue(run.publishStatus("tokens", 5));
    assertTrue(run.publishStatus("progress", 30));
    run.publish("delta", "c"); // seq 4
    assertEquals(4, f.rl.connectionStats(c.id()).orElseThrow().queuedFrames(), "progress, 3, tokens, 4");
    c.completeAll();
    assertEquals(
        List.of("event:2", "status:progress=30", "event:3", "status:tokens=5", "event:4"), script(c, 2));
  }

  @Test
  void aStatusAlreadySentIsNotReplacedTheNewOneQueuesAtTheEnd() {
    InMemoryConnection c = f.tx.open("alice");
    RunHandle run = f.start("s", c);
    c.mode(Mode.MANUAL);
    run.publishStatus("progress", 1); // in flight at once
    run.publish("delta", "a");
    run.publishStatus("progress", 2);
    c.completeAll();
    assertEquals(List.of("status:progress=1", "event:2", "status:progress=2"), script(c, 2));
  }

  @Test
  void statusesOfDifferentRunsNeverReplaceEachOther() {
    InMemoryConnection c = f.tx.open("alice");
    RunHandle r1 = f.start("s1", c);
    RunHandle r2 = f.start("s2", c);
    c.mode(Mode.MANUAL);
    r1.publish("delta", "x"); // in flight
    r1.publishStatus("progress", "r1");
    r2.publishStatus("progress", "r2");
    r1.publishStatus("progress", "r1b");
    c.completeAll();
    List<String> got = new ArrayList<>();
    for (WireMessage m : c.messages("status")) {
      got.add(m.get("run").equals(r1.runId()) ? "r1:" + m.get("data") : "r2:" + m.get("data"));
    }
    assertEquals(List.of("r1:r1b", "r2:r2"), got);
  }

  @Test
  void deltasTerminalsAndApprovalsAreNeverCoalescedOrDropped() {
    InMemoryConnection c = f.tx.open("alice");
    RunHandle run = f.start("s", c);
    c.mode(Mode.MANUAL);
    for (int i = 0; i < 50; i++) {
      run.publish("delta", "same"); // identical deltas: all of them arrive
      run.publishStatus("progress", i);
    }
    assertNotNull(run.requestApproval("same", null, (a, r, d, p) -> {}));
    assertNotNull(run.requestApproval("same", null, (a, r, d, p) -> {}));
    run.complete(null);
    c.completeAll();
    assertSeqRange(c, run.runId(), 1, 52);
    assertEquals(2, c.messages("approval").size());
    assertEquals(2, c.messages("approval_resolved").size());
    List<WireMessage> statuses = c.messages("status");
    assertEquals(1, statuses.size(), "fifty statuses queued behind one send collapse into one");
    assertEquals("49", statuses.get(statuses.size() - 1).get("data"), "the latest status always arrives");
  }

  @Test
  void statusesAreNeverRecordedForResumeNorTakeASeq() {
    InMemoryConnection c = f.tx.open("alice");
    RunHandle run = f.start("s", c);
    run.publishStatus("progress", 1);
    run.publish("delta", "a");
    run.publishStatus("progress", 2);
    assertEquals(2, run.headSeq());
    InMemoryConnection late = f.tx.open("alice");
    late.sendText("sub s 0");
    assertEquals(List.of("subscribed", "event:1", "event:2"), script(late, 1));
    run.complete(null);
    assertFalse(run.publishStatus("progress", 3), "dropped after the end");
    assertTrue(late.messages("status").isEmpty());
  }

  @Test
  void aReplacementTakesTheNewFramesBytes() {
    InMemoryConnection c = f.tx.open("alice");
    RunHandle run = f.start("s", c);
    c.mode(Mode.MANUAL);
    run.publish("delta", "a");
    run.publishStatus("p", "x");
    long small = f.rl.connectionStats(c.id()).orElseThrow().queuedBytes();
    run.publishStatus("p", "x".repeat(101));
    long big = f.rl.connectionStats(c.id()).orElseThrow().queuedBytes();
    assertEquals(100, big - small);
    c.completeAll();
    assertEquals(0, f.rl.connectionStats(c.id()).orElseThrow().queuedBytes());
  }
}
