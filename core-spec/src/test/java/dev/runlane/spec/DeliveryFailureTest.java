package dev.runlane.spec;

import static dev.runlane.spec.DeliveryFixture.*;
import static dev.runlane.testkit.RunlaneAssertions.assertSeqRange;
import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.RunHandle;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryConnection.Mode;
import dev.runlane.transport.CloseReason;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A send that throws or fails closes only its own connection with {@link CloseReason#SEND_FAILED};
 * the other recipients and the publisher carry on, and the closed client can resume.
 */
class DeliveryFailureTest {
  DeliveryFixture f = new DeliveryFixture(b -> b.closeGrace(Duration.ofSeconds(5)));

  @AfterEach
  void tearDown() {
    f.close();
  }

  @Test
  void throwingAndFailingSendsCloseOnlyTheirConnection() {
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    InMemoryConnection healthy = f.subscriber("alice", "s");
    InMemoryConnection throwing = f.subscriber("alice", "s");
    InMemoryConnection failing = f.subscriber("alice", "s");
    publish(run, 0, 5);
    int throwingSends = throwing.sendCalls();
    int failingSends = failing.sendCalls();
    throwing.mode(Mode.THROW);
    failing.mode(Mode.FAIL);

    assertDoesNotThrow(() -> publish(run, 5, 20), "the publisher never sees a transport's exception");
    assertTrue(run.complete("ok").isOk());

    assertEquals(CloseReason.SEND_FAILED, throwing.closeReason());
    assertEquals(CloseReason.SEND_FAILED, failing.closeReason());
    assertEquals(List.of(CloseReason.SEND_FAILED), throwing.closeRequests());
    assertEquals(List.of(CloseReason.SEND_FAILED), failing.closeRequests());
    assertEquals(List.of(CloseReason.SEND_FAILED), f.metrics.closesOf(throwing.id()));
    assertEquals(List.of(CloseReason.SEND_FAILED), f.metrics.closesOf(failing.id()));
    assertEquals(throwingSends + 1, throwing.sendCalls(), "no send after the one that threw");
    assertEquals(failingSends + 1, failing.sendCalls(), "no send after the one that failed");

    assertSeqRange(owner, run.runId(), 1, 27);
    assertSeqRange(healthy, run.runId(), 1, 27);
    assertNull(owner.closeReason());
    assertNull(healthy.closeReason());
    assertEquals(2, f.rl.connectionCount(), "only the two failed connections left");
    assertSeqRange(throwing, run.runId(), 1, 6);
    assertSeqRange(failing, run.runId(), 1, 6);

    assertStitched(throwing, f.resume(throwing, run), run);
    assertStitched(failing, f.resume(failing, run), run);
  }

  @Test
  void aLateFailureOfAHeldSendClosesOnlyThatConnection() {
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    InMemoryConnection healthy = f.subscriber("alice", "s");
    InMemoryConnection flaky = f.subscriber("alice", "s");
    flaky.mode(Mode.MANUAL);
    publish(run, 0, 10);
    assertTrue(flaky.completeNext());
    assertTrue(flaky.completeNext());
    assertTrue(flaky.failNext()); // the third in-flight send fails on the network's thread
    assertEquals(CloseReason.SEND_FAILED, flaky.closeReason());
    assertFalse(flaky.isOpen());
    assertEquals(0, flaky.heldSends(), "the other held sends were failed by the close");
    publish(run, 10, 5);
    assertSeqRange(healthy, run.runId(), 1, 16);
    assertSeqRange(flaky, run.runId(), 1, 3);
    assertFalse(f.rl.recipientsOf(run.runId()).contains(flaky.id()));
    assertTrue(f.rl.recipientsOf(run.runId()).containsAll(Set.of(owner.id(), healthy.id())));
    InMemoryConnection again = f.resume(flaky, run);
    assertEquals("EXACT", again.last("subscribed").get("status"));
    assertStitched(flaky, again, run);
  }

  @Test
  void aFailingSendWhileTheCloseHangsIsTerminatedAfterTheGrace() {
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    InMemoryConnection failing = f.subscriber("alice", "s");
    failing.mode(Mode.FAIL).closeHandshakeHangs(true);
    publish(run, 0, 3);
    assertEquals(CloseReason.SEND_FAILED, failing.closeReason());
    f.time.advance(Duration.ofMillis(4_999));
    assertFalse(failing.terminated());
    f.time.advance(Duration.ofMillis(1));
    assertTrue(failing.terminated());
    assertSeqRange(owner, run.runId(), 1, 4);
  }

  @Test
  void aThrowingSendDuringTheWelcomeClosesThatConnectionOnly() {
    InMemoryConnection owner = f.tx.open("alice");
    InMemoryConnection broken = new InMemoryConnection("broken", "alice", Set.of());
    broken.mode(Mode.THROW);
    assertDoesNotThrow(() -> broken.bind(f.rl.connect(broken)));
    assertEquals(CloseReason.SEND_FAILED, broken.closeReason());
    assertTrue(f.rl.connectionStats("broken").isEmpty());
    RunHandle run = f.start("s", owner);
    publish(run, 0, 2);
    assertSeqRange(owner, run.runId(), 1, 3);
  }

  @Test
  void sendsFailingBecauseTheClientLeftAwaitTheHostsCloseReport() {
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    InMemoryConnection leaving = f.subscriber("alice", "s");
    leaving.mode(Mode.MANUAL);
    publish(run, 0, 10); // sends held in flight
    leaving.clientClose(new CloseReason(1001, "tab closed")); // fails the held sends, then reports
    assertEquals(List.of(), leaving.closeRequests(), "Runlane does not close what the client closed");
    assertEquals(List.of(new CloseReason(1001, "tab closed")), f.metrics.closesOf(leaving.id()));
    f.time.advance(Duration.ofMinutes(1));
    assertFalse(leaving.terminated());
    assertEquals(1, f.rl.connectionCount());
  }

  @Test
  void aHostThatNeverReportsTheCloseIsCleanedUpAfterTheGrace() {
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    InMemoryConnection mute = new InMemoryConnection("mute", "alice", Set.of());
    f.rl.connect(mute); // never bound: its close is never reported (a host breaking rule T4.5)
    f.rl.subscribe(mute.id(), dev.runlane.SubscribeTarget.session("s", 0, null), dev.runlane.AttachMode.ADDITIVE);
    mute.mode(Mode.MANUAL);
    publish(run, 0, 5);
    mute.clientClose(new CloseReason(1006, "gone")); // the held sends fail; no close report follows
    assertTrue(f.rl.connectionStats(mute.id()).isPresent(), "waits for the host's report first");
    publish(run, 5, 5); // nothing more is sent to it meanwhile
    int sends = mute.sendCalls();
    f.time.advance(Duration.ofSeconds(5));
    assertTrue(f.rl.connectionStats(mute.id()).isEmpty(), "left every registry after the grace");
    assertFalse(f.rl.recipientsOf(run.runId()).contains(mute.id()));
    assertEquals(List.of(CloseReason.SEND_FAILED), f.metrics.closesOf(mute.id()));
    publish(run, 10, 5);
    assertEquals(sends, mute.sendCalls());
    assertSeqRange(owner, run.runId(), 1, 16);
  }
}
