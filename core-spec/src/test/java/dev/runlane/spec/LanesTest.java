package dev.runlane.spec;

import static dev.runlane.spec.DeliveryFixture.*;
import static dev.runlane.testkit.RunlaneAssertions.assertSeqRange;
import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.Approval;
import dev.runlane.RunHandle;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryConnection.Mode;
import dev.runlane.testkit.WireMessage;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Promise 7, "control is never stuck behind stream": on one socket, control frames (acks, errors,
 * approvals, notices, ping replies) overtake a queued backlog of stream frames, while the stream
 * lane itself stays strictly in order.
 */
class LanesTest {
  static final int BACKLOG = 10_000;
  static final int IN_FLIGHT = 4;
  final DeliveryFixture f =
      new DeliveryFixture(b -> b.maxQueuedFrames(2 * BACKLOG).maxInFlight(IN_FLIGHT).replayCapacity(2 * BACKLOG));

  @AfterEach
  void tearDown() {
    f.close();
  }

  @ParameterizedTest(name = "{0} overtakes a 10,000-frame stream backlog")
  @ValueSource(strings = {"approval", "sessionNotice", "globalNotice", "protocolError", "subscribeAck", "pingReply"})
  void controlFramesOvertakeAStreamBacklog(String control) {
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    InMemoryConnection c = f.subscriber("alice", "s"); // has welcome, ack, seq 1
    int before = c.messages().size();
    c.mode(Mode.MANUAL);
    publish(run, 0, BACKLOG); // seqs 2..10001: 4 in flight, the rest queued
    assertEquals(IN_FLIGHT, c.heldSends());

    Predicate<WireMessage> isControl;
    switch (control) {
      case "approval":
        assertNotNull(run.requestApproval("rm -rf", null, (a, r, d, p) -> {}));
        isControl = m -> m.type().equals("approval");
        break;
      case "sessionNotice":
        assertTrue(f.rl.noticeSession("s", "model_changed", "gpt") >= 1);
        isControl = m -> m.type().equals("notice") && "model_changed".equals(m.get("kind"));
        break;
      case "globalNotice":
        f.rl.noticeAll("reload", null);
        isControl = m -> m.type().equals("notice") && "reload".equals(m.get("kind"));
        break;
      case "protocolError":
        c.sendText("bogus");
        isControl = m -> m.type().equals("error");
        break;
      case "subscribeAck":
        c.sendText("sub other 0");
        isControl = m -> m.type().equals("subscribed") && "other".equals(m.get("session"));
        break;
      case "pingReply":
        c.sendText("ping");
        isControl = m -> m.type().equals("heartbeat");
        break;
      default:
        throw new IllegalArgumentException(control);
    }

    // complete one send at a time: the in-flight frames arrive, then the control frame at once
    for (int i = 0; i < IN_FLIGHT; i++) {
      assertTrue(c.completeNext());
    }
    assertTrue(c.completeNext(), "the control frame was sent right after the first completion");
    List<WireMessage> got = c.messages().subList(before, c.messages().size());
    assertEquals(IN_FLIGHT + 1, got.size());
    for (int i = 0; i < IN_FLIGHT; i++) {
      assertEquals(2L + i, got.get(i).num("seq"), "in-flight frames first, in order");
    }
    assertTrue(isControl.test(got.get(IN_FLIGHT)), "expected the " + control + " frame, got " + got.get(IN_FLIGHT));
    assertEquals(IN_FLIGHT, c.heldSends());
    assertEquals(
        BACKLOG - 2 * IN_FLIGHT,
        f.rl.connectionStats(c.id()).orElseThrow().queuedFrames(),
        "the backlog is still queued behind");

    // the stream lane continues strictly in order, nothing lost
    c.completeAll();
    assertSeqRange(c, run.runId(), 1, 1 + BACKLOG);
    assertNull(c.closeReason());
  }

  @Test
  void controlGoesAheadOfTheBacklogButStreamFramesKeepTheirOrder() {
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    InMemoryConnection c = f.subscriber("alice", "s");
    c.mode(Mode.MANUAL);
    publish(run, 0, 100);
    Approval a = run.requestApproval("tool", null, (ap, r, d, p) -> {});
    assertNotNull(a);
    publish(run, 100, 100);
    run.complete(null); // the terminal event is stream: it stays behind the backlog
    c.completeAll();
    List<String> types = types(c);
    int approval = types.indexOf("approval");
    int resolved = types.indexOf("approval_resolved");
    int firstEvent = types.indexOf("event");
    assertEquals(2, firstEvent, "welcome, ack, then seq 1");
    assertEquals(3 + IN_FLIGHT, approval, "right after the in-flight frames: " + types);
    assertEquals(approval + 1, resolved, "the run-ended resolution (control) also overtook the rest");
    assertSeqRange(c, run.runId(), 1, 202);
    WireMessage last = c.messages().get(c.messages().size() - 1);
    assertEquals("run.completed", last.get("kind"), "the terminal event is last on the stream lane");
  }

  @Test
  void withoutTheCapabilityEverythingTravelsOnOneSocket() {
    InMemoryConnection c = f.tx.open("alice");
    WireMessage welcome = c.last("welcome");
    assertNotNull(welcome);
    assertEquals("false", welcome.get("stream"));
    RunHandle run = f.start("s", c);
    run.publish("delta", "x");
    run.requestApproval("p", null, (ap, r, d, p) -> {});
    run.complete(null);
    boolean sawStream = false;
    boolean sawControl = false;
    for (Frame fr : c.frames()) {
      sawStream |= fr.lane() == Lane.STREAM;
      sawControl |= fr.lane() == Lane.CONTROL;
    }
    assertTrue(sawStream && sawControl, "both lanes share the one connection");
    assertSeqRange(c, run.runId(), 1, 3);
  }

  @Test
  void lanesAreMarkedOnEveryFrame() {
    InMemoryConnection c = f.tx.open("alice");
    RunHandle run = f.start("s", c);
    run.publish("delta", "x");
    run.publishStatus("typing", true);
    run.requestApproval("p", null, (ap, r, d, p) -> {});
    f.rl.noticeSession("s", "n", null);
    c.sendText("bogus");
    run.complete(null);
    for (Frame fr : c.frames()) {
      WireMessage m = dev.runlane.testkit.TextCodec.parse(fr.payload());
      Lane want = m.type().equals("event") || m.type().equals("status") ? Lane.STREAM : Lane.CONTROL;
      assertEquals(want, fr.lane(), m.toString());
    }
  }
}
