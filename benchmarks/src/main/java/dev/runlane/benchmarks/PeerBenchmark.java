package dev.runlane.benchmarks;

import dev.runlane.AttachMode;
import dev.runlane.Result;
import dev.runlane.codec.Outbound;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Figure 4: the same events to the same recipients, Runlane against Spring's STOMP
 * SimpleBrokerMessageHandler ({@link SpringPeer}): {@value #RUNS} runs with {@value #PER_RUN}
 * recipients each ({@value #RUNS}×{@value #PER_RUN} connections or STOMP sessions), events
 * published round-robin over the runs. Both sides build the event record and encode it once with
 * the same codec; deliveries per second are {@code PER_RUN / (ns per op)}. Both are measured warm:
 * Runlane's replay rings are full (each publish also evicts), Spring's destination cache is filled.
 *
 * <p><b>Thread safety:</b> JMH benchmark state, one thread.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PeerBenchmark {
  /** Runs (topics). */
  public static final int RUNS = 1_000;
  /** Recipients (subscribed sessions) per run. */
  public static final int PER_RUN = 10;

  /** Runlane side. */
  @State(Scope.Benchmark)
  public static class Ours {
    /**
     * Replay capacity: the default (1,024) and, as a diagnostic, 16. With full rings of 1,024 the
     * garbage collector's cost of keeping old rings pointing at new frames shows (see
     * docs/benchmarks.md).
     */
    @Param({"1024", "16"})
    public int ring;

    Runlane rl;
    RunHandle[] runs;
    int next;

    @Setup
    public void setup() {
      rl = Fixtures.builder(new BenchCodec()).replayCapacity(ring).build();
      runs = peerRuns(rl);
      // steady state: every run's replay ring is full, so each publish also evicts one event
      for (RunHandle run : runs) {
        for (int i = 0; i < ring; i++) {
          run.publish("delta", PublishBenchmark.DATA);
        }
      }
    }

    @TearDown
    public void tearDown() {
      rl.close();
    }
  }

  /** {@link #RUNS} runs, run r with recipients {@code c(r*PER_RUN) ..} of principal {@code u<r>}. */
  static RunHandle[] peerRuns(Runlane rl) {
    Fixtures.connect(rl, "c", RUNS * PER_RUN, i -> "u" + i / PER_RUN);
    RunHandle[] runs = new RunHandle[RUNS];
    for (int r = 0; r < RUNS; r++) {
      runs[r] = Fixtures.start(rl, "s" + r, "u" + r, "c" + r * PER_RUN);
      for (int k = 1; k < PER_RUN; k++) {
        Result<RunHandle> a = rl.attach(runs[r].runId(), "c" + (r * PER_RUN + k), AttachMode.ADDITIVE);
        if (!a.isOk()) {
          throw new IllegalStateException("attach: " + a);
        }
      }
    }
    return runs;
  }

  /** Spring side. */
  @State(Scope.Benchmark)
  public static class Spring {
    SpringPeer peer;
    BenchCodec codec;
    long seq;
    int next;

    @Setup
    public void setup() {
      peer = new SpringPeer(RUNS, PER_RUN);
      codec = new BenchCodec();
    }

    @TearDown
    public void tearDown() {
      peer.stop();
    }
  }

  @Benchmark
  public Result<Long> ours(Ours s) {
    int i = s.next;
    s.next = i + 1 == RUNS ? 0 : i + 1;
    return s.runs[i].publish("delta", PublishBenchmark.DATA);
  }

  @Benchmark
  public void spring(Spring s) {
    int i = s.next;
    s.next = i + 1 == RUNS ? 0 : i + 1;
    s.peer.publish(
        i,
        s.codec.encode(
            new Outbound.RunEvent("run_x", "s", "e", ++s.seq, "delta", PublishBenchmark.DATA)));
  }
}
