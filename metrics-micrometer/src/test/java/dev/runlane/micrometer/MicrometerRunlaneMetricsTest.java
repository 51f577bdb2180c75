package dev.runlane.micrometer;

import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.FailureReason;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.Result;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.TextCodec;
import dev.runlane.transport.CloseReason;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A scripted scenario over the testkit's in-memory transport on a manual clock, then the registry's
 * meters read back and compared with exact counts.
 */
class MicrometerRunlaneMetricsTest {
  static final Duration TICK = Duration.ofSeconds(1);

  final ManualTimeSource time = new ManualTimeSource();
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  final MicrometerRunlaneMetrics metrics = new MicrometerRunlaneMetrics(registry, Tags.of("app", "test"));
  final Runlane rl =
      Runlane.builder()
          .codec(new TextCodec())
          .timeSource(time)
          .metrics(metrics)
          .housekeepingInterval(TICK)
          .heartbeatInterval(Duration.ZERO)
          .idleTimeout(Duration.ofSeconds(30))
          .sendStallTimeout(Duration.ofMinutes(10))
          .maxInFlight(2)
          .maxQueuedFrames(4)
          .build();
  final InMemoryTransport tx = new InMemoryTransport(rl);

  MicrometerRunlaneMetricsTest() {
    metrics.bindTo(rl);
  }

  @AfterEach
  void tearDown() {
    rl.close();
  }

  RunHandle start(String session, InMemoryConnection c) {
    Result<RunHandle> r = rl.startRun(StartRequest.of(session, c.principal()).fromConnection(c.id()));
    return r.orElseThrow();
  }

  double counter(String name, String... tags) {
    Counter c = registry.find(name).tags(tags).counter();
    return c == null ? 0 : c.count();
  }

  double gauge(String name) {
    return registry.get(name).tags("app", "test").gauge().value();
  }

  @Test
  void aScriptedScenarioIsCountedExactly() {
    InMemoryConnection owner = tx.open("alice");
    InMemoryConnection slow = tx.open("alice");
    InMemoryConnection leaving = tx.open("bob");
    InMemoryConnection silent = tx.open("carol");
    assertEquals(4, gauge("runlane.connections"));

    RunHandle completed = start("s1", owner); // seq 1
    slow.sendText("sub s1 0");
    slow.mode(InMemoryConnection.Mode.MANUAL);
    for (int i = 0; i < 10; i++) { // seq 2..11; the slow follower overflows its outbox of 4
      completed.publish("delta", "d" + i);
    }
    completed.complete("ok"); // seq 12

    RunHandle aborted = start("s2", owner);
    aborted.publish("delta", "x"); // seq 2
    assertTrue(rl.abort(aborted.runId(), "alice").isOk());

    RunHandle failed = start("s3", owner);
    failed.fail(FailureReason.RUNTIME_ERROR, 2, "boom"); // seq 2

    owner.sendText("bogus");
    owner.sendText("bogus too");
    owner.sendText("start s4"); // no runtime configured
    leaving.clientClose(CloseReason.GOING_AWAY);

    for (int i = 0; i < 40; i++) { // the idle timeout closes silent carol; alice keeps talking
      owner.activity();
      time.advance(TICK);
    }

    assertEquals(1, counter("runlane.connections.closed", "reason", "slow_consumer", "app", "test"));
    assertEquals(1, counter("runlane.connections.closed", "reason", "going_away"));
    assertEquals(1, counter("runlane.connections.closed", "reason", "idle_timeout"));
    assertEquals(3, registry.find("runlane.connections.closed").counters().stream().mapToDouble(Counter::count).sum());
    assertEquals(1, gauge("runlane.connections"));

    assertEquals(1, counter("runlane.runs.ended", "state", "completed", "failure", "none"));
    assertEquals(1, counter("runlane.runs.ended", "state", "aborted", "failure", "none"));
    assertEquals(1, counter("runlane.runs.ended", "state", "failed", "failure", "runtime_error"));
    assertEquals(3, gauge("runlane.runs"), "ended runs are retained for resume");

    DistributionSummary events = registry.get("runlane.run.events").summary();
    assertEquals(3, events.count());
    assertEquals(12 + 3 + 2, events.totalAmount(), "every sequenced event, terminal ones included");
    assertEquals(12, events.max());

    assertEquals(2, counter("runlane.protocol.errors", "code", "UNKNOWN_MESSAGE_TYPE"));
    assertEquals(1, counter("runlane.protocol.errors", "code", "UNSUPPORTED"));
    assertEquals(3, registry.find("runlane.protocol.errors").counters().stream().mapToDouble(Counter::count).sum());
    assertEquals(1, counter("runlane.resumes", "status", "exact"), "the slow follower's subscribe");
    assertEquals(1, registry.find("runlane.resumes").counters().stream().mapToDouble(Counter::count).sum());
    assertEquals(rl.snapshot().retainedBytes(), registry.get("runlane.retained.bytes").gauge().value());
    assertEquals(12 + 3 + 2, registry.get("runlane.retained.events").gauge().value(), "every event of the 3 retained runs");
    assertEquals(0, registry.get("runlane.retention.evictions").tag("cause", "budget_ended_run").functionCounter().count());

    rl.close();
    assertEquals(2, counter("runlane.connections.closed", "reason", "going_away"), "close() sends everyone away");
  }

