package dev.runlane.benchmarks;

import dev.runlane.Result;
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
 * Figure 3: targeted routing at scale. 10,000 running runs with one recipient each, published
 * round-robin, with 100,000 connections registered (90,000 of them idle) against (a) the same
 * runs with only 10 connections registered (each the recipient of 1,000 runs), (a') exactly the
 * 10,000 recipient connections registered (the same recipients, no idle ones: isolates the cost of
 * idle registrations from the cache footprint of 10,000 distinct recipients) and (b) {@link
 * NaiveBroadcastHub}, which offers every event to all 100,000 connections and filters by run. Runlane's rings are full before measuring
 * (replay capacity {@value #RING}); the naive hub retains nothing.
 *
 * <p><b>Thread safety:</b> JMH benchmark state, one thread.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RoutingBenchmark {
  /** Running runs, one recipient each. */
  public static final int RUNS = 10_000;
  /**
   * Replay capacity here: 64, not the default 1,024, so the 10,000 full rings (640,000 retained
   * events) isolate routing from the garbage collector's cost of retaining 10 million events.
   */
  public static final int RING = 64;

  /** Runlane with {@code connections} registered and {@link #RUNS} runs. */
  @State(Scope.Benchmark)
  public static class Ours {
    @Param({"10", "10000", "100000"})
    public int connections;

    Runlane rl;
    RunHandle[] runs;
    int next;

    @Setup
    public void setup() {
      rl = Fixtures.builder(new BenchCodec()).replayCapacity(RING).build();
      int n = connections;
      Fixtures.connect(rl, "c", n, i -> "u" + i);
      runs = new RunHandle[RUNS];
      for (int r = 0; r < RUNS; r++) {
        int c = r % n;
        runs[r] = Fixtures.start(rl, "s" + r, "u" + c, "c" + c);
        for (int i = 0; i < RING; i++) {
          runs[r].publish("delta", PublishBenchmark.DATA); // steady state: full rings
        }
      }
    }

    @TearDown
    public void tearDown() {
      rl.close();
    }
  }

  /** The naive hub with 100,000 connections, connection {@code i < RUNS} subscribed to run i. */
  @State(Scope.Benchmark)
  public static class Naive {
    NaiveBroadcastHub hub;
    String[] runIds;
    int next;

    @Setup
    public void setup() {
      hub = new NaiveBroadcastHub(new BenchCodec());
      runIds = new String[RUNS];
      for (int r = 0; r < RUNS; r++) {
        runIds[r] = "run_" + r;
      }
      for (int i = 0; i < 100_000; i++) {
        BenchConnection c = new BenchConnection("c" + i, "u" + i);
        if (i < RUNS) {
          hub.register(c, runIds[i]);
        } else {
          hub.register(c);
        }
      }
    }
  }

  @Benchmark
  public Result<Long> ours(Ours s) {
    int i = s.next;
    s.next = i + 1 == RUNS ? 0 : i + 1;
    return s.runs[i].publish("delta", PublishBenchmark.DATA);
  }

  @Benchmark
  public int naive(Naive s) {
    int i = s.next;
    s.next = i + 1 == RUNS ? 0 : i + 1;
    return s.hub.publish(s.runIds[i], "s", "delta", PublishBenchmark.DATA);
  }
}
