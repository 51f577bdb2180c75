package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.InvariantCheck;
import dev.runlane.Result;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.RunlaneMetrics;
import dev.runlane.StartRequest;
import dev.runlane.TimeSource;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryConnection.Mode;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.TextCodec;
import dev.runlane.transport.Lane;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code RunlaneMetrics.deliveryLatency}: every live frame of a run is timed once per recipient,
 * from the run's publish to the transport's successful send, on the Runlane's clock; frames replayed
 * on a subscribe, frames no run publishes and failed sends are not; and a listener that does not
 * ask for it costs no clock read.
 */
class DeliveryLatencyTest {
  static final Duration MS = Duration.ofMillis(1);

  /** Records latencies by lane, in nanoseconds. */
  static final class LatencyMetrics implements RunlaneMetrics {
    final boolean timed;
    final List<Long> stream = Collections.synchronizedList(new ArrayList<>());
    final List<Long> control = Collections.synchronizedList(new ArrayList<>());

    LatencyMetrics(boolean timed) {
      this.timed = timed;
    }

    @Override
    public boolean timesDeliveries() {
      return timed;
    }

    @Override
    public void deliveryLatency(Lane lane, long latencyNanos) {
      assertTrue(timed, "called although the listener does not time deliveries");
      (lane == Lane.CONTROL ? control : stream).add(latencyNanos);
    }

    List<Long> stream() {
      synchronized (stream) {
        return List.copyOf(stream);
      }
    }

    List<Long> control() {
      synchronized (control) {
        return List.copyOf(control);
      }
    }
  }

  /** A manual clock that counts {@link #nanoTime()} reads. */
  static final class CountingClock implements TimeSource {
    final ManualTimeSource delegate = new ManualTimeSource();
    final AtomicLong reads = new AtomicLong();

    @Override
    public long nanoTime() {
      reads.incrementAndGet();
      return delegate.nanoTime();
    }

    @Override
    public long epochMillis() {
      return delegate.epochMillis();
    }

    @Override
    public Cancellable schedule(long delayNanos, Runnable task) {
      return delegate.schedule(delayNanos, task);
    }
  }

  final CountingClock clock = new CountingClock();
  final List<Runlane> built = new ArrayList<>();

  @AfterEach
  void tearDown() {
    built.forEach(Runlane::close);
  }

  InMemoryTransport node(RunlaneMetrics metrics) {
    Runlane rl =
        InvariantCheck.track(
            SpecEngine.builder()
                .codec(new TextCodec())
                .timeSource(clock)
                .metrics(metrics)
                .heartbeatInterval(Duration.ZERO)
                .idleTimeout(Duration.ZERO)
                .sendStallTimeout(Duration.ZERO)
                .maxInFlight(64)
                .build());
    built.add(rl);
    return new InMemoryTransport(rl);
  }

  static RunHandle start(Runlane rl, String session, InMemoryConnection c) {
    Result<RunHandle> r = rl.startRun(StartRequest.of(session, c.principal()).fromConnection(c.id()));
    return r.orElseThrow();
  }

  static long ms(long n) {
    return MS.multipliedBy(n).toNanos();
  }

  @Test
  void liveFramesAreTimedOncePerRecipientAndReplayedOnesAreNot() {
    LatencyMetrics m = new LatencyMetrics(true);
    InMemoryTransport tx = node(m);
    InMemoryConnection a = tx.open("alice");
    InMemoryConnection b = tx.open("alice");
    a.mode(Mode.MANUAL);
    RunHandle run = start(tx.runlane(), "s", a); // seq 1 to a, held
    for (int i = 0; i < 3; i++) {
      run.publish("delta", "d" + i); // seq 2..4 to a, held
    }
    clock.delegate.advance(MS.multipliedBy(7));
    a.completeAll();
    assertEquals(List.of(ms(7), ms(7), ms(7), ms(7)), m.stream(), "a's four events, 7 ms after their publish");

    b.sendText("sub s 0"); // the ack (not a run frame) and seq 1..4 replayed: none timed
    assertEquals(4, b.messages(w -> w.isEventOf(run.runId())).size(), "b got the replay");
    assertEquals(4, m.stream().size(), "replayed frames are not timed");

    run.requestApproval("tool?", null, (approval, resolution, decision, by) -> {}); // control lane, to a (held) and b
    run.publish("delta", "live-1"); // seq 5
    run.publish("delta", "live-2"); // seq 6
    clock.delegate.advance(MS.multipliedBy(3));
    a.completeAll();
    a.mode(Mode.AUTO);
    run.complete("done"); // seq 7, and the approval resolved as RUN_ENDED, to both at once

    assertEquals(
        List.of(ms(7), ms(7), ms(7), ms(7), 0L, 0L, 0L, 0L, ms(3), ms(3)),
        sortedBy(m.stream(), 4),
        "a: 1..4 at 7 ms, 5..6 at 3 ms, 7 at once; b: 5..7 at once");
    assertEquals(List.of(0L, 0L, 0L, ms(3)), sorted(m.control()), "requested to a (3 ms) and b, resolved to both");
    long runFramesLive = a.messages().stream().filter(w -> isRunFrame(w, run)).count()
        + b.messages().stream().filter(w -> isRunFrame(w, run)).count()
        - 4; // b's replay
    assertEquals(runFramesLive, m.stream().size() + m.control().size(), "one sample per live run frame received");
  }

