package dev.runlane.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.AttachMode;
import dev.runlane.FailureReason;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.SubscribeTarget;
import dev.runlane.transport.Frame;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What a harness needs from the testkit beyond recording frames (issue 12, item 14). */
class HarnessHooksTest {
  final Runlane rl =
      Runlane.builder()
          .codec(new TextCodec())
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
  void theFrameHookSeesEachFrameAsItArrivesAlsoWhenAHeldSendCompletes() {
    List<Frame> seen = new CopyOnWriteArrayList<>();
    InMemoryConnection a =
        tx.connect(new InMemoryConnection("a", "alice", Set.of()).onFrame(seen::add));
    assertEquals(1, seen.size(), "the welcome");
    RunHandle run = rl.startRun(StartRequest.of("s", "alice").fromConnection(a.id())).orElseThrow();
    a.mode(InMemoryConnection.Mode.MANUAL);
    run.publish("delta", 1);
    assertEquals(2, seen.size(), "a held send is not received yet");
    a.completeAll();
    assertEquals(a.frames(), seen);
  }

  @Test
  void aConnectionsModeAppliesToItsWelcomeWhenSetBeforeItConnects() {
    InMemoryConnection a =
        tx.connect(new InMemoryConnection("a", "alice", Set.of()).mode(InMemoryConnection.Mode.MANUAL));
    assertEquals(1, a.heldSends(), "the welcome is held");
    assertTrue(a.frames().isEmpty());
    a.completeNext();
    assertEquals("welcome", a.messages().get(0).type());
  }

  @Test
  void terminalEventsCarryTheResultTheFailureMessageAndWhoAborted() {
    InMemoryConnection a = tx.open("alice");
    RunHandle done = rl.startRun(StartRequest.of("s1", "alice").fromConnection(a.id())).orElseThrow();
    done.complete("42 tokens");
    RunHandle failed = rl.startRun(StartRequest.of("s2", "alice").fromConnection(a.id())).orElseThrow();
    failed.fail(FailureReason.RUNTIME_THREW, 1, "model API 500");
    RunHandle aborted = rl.startRun(StartRequest.of("s3", "alice").fromConnection(a.id())).orElseThrow();
    rl.abort(aborted.runId(), "alice").orElseThrow();

    assertEquals("42 tokens", terminal(a, done).get("result"));
    assertEquals("model API 500", terminal(a, failed).get("message"));
    assertEquals("alice", terminal(a, aborted).get("abortedBy"));
    assertNull(terminal(a, done).get("abortedBy"));
  }

  private static WireMessage terminal(InMemoryConnection c, RunHandle run) {
    List<WireMessage> t = c.messages(m -> m.isEventOf(run.runId()) && m.isTerminal());
    assertEquals(1, t.size());
    return t.get(0);
  }

  @Test
  void jsonFramesReadIntoTheSameVocabulary() {
    WireMessage e =
        WireMessage.fromJson(
            "{\"kind\":\"run_event\",\"runId\":\"r1\",\"sessionId\":\"s\",\"seq\":3,\"epoch\":\"e\","
                + "\"type\":\"run.failed\",\"data\":{\"runId\":\"r1\",\"state\":\"FAILED\",\"failureReason\":\"RUNTIME_THREW\","
                + "\"exitCode\":1,\"message\":\"boom \\\"quoted\\\"\",\"result\":null,\"terminalSeq\":3,\"abortedBy\":null}}");
    assertEquals("event", e.type());
    assertEquals("r1", e.get("run"));
    assertEquals(3, e.num("seq"));
    assertEquals("run.failed", e.get("kind"));
    assertTrue(e.isTerminal());
    assertEquals("RUNTIME_THREW", e.get("reason"));
    assertEquals("1", e.get("exit"));
    assertEquals("boom \"quoted\"", e.get("message"));
    assertNull(e.get("result"));

    WireMessage ack =
        WireMessage.fromJson(
            "{\"kind\":\"subscribed\",\"sessionId\":\"s\",\"runId\":null,\"status\":\"EXACT\",\"headSeq\":5,"
                + "\"oldestSeq\":1,\"replayFrom\":3,\"replayTo\":5,\"pendingApprovals\":[{\"approvalId\":\"a1\"}]}");
    assertEquals("subscribed", ack.type());
    assertEquals(5, ack.num("head"));
    assertEquals(3, ack.num("from"));
    assertNull(ack.get("run"));
    assertEquals("[{\"approvalId\":\"a1\"}]", ack.get("pendingApprovals"));
    assertThrows(IllegalArgumentException.class, () -> WireMessage.fromJson("{\"seq\":1}"));
    assertThrows(IllegalArgumentException.class, () -> WireMessage.fromJson("{\"kind\":\"x\""));
  }

  @Test
  void awaitDrainedWaitsForAnotherThreadsSends() throws Exception {
    InMemoryConnection owner = tx.open("alice");
    RunHandle run = rl.startRun(StartRequest.of("s", "alice").fromConnection(owner.id())).orElseThrow();
    InMemoryConnection slow = tx.open("alice");
    rl.subscribe(slow.id(), SubscribeTarget.session("s", 0, null), AttachMode.ADDITIVE).orElseThrow();
    slow.mode(InMemoryConnection.Mode.MANUAL);
    for (int i = 0; i < 100; i++) {
      run.publish("delta", i);
    }
    AssertionError notYet =
        assertThrows(
            AssertionError.class, () -> RunlaneAssertions.awaitDrained(rl, slow.id(), Duration.ofMillis(20)));
    assertTrue(notYet.getMessage().contains("was not drained"), notYet.getMessage());
    // another thread completes the sends; each completion lets the outbox hand over the next
    Thread completer =
        new Thread(
            () -> {
              for (int i = 0; i < 1_000_000 && rl.connectionStats(slow.id()).isPresent(); i++) {
                if (!slow.completeNext()) {
                  Thread.onSpinWait();
                }
                if (slow.heldSends() == 0
                    && rl.connectionStats(slow.id()).map(st -> st.queuedFrames() == 0).orElse(true)) {
                  return;
                }
              }
            },
            "completer");
    completer.start();
    RunlaneAssertions.awaitDrained(rl, slow.id(), Duration.ofSeconds(30));
    completer.join(30_000);
    RunlaneAssertions.assertSeqRange(slow, run.runId(), 1, run.headSeq());
  }
}
