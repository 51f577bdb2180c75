package dev.runlane.spec;

import static dev.runlane.spec.DeliveryFixture.*;
import static dev.runlane.testkit.RunlaneAssertions.assertSeqRange;
import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.RunHandle;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.WireMessage;
import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.testkit.TextCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Keepalive: unsequenced heartbeats on each idle transport at the configured interval (never in a
 * run's ring, never taking a seq), and the idle timeout that closes connections with no inbound
 * traffic with {@link CloseReason#IDLE_TIMEOUT}.
 */
class KeepaliveTest {
  static final Duration TICK = Duration.ofSeconds(1);
  static final Duration INTERVAL = Duration.ofSeconds(10);
  DeliveryFixture f;

  @AfterEach
  void tearDown() {
    if (f != null) {
      f.close();
    }
  }

  DeliveryFixture heartbeats() {
    return new DeliveryFixture(b -> b.heartbeatInterval(INTERVAL).housekeepingInterval(TICK));
  }

  static int heartbeatsOn(InMemoryConnection c, Lane lane) {
    int n = 0;
    for (Frame fr : c.frames()) {
      if (fr.lane() == lane && TextCodec.parse(fr.payload()).type().equals("heartbeat")) {
        n++;
      }
    }
    return n;
  }

  /** Steps time a tick at a time and returns the seconds at which {@code c} got a heartbeat. */
  List<Long> heartbeatTimes(InMemoryConnection c, int seconds, Runnable everySecond) {
    List<Long> at = new ArrayList<>();
    int seen = c.messages("heartbeat").size();
    for (long t = 1; t <= seconds; t++) {
      everySecond.run();
      f.time.advance(TICK);
      int now = c.messages("heartbeat").size();
      if (now > seen) {
        at.add(t);
        seen = now;
      }
    }
    return at;
  }

  @Test
  void anIdleTransportGetsAHeartbeatEveryInterval() {
    f = heartbeats();
    InMemoryConnection c = f.tx.open("alice");
    List<Long> at = heartbeatTimes(c, 100, () -> {});
    assertTrue(at.size() >= 8, "heartbeats at " + at);
    assertTrue(at.get(0) >= INTERVAL.toSeconds() && at.get(0) <= INTERVAL.toSeconds() + 2, "first at " + at);
    for (int i = 1; i < at.size(); i++) {
      long gap = at.get(i) - at.get(i - 1);
      assertTrue(
          gap >= INTERVAL.toSeconds() && gap <= INTERVAL.toSeconds() + TICK.toSeconds(),
          "heartbeat gaps must be the interval (plus at most one tick): " + at);
    }
    assertEquals(at.size(), heartbeatsOn(c, Lane.CONTROL), "heartbeats travel on the control lane");
  }

  @Test
  void aBusyTransportWhosePeerShowsLifeGetsNoHeartbeat() {
    f = heartbeats();
    InMemoryConnection c = f.tx.open("alice");
    RunHandle run = f.start("s", c);
    List<Long> at =
        heartbeatTimes(
            c,
            60,
            () -> {
              run.publish("delta", "x");
              c.activity(); // a pong: the peer is there
            });
    assertEquals(List.of(), at, "a transport that sends every second to a live peer needs no heartbeat");
    assertSeqRange(c, run.runId(), 1, 61);
  }

  @Test
  void heartbeatsNeverTakeASeqNorAreReplayed() {
    f = heartbeats();
    InMemoryConnection c = f.tx.open("alice");
    RunHandle run = f.start("s", c);
    run.publish("delta", "a");
    f.time.advance(INTERVAL.multipliedBy(5));
    run.publish("delta", "b");
    f.time.advance(INTERVAL.multipliedBy(5));
    run.publish("delta", "c");
    assertTrue(c.messages("heartbeat").size() >= 6);
    assertSeqRange(c, run.runId(), 1, 4);
    assertEquals(4, run.headSeq());

    InMemoryConnection late = f.tx.open("alice");
    late.sendText("sub s 0 " + run.epoch() + " " + run.runId());
    assertEquals(List.of("welcome", "subscribed", "event", "event", "event", "event"), types(late));
  }

  @Test
  void eachTransportOfAPairGetsItsOwnHeartbeatsWhenIdle() {
    f = heartbeats();
    InMemoryConnection p = f.tx.open("alice", "p1", Set.of(Capability.STREAM_TRANSPORT));
    InMemoryConnection s = f.tx.openStream(p, p.last("welcome").num("generation"));
    assertNull(s.closeReason());
    RunHandle run = f.start("s", p);
    // the stream transport is busy, the primary idle: only the primary needs heartbeats
    heartbeatTimes(p, 40, () -> run.publish("delta", "x"));
    assertTrue(heartbeatsOn(p, Lane.CONTROL) >= 3, "idle primary: " + types(p));
    assertEquals(0, heartbeatsOn(s, Lane.STREAM), "busy stream transport");
    // now both are idle
    f.time.advance(INTERVAL.multipliedBy(4));
    assertTrue(heartbeatsOn(s, Lane.STREAM) >= 3, "idle stream transport: " + types(s));
    for (WireMessage m : p.messages()) {
      assertFalse(m.isEvent(), "no stream frame on the primary");
    }
    assertSeqRange(s, run.runId(), 1, 41);
  }

  @Test
  void heartbeatsOffMeansNone() {
    f = new DeliveryFixture(b -> b.heartbeatInterval(Duration.ZERO));
    InMemoryConnection c = f.tx.open("alice");
    f.time.advance(Duration.ofMinutes(10));
    assertTrue(c.messages("heartbeat").isEmpty());
  }

  @Test
  void aHeartbeatIntervalShorterThanTheTickIsHonoured() {
    f = new DeliveryFixture(b -> b.heartbeatInterval(Duration.ofMillis(200)).housekeepingInterval(TICK));
    InMemoryConnection c = f.tx.open("alice");
    f.time.advance(Duration.ofSeconds(10));
    assertTrue(c.messages("heartbeat").size() >= 10, "got " + c.messages("heartbeat").size());
  }

  // ------------------------------------------------------------------ liveness (issue 12 item 6)

  static final Duration IDLE = INTERVAL.multipliedBy(3);

  /** Heartbeat every 10 s, idle timeout 30 s: the defaults' ratio (30 s / 90 s), ten times faster. */
  DeliveryFixture liveness() {
    return new DeliveryFixture(b -> b.heartbeatInterval(INTERVAL).idleTimeout(IDLE).housekeepingInterval(TICK));
  }

  static final Set<Capability> PINGS = Set.of(Capability.TRANSPORT_PING);

  @Test
  void aListeningClientThatOnlyAnswersTransportPingsStaysConnectedAcrossIdleTimeouts() {
    f = liveness();
    InMemoryConnection c = f.tx.open("alice", "listener", PINGS); // answers pings, sends nothing
    RunHandle run = f.start("s", c);
    int seconds = (int) IDLE.multipliedBy(5).toSeconds();
    for (int t = 0; t < seconds; t++) {
      run.publish("delta", t); // a steady stream out; nothing but pongs in
      f.time.advance(TICK);
    }
    assertNull(c.closeReason(), "a client answering pings is alive, however long it only listens");
    assertSeqRange(c, run.runId(), 1, seconds + 1);
    // once per quiet interval, not once per tick
    assertTrue(c.pings() >= seconds / (INTERVAL.toSeconds() + 2) && c.pings() <= seconds / INTERVAL.toSeconds(),
        "pings: " + c.pings());
    assertEquals(0, c.messages("heartbeat").size(), "with transport pings, no app-level heartbeat is needed");
  }

  @Test
  void aSilentClientThatOnlyAnswersTransportPingsStaysConnected() {
    f = liveness();
    InMemoryConnection c = f.tx.open("alice", "quiet", PINGS);
    f.time.advance(IDLE.multipliedBy(10));
    assertNull(c.closeReason());
    assertTrue(c.pings() >= 25, "pings: " + c.pings());
    assertEquals(0, c.messages("heartbeat").size(), "the pings are the outbound keepalive too");
  }

  @Test
  void aClientThatStopsAnsweringPingsIsClosedWithIdleTimeout() {
    f = liveness();
    InMemoryConnection c = f.tx.open("alice", "gone", PINGS);
    f.time.advance(IDLE.multipliedBy(2));
    assertNull(c.closeReason());
    c.answerPings(false); // the network died silently
    // the last pong came at most an interval ago: idle from then on
    f.time.advance(IDLE.minus(INTERVAL).minus(TICK));
    assertNull(c.closeReason(), "not before the idle timeout");
    f.time.advance(INTERVAL.plus(TICK.multipliedBy(3)));
    assertEquals(CloseReason.IDLE_TIMEOUT, c.closeReason());
  }

  @Test
  void aClientThatTalksIsNeverPinged() {
    f = liveness();
    InMemoryConnection c = f.tx.open("alice", "talker", PINGS);
    for (int t = 0; t < IDLE.multipliedBy(3).toSeconds(); t++) {
      c.sendText("bogus"); // any inbound frame is life
      f.time.advance(TICK);
    }
    assertEquals(0, c.pings());
    assertNull(c.closeReason());
  }

  /**
   * Without transport pings the probe is an app-level heartbeat that a client answers with a
   * {@code ping} unless it is waiting for the answer to a ping of its own (docs/reference/protocol.md).
   */
  @Test
  void aListeningClientThatAnswersHeartbeatsStaysConnectedWithoutTransportPings() {
    f = liveness();
    InMemoryConnection c = f.tx.open("alice"); // no TRANSPORT_PING
    RunHandle run = f.start("s", c);
    int seconds = (int) IDLE.multipliedBy(5).toSeconds();
    int seen = 0;
    boolean pingOutstanding = false;
    int answered = 0;
    for (int t = 0; t < seconds; t++) {
      run.publish("delta", t);
      f.time.advance(TICK);
      int now = c.messages("heartbeat").size();
      for (; seen < now; seen++) {
        if (pingOutstanding) {
          pingOutstanding = false; // the answer to our own ping: not answered again
        } else {
          c.sendText("ping");
          pingOutstanding = true;
          answered++;
        }
      }
    }
    assertNull(c.closeReason(), "a client answering heartbeats is alive while it only listens");
    assertTrue(answered >= seconds / (INTERVAL.toSeconds() + 2), "answered " + answered);
    assertTrue(c.messages("heartbeat").size() <= 2 * seconds / INTERVAL.toSeconds() + 2,
        "no ping-pong storm: " + c.messages("heartbeat").size() + " heartbeats in " + seconds + " s");
  }

  // ------------------------------------------------------------------ idle timeout

  DeliveryFixture idle() {
    return new DeliveryFixture(b -> b.idleTimeout(INTERVAL).housekeepingInterval(TICK));
  }

  @Test
  void aSilentConnectionIsClosedWithIdleTimeout() {
    f = idle();
    InMemoryConnection c = f.tx.open("alice");
    RunHandle run = f.start("s", c);
    f.time.advance(INTERVAL.minusMillis(1));
    assertNull(c.closeReason(), "not before the idle timeout");
    f.time.advance(TICK.multipliedBy(3));
    assertEquals(CloseReason.IDLE_TIMEOUT, c.closeReason());
    assertEquals(4001, c.closeReason().code());
    assertTrue(c.closeReason().resumable());
    assertEquals(List.of(CloseReason.IDLE_TIMEOUT), f.metrics.closesOf(c.id()));
    assertEquals(0, f.rl.connectionCount());
    run.publish("delta", "while away");
    InMemoryConnection again = f.resume(c, run);
    assertStitched(c, again, run);
  }

  @Test
  void outboundTrafficAloneDoesNotKeepAConnectionAlive() {
    f = idle();
    InMemoryConnection c = f.tx.open("alice");
    RunHandle run = f.start("s", c);
    for (int i = 0; i < 15 && c.closeReason() == null; i++) {
      run.publish("delta", i);
      f.time.advance(TICK);
    }
    assertEquals(CloseReason.IDLE_TIMEOUT, c.closeReason(), "the peer never showed it is alive");
  }

  @Test
  void activityKeepsAConnectionAlive() {
    f = idle();
    InMemoryConnection byActivity = f.tx.open("alice");
    InMemoryConnection byPing = f.tx.open("alice");
    InMemoryConnection byAnyFrame = f.tx.open("alice");
    InMemoryConnection silent = f.tx.open("alice");
    for (int t = 0; t < 60; t += 3) {
      byActivity.activity(); // a pong
      byPing.sendText("ping");
      byAnyFrame.sendText("bogus"); // even a bad frame proves the peer is there
      f.time.advance(TICK.multipliedBy(3));
    }
    assertNull(byActivity.closeReason());
    assertNull(byPing.closeReason());
    assertNull(byAnyFrame.closeReason());
    assertEquals(CloseReason.IDLE_TIMEOUT, silent.closeReason());
    // stop showing life: closed in turn
    f.time.advance(INTERVAL.plus(TICK.multipliedBy(2)));
    assertEquals(CloseReason.IDLE_TIMEOUT, byActivity.closeReason());
    assertEquals(CloseReason.IDLE_TIMEOUT, byPing.closeReason());
  }

  @Test
  void activityOnThePairedStreamTransportKeepsThePairAlive() {
    f = idle();
    InMemoryConnection p = f.tx.open("alice", "p1", Set.of(Capability.STREAM_TRANSPORT));
    InMemoryConnection s = f.tx.openStream(p, p.last("welcome").num("generation"));
    for (int t = 0; t < 60; t += 3) {
      s.activity();
      f.time.advance(TICK.multipliedBy(3));
    }
    assertNull(p.closeReason());
    assertNull(s.closeReason());
    f.time.advance(INTERVAL.plus(TICK.multipliedBy(2)));
    assertEquals(CloseReason.IDLE_TIMEOUT, p.closeReason());
    assertEquals(CloseReason.IDLE_TIMEOUT, s.closeReason(), "the pair goes down together");
  }

  @Test
  void theHandlerTellsTheTransportItsIdleTimeout() {
    // rule T8.1: a transport with an idle timeout of its own keeps it above this one
    f = idle();
    InMemoryConnection c = new InMemoryConnection("t81", "alice", Set.of());
    dev.runlane.transport.InboundHandler h = f.rl.connect(c);
    c.bind(h);
    assertEquals(INTERVAL, h.idleTimeout());
    DeliveryFixture off = new DeliveryFixture(b -> b.idleTimeout(Duration.ZERO));
    try {
      InMemoryConnection d = new InMemoryConnection("t81b", "alice", Set.of());
      dev.runlane.transport.InboundHandler hd = off.rl.connect(d);
      d.bind(hd);
      assertEquals(Duration.ZERO, hd.idleTimeout(), "zero: Runlane never closes it for idleness");
    } finally {
      off.close();
    }
  }

  @Test
  void idleTimeoutOffMeansNever() {
    f = new DeliveryFixture(b -> b.idleTimeout(Duration.ZERO).housekeepingInterval(TICK));
    InMemoryConnection c = f.tx.open("alice");
    f.time.advance(Duration.ofHours(2));
    assertNull(c.closeReason());
  }
}