  @Test
  void aFailedSendIsNotTimed() {
    LatencyMetrics m = new LatencyMetrics(true);
    InMemoryTransport tx = node(m);
    InMemoryConnection a = tx.open("alice");
    RunHandle run = start(tx.runlane(), "s", a);
    InMemoryConnection b = tx.open("alice");
    b.sendText("sub s 0");
    b.mode(Mode.MANUAL);
    run.publish("delta", "x"); // seq 2 to a (at once) and b (held)
    b.failNext();
    assertEquals(List.of(0L, 0L), m.stream(), "a's seq 1 and 2; b's failed send is not a delivery");
  }

  @Test
  void aListenerThatDoesNotTimeDeliveriesCostsNoClockRead() {
    LatencyMetrics m = new LatencyMetrics(false);
    InMemoryTransport tx = node(m);
    InMemoryConnection a = tx.open("alice");
    InMemoryConnection b = tx.open("alice");
    RunHandle run = start(tx.runlane(), "s", a);
    b.sendText("sub s 0");
    long before = clock.reads.get();
    for (int i = 0; i < 50; i++) {
      run.publish("delta", "d" + i);
    }
    run.publishStatus("phase", "thinking");
    assertEquals(before, clock.reads.get(), "no clock read per publish or per send");
    assertEquals(List.of(), m.stream());

    LatencyMetrics timed = new LatencyMetrics(true);
    InMemoryTransport tx2 = node(timed);
    InMemoryConnection c = tx2.open("alice");
    InMemoryConnection d = tx2.open("alice");
    RunHandle run2 = start(tx2.runlane(), "s", c);
    d.sendText("sub s 0");
    long before2 = clock.reads.get();
    for (int i = 0; i < 50; i++) {
      run2.publish("delta", "d" + i);
    }
    assertEquals(50 + 2 * 50, clock.reads.get() - before2, "one read per publish, one per live delivery");
    assertEquals(1 + 2 * 50, timed.stream().size(), "seq 1 to c, then 50 events to both");
  }

  @Test
  void aFrameFromARunOnAnotherNodeIsTimedFromItsArrivalHere() {
    ManualTimeSource[] clocks = {new ManualTimeSource(), new ManualTimeSource()};
    LatencyMetrics[] metrics = {new LatencyMetrics(true), new LatencyMetrics(true)};
    clocks[0].advance(Duration.ofHours(1)); // the nodes' clocks disagree: only this node's counts
    int[] next = {0};
    try (ClusterFixture fx =
        new ClusterFixture(
            2,
            Duration.ofMinutes(5),
            b -> {
              int i = next[0]++;
              b.timeSource(clocks[i]).metrics(metrics[i]);
            })) {
      RunHandle run = fx.node(0).startRun(StartRequest.of("s", "alice")).orElseThrow();
      run.publish("delta", "before"); // seq 2
      InMemoryConnection b = fx.open(1, "alice");
      b.sendText("sub s 0");
      assertEquals(2, b.messages(w -> w.isEventOf(run.runId())).size(), "seq 1..2 replayed from the store");
      b.mode(Mode.MANUAL);
      for (int i = 0; i < 3; i++) {
        run.publish("delta", "d" + i); // seq 3..5, tailed to node 1
      }
      ClusterFixture.await("node 1 received seq 3..5", () -> b.heldSends() == 3);
      clocks[1].advance(MS.multipliedBy(5));
      b.completeAll();
      assertEquals(List.of(ms(5), ms(5), ms(5)), metrics[1].stream(), "timed on node 1's clock from arrival");
      assertEquals(List.of(), metrics[0].stream(), "node 0 had no recipient");
    }
  }

  private static boolean isRunFrame(dev.runlane.testkit.WireMessage w, RunHandle run) {
    return w.isEventOf(run.runId()) || w.type().startsWith("approval");
  }

  private static List<Long> sorted(List<Long> l) {
    List<Long> out = new ArrayList<>(l);
    Collections.sort(out);
    return out;
  }

  /** The first {@code keep} in order, the rest sorted (their order across connections is free). */
  private static List<Long> sortedBy(List<Long> l, int keep) {
    List<Long> out = new ArrayList<>(l.subList(0, keep));
    out.addAll(sorted(l.subList(keep, l.size())));
    return out;
  }
}
