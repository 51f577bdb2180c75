package dev.runlane.benchmarks;

import dev.runlane.AttachMode;
import dev.runlane.Result;
import dev.runlane.codec.Outbound;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.SendCallback;
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
 * Figure 2: one run fanning out to 1, 100 and 1,000 recipients. Deliveries per second are {@code
 * recipients / (ns per op)}. The payload is encoded once per event (checked by {@link
 * Checks#encodeOnce}). {@link #baseline} encodes once and loops over the same connections calling
 * {@code send}: the floor, with no sequencing, retention or outbox.
 *
 * <p><b>Thread safety:</b> JMH benchmark state, one thread.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class FanOutBenchmark {
  private static final SendCallback NO_OP =
      new SendCallback() {
        @Override
        public void succeeded() {}

        @Override
        public void failed(Throwable cause) {}
      };

  @Param({"1", "100", "1000"})
  public int recipients;

  private Runlane rl;
  private RunHandle run;
  private BenchConnection[] direct;
  private BenchCodec codec;
  private long seq;

  @Setup
  public void setup() {
    codec = new BenchCodec();
    rl = Fixtures.builder(codec).build();
    run = fanOutRun(rl, Fixtures.connect(rl, "c", recipients, i -> "u"));
    direct = new BenchConnection[recipients];
    for (int i = 0; i < recipients; i++) {
      direct[i] = new BenchConnection("d" + i, "u");
    }
  }

  /** A run of principal {@code u} whose recipients are {@code cs} (registered, principal u). */
  static RunHandle fanOutRun(Runlane rl, BenchConnection[] cs) {
    RunHandle run = Fixtures.start(rl, "s", "u", cs[0].id());
    for (int i = 1; i < cs.length; i++) {
      Result<RunHandle> a = rl.attach(run.runId(), cs[i].id(), AttachMode.ADDITIVE);
      if (!a.isOk()) {
        throw new IllegalStateException("attach " + cs[i].id() + ": " + a);
      }
    }
    return run;
  }

  @TearDown
  public void tearDown() {
    rl.close();
  }

  @Benchmark
  public Result<Long> ours() {
    return run.publish("delta", PublishBenchmark.DATA);
  }

  @Benchmark
  public Frame baseline() {
    Frame f =
        new Frame(
            Lane.STREAM,
            codec.encode(
                new Outbound.RunEvent("run_x", "s", "e", ++seq, "delta", PublishBenchmark.DATA)));
    for (BenchConnection c : direct) {
      c.send(f, NO_OP);
    }
    return f;
  }
}
