package dev.runlane.benchmarks;

import dev.runlane.Result;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * Figure 8: 1, 2 and 4 publisher threads, each on its own run with its own recipient, sharing one
 * Runlane. JMH's throughput mode sums the threads: aggregate events per second. The baseline is
 * the one-thread figure (scaling); this machine has 2 cores, so 4 threads oversubscribe it.
 *
 * <p><b>Thread safety:</b> one {@link Shared} per trial, one {@link PerThread} per thread.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ConcurrentPublishBenchmark {

  /** The shared Runlane. */
  @State(Scope.Benchmark)
  public static class Shared {
    Runlane rl;
    final AtomicInteger threads = new AtomicInteger();

    @Setup
    public void setup() {
      rl = Fixtures.builder(new BenchCodec()).build();
    }

    @TearDown
    public void tearDown() {
      rl.close();
    }
  }

  /** One thread's run and recipient. */
  @State(Scope.Thread)
  public static class PerThread {
    RunHandle run;

    @Setup
    public void setup(Shared s) {
      int n = s.threads.getAndIncrement();
      s.rl.connect(new BenchConnection("c" + n, "u" + n, new BenchConnection.Sink()));
      run = Fixtures.start(s.rl, "s" + n, "u" + n, "c" + n);
    }
  }

  @Benchmark
  @Threads(1)
  public Result<Long> threads1(PerThread t) {
    return t.run.publish("delta", PublishBenchmark.DATA);
  }

  @Benchmark
  @Threads(2)
  public Result<Long> threads2(PerThread t) {
    return t.run.publish("delta", PublishBenchmark.DATA);
  }

  @Benchmark
  @Threads(4)
  public Result<Long> threads4(PerThread t) {
    return t.run.publish("delta", PublishBenchmark.DATA);
  }
}
