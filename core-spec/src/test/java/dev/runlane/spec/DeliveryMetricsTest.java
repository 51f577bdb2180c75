package dev.runlane.spec;

import static dev.runlane.spec.DeliveryFixture.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.ConnectionStats;
import dev.runlane.RunHandle;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryConnection.Mode;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Frame;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Observability: {@code RunlaneMetrics.connectionClosed} once per connection with the reason, and
 * {@code connectionSample} / {@code Runlane.connectionStats} reporting queue depth, bytes, in-flight
 * sends, lag and delivered frames.
 */
class DeliveryMetricsTest {
  static final Duration TICK = Duration.ofSeconds(1);
  DeliveryFixture f =
      new DeliveryFixture(b -> b.maxInFlight(4).maxQueuedFrames(100).housekeepingInterval(TICK).sendStallTimeout(Duration.ofMinutes(10)));

  @AfterEach
  void tearDown() {
    f.close();
  }

  @Test
  void samplesReportQueueDepthBytesInFlightAndDelivered() {
    InMemoryConnection c = f.tx.open("alice");
    RunHandle run = f.start("s", c); // welcome + seq 1 delivered
    c.mode(Mode.MANUAL);
    for (int i = 0; i < 10; i++) {
      run.publish("delta", "payload-" + i);
    }
    f.time.advance(TICK);
    List<ConnectionStats> samples = f.metrics.samplesOf(c.id());
    assertFalse(samples.isEmpty(), "a sample per housekeeping tick");
    ConnectionStats s = samples.get(samples.size() - 1);
    assertEquals(c.id(), s.connectionId());
    assertEquals("alice", s.principal());
    assertEquals(4, s.inFlight());
    assertEquals(6, s.queuedFrames());
    assertEquals(2, s.delivered());
    assertEquals(1, s.runs());
    assertEquals(s, f.rl.connectionStats(c.id()).orElseThrow(), "the pull API agrees");

    c.completeAll();
    long queuedBytes = 0;
    List<Frame> frames = c.frames();
    for (Frame fr : frames.subList(frames.size() - 6, frames.size())) {
      queuedBytes += fr.payload().sizeInBytes();
    }
    assertEquals(queuedBytes, s.queuedBytes(), "bytes of exactly the queued frames");
    ConnectionStats after = f.rl.connectionStats(c.id()).orElseThrow();
    assertEquals(0, after.queuedFrames());
    assertEquals(0, after.queuedBytes());
    assertEquals(0, after.inFlight());
    assertEquals(12, after.delivered());
  }

  @Test
  void lagGrowsWhileSendsMakeNoProgressAndIsZeroWhenNothingIsInFlight() {
    InMemoryConnection c = f.tx.open("alice");
    RunHandle run = f.start("s", c);
    f.time.advance(TICK.multipliedBy(2));
    assertEquals(0, f.rl.connectionStats(c.id()).orElseThrow().lagNanos());
    c.mode(Mode.MANUAL);
    run.publish("delta", "x");
    f.time.advance(TICK);
    long lag1 = f.rl.connectionStats(c.id()).orElseThrow().lagNanos();
    f.time.advance(TICK.multipliedBy(5));
    long lag2 = f.rl.connectionStats(c.id()).orElseThrow().lagNanos();
    assertTrue(lag2 - lag1 >= TICK.multipliedBy(5).toNanos(), "lag " + lag1 + " then " + lag2);
    c.completeAll();
    f.time.advance(TICK);
    assertEquals(0, f.rl.connectionStats(c.id()).orElseThrow().lagNanos());
  }

  @Test
  void connectionClosedIsReportedOnceWithTheReason() {
    f.close();
    f = new DeliveryFixture(b -> b.maxInFlight(1).maxQueuedFrames(3).idleTimeout(Duration.ofSeconds(30)).housekeepingInterval(TICK));
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    InMemoryConnection slow = f.subscriber("alice", "s");
    InMemoryConnection failing = f.subscriber("alice", "s");
    InMemoryConnection leaving = f.subscriber("alice", "s");
    InMemoryConnection kicked = f.subscriber("alice", "s");
    InMemoryConnection silent = f.tx.open("alice");
    slow.mode(Mode.MANUAL);
    failing.mode(Mode.FAIL);
    publish(run, 0, 10);
    leaving.clientClose(CloseReason.GOING_AWAY);
    f.rl.disconnect(kicked.id(), CloseReason.NORMAL);
    for (int i = 0; i < 40; i++) {
      owner.activity();
      f.time.advance(TICK);
    }
    assertEquals(List.of(CloseReason.SLOW_CONSUMER), f.metrics.closesOf(slow.id()));
    assertEquals(List.of(CloseReason.SEND_FAILED), f.metrics.closesOf(failing.id()));
    assertEquals(List.of(CloseReason.GOING_AWAY), f.metrics.closesOf(leaving.id()));
    assertEquals(List.of(CloseReason.NORMAL), f.metrics.closesOf(kicked.id()));
    assertEquals(List.of(CloseReason.IDLE_TIMEOUT), f.metrics.closesOf(silent.id()));
    assertEquals(List.of(), f.metrics.closesOf(owner.id()));
    f.rl.close();
    assertEquals(List.of(CloseReason.GOING_AWAY), f.metrics.closesOf(owner.id()));
    assertEquals(CloseReason.GOING_AWAY, owner.closeReason());
  }

  @Test
  void aClientThatLeavesWithSendsInFlightIsCountedWithItsOwnReason() {
    InMemoryConnection owner = f.tx.open("alice");
    RunHandle run = f.start("s", owner);
    InMemoryConnection c = f.subscriber("alice", "s");
    c.mode(Mode.MANUAL);
    publish(run, 0, 10); // 4 held sends
    c.clientClose(new CloseReason(1001, "tab closed"));
    assertEquals(List.of(new CloseReason(1001, "tab closed")), f.metrics.closesOf(c.id()));
    assertEquals(List.of(), c.closeRequests(), "Runlane does not close what the client closed");
    f.time.advance(Duration.ofMinutes(1));
    assertFalse(c.terminated());
  }

  @Test
  void aThrowingMetricsListenerNeverBreaksDelivery() {
    f.close();
    f =
        new DeliveryFixture(
            b ->
                b.housekeepingInterval(TICK)
                    .metrics(
                        new dev.runlane.RunlaneMetrics() {
                          @Override
                          public void connectionClosed(String id, CloseReason reason) {
                            throw new IllegalStateException("metrics down");
                          }

                          @Override
                          public void connectionSample(ConnectionStats stats) {
                            throw new IllegalStateException("metrics down");
                          }
                        }));
    InMemoryConnection c = f.tx.open("alice");
    RunHandle run = f.start("s", c);
    f.time.advance(TICK.multipliedBy(3));
    run.publish("delta", "x");
    dev.runlane.testkit.RunlaneAssertions.assertSeqRange(c, run.runId(), 1, 2);
    InMemoryConnection other = f.tx.open("alice");
    other.clientClose(CloseReason.NORMAL);
    assertEquals(1, f.rl.connectionCount());
  }
}