  @Test
  void deliveriesAndOutboxDistributionsComeFromTheSamples() {
    InMemoryConnection a = tx.open("alice");
    InMemoryConnection b = tx.open("alice");
    RunHandle run = start("s", a); // welcome to each, seq 1 to a
    b.sendText("sub s 0"); // ack + replayed seq 1
    for (int i = 0; i < 5; i++) {
      run.publish("delta", "d" + i);
    }
    time.advance(TICK);
    assertEquals(a.frames().size() + b.frames().size(), counter("runlane.deliveries"));
    double firstTotal = counter("runlane.deliveries");

    b.mode(InMemoryConnection.Mode.MANUAL);
    run.publish("delta", "late-1");
    run.publish("delta", "late-2");
    run.publish("delta", "late-3"); // b: 2 in flight, 1 queued
    time.advance(TICK);
    assertEquals(firstTotal + 3, counter("runlane.deliveries"), "only a's three new frames were delivered");
    DistributionSummary inFlight = registry.get("runlane.outbox.in.flight").summary();
    assertEquals(2, inFlight.max());
    assertEquals(1, registry.get("runlane.outbox.queued").summary().max());
    assertTrue(registry.get("runlane.outbox.queued.bytes").summary().max() > 0);
    assertEquals(4, inFlight.count(), "one sample per connection and tick");

    time.advance(TICK.multipliedBy(3));
    assertTrue(
        registry.get("runlane.outbox.lag").timer().max(TimeUnit.SECONDS) >= 3,
        "b's sends have been stuck for three ticks");
    b.completeAll();
    time.advance(TICK);
    assertEquals(a.frames().size() + b.frames().size(), counter("runlane.deliveries"));
  }

  @Test
  void liveDeliveriesAreTimedFromPublishToWriteAndReplaysAreNot() {
    InMemoryConnection a = tx.open("alice");
    a.mode(InMemoryConnection.Mode.MANUAL);
    RunHandle run = start("s", a); // seq 1, held
    run.publish("delta", "d"); // seq 2, held
    time.advance(Duration.ofMillis(40));
    a.completeAll();
    a.mode(InMemoryConnection.Mode.AUTO);
    InMemoryConnection b = tx.open("alice");
    b.sendText("sub s 0"); // seq 1..2 replayed to b: not timed
    run.requestApproval("tool?", null, (approval, resolution, decision, by) -> {}); // control, to both
    run.publish("delta", "e"); // seq 3 to both, at once
    run.complete("ok"); // seq 4 and the approval's RUN_ENDED resolution to both, at once

    Timer stream = registry.get("runlane.delivery.latency").tags("lane", "stream", "app", "test").timer();
    assertEquals(2 + 2 + 2, stream.count(), "a: seq 1..4; b: seq 3..4 (its replay of 1..2 is not a delivery latency)");
    assertEquals(80, stream.totalTime(TimeUnit.MILLISECONDS), "seq 1 and 2 waited 40 ms each, the rest none");
    assertEquals(40, stream.max(TimeUnit.MILLISECONDS));
    Timer control = registry.get("runlane.delivery.latency").tags("lane", "control").timer();
    assertEquals(4, control.count(), "the approval raised and resolved, to a and b");
    assertEquals(0, control.totalTime(TimeUnit.NANOSECONDS));
    assertEquals(0, stream.takeSnapshot().histogramCounts().length, "no histogram unless configured");
    assertEquals(0, stream.takeSnapshot().percentileValues().length, "no percentiles unless configured");
  }

  @Test
  void theLatencyHistogramIsConfiguredTheMicrometerWayAndTimingCanBeOff() {
    SimpleMeterRegistry r = new SimpleMeterRegistry();
    r.config()
        .meterFilter(
            new MeterFilter() {
              @Override
              public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
                return id.getName().equals("runlane.delivery.latency")
                    ? DistributionStatisticConfig.builder().percentiles(0.99).build().merge(config)
                    : config;
              }
            });
    MicrometerRunlaneMetrics histogram = new MicrometerRunlaneMetrics(r);
    assertTrue(histogram.timesDeliveries());
    histogram.deliveryLatency(dev.runlane.transport.Lane.STREAM, TimeUnit.MILLISECONDS.toNanos(3));
    Timer t = r.get("runlane.delivery.latency").tag("lane", "stream").timer();
    assertEquals(1, t.count());
    assertEquals(1, t.takeSnapshot().percentileValues().length, "the registry's filter configures the timer");

    assertFalse(new MicrometerRunlaneMetrics(new SimpleMeterRegistry(), Tags.empty(), false).timesDeliveries());
  }

  @Test
  void closeCodesWithoutANameShareOneTag() {
    assertEquals("slow_consumer", MicrometerRunlaneMetrics.reasonTag(4000));
    assertEquals("abnormal", MicrometerRunlaneMetrics.reasonTag(1006));
    assertEquals("other", MicrometerRunlaneMetrics.reasonTag(4321));
    InMemoryConnection c = tx.open("alice");
    c.clientClose(new CloseReason(4321, "app specific"));
    assertEquals(1, counter("runlane.connections.closed", "reason", "other"));
  }
}
