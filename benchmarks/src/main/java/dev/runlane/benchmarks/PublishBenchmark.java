package dev.runlane.benchmarks;

import dev.runlane.codec.Outbound;
import dev.runlane.Result;
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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Figure 1: publishing one event to a run with one recipient whose send completes at once.
 *
 * <p>{@link #ours} goes through Runlane: seq, encode, replay ring, outbox, drain, send, callback.
 * {@link #baseline} is the floor a hand-written single-recipient send costs: build the event,
 * encode it, wrap it in a frame and call {@code send}. Run with {@code -prof gc}: the difference of
 * {@code gc.alloc.rate.norm} is what Runlane allocates beyond the event itself.
 *
 * <p><b>Thread safety:</b> JMH benchmark state, one thread.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PublishBenchmark {
  static final Object DATA = "Hel";
  private static final SendCallback NO_OP =
      new SendCallback() {
        @Override
        public void succeeded() {}

        @Override
        public void failed(Throwable cause) {}
      };

  private Runlane rl;
  private RunHandle run;
  private BenchConnection direct;
  private BenchCodec codec;
  private long seq;

  @Setup
  public void setup() {
    codec = new BenchCodec();
    rl = Fixtures.builder(codec).build();
    BenchConnection c = new BenchConnection("c0", "u0");
    rl.connect(c);
    run = Fixtures.start(rl, "s0", "u0", "c0");
    direct = new BenchConnection("d0", "u0");
  }

  @TearDown
  public void tearDown() {
    rl.close();
  }

  @Benchmark
  public Result<Long> ours() {
    return run.publish("delta", DATA);
  }

  @Benchmark
  public Frame baseline() {
    Frame f =
        new Frame(
            Lane.STREAM,
            codec.encode(new Outbound.RunEvent("run_x", "s0", "e", ++seq, "delta", DATA)));
    direct.send(f, NO_OP);
    return f;
  }
}
