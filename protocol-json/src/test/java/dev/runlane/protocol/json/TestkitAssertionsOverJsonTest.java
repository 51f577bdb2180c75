package dev.runlane.protocol.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.AttachMode;
import dev.runlane.FailureReason;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.SubscribeTarget;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.RunlaneAssertions;
import dev.runlane.testkit.WireMessage;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The testkit's messages and assertions read the JSON codec's frames as they read TextCodec's. */
class TestkitAssertionsOverJsonTest {
  final Runlane rl =
      Runlane.builder()
          .codec(new JsonWireCodec())
          .timeSource(new ManualTimeSource())
          .idleTimeout(Duration.ZERO)
          .heartbeatInterval(Duration.ZERO)
          .build();
  final InMemoryTransport tx = new InMemoryTransport(rl);

  @AfterEach
  void close() {
    rl.close();
  }

  @Test
  void seqsAcksAndTerminalsReadFromJsonFrames() {
    InMemoryConnection a = tx.open("alice");
    RunHandle run = rl.startRun(StartRequest.of("s", "alice").fromConnection(a.id())).orElseThrow();
    run.publish("delta", "hi");
    run.fail(FailureReason.RUNTIME_THREW, 1, "model API 500");
    InMemoryConnection b = tx.open("alice");
    rl.subscribe(b.id(), SubscribeTarget.session("s", 1, run.epoch()), AttachMode.ADDITIVE).orElseThrow();

    assertEquals("welcome", a.messages().get(0).type());
    RunlaneAssertions.assertSeqs(a, run.runId(), 1, 2, 3);
    RunlaneAssertions.assertOnlyRuns(a, run.runId());
    RunlaneAssertions.assertContiguousPerRun(a);
    List<WireMessage> t = a.messages(m -> m.isEventOf(run.runId()) && m.isTerminal());
    assertEquals(1, t.size());
    assertEquals("run.failed", t.get(0).get("kind"));
    assertEquals("RUNTIME_THREW", t.get(0).get("reason"));
    assertEquals("model API 500", t.get(0).get("message"));

    WireMessage ack = b.last("subscribed");
    assertEquals("FINISHED", ack.get("status")); // the run had ended: its tail is replayed
    assertEquals(2, ack.num("from"));
    RunlaneAssertions.assertSeqRange(b, run.runId(), 2, 3);
    assertTrue(b.messages("event").stream().allMatch(m -> m.get("session").equals("s")));
  }
}
