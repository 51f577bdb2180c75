package dev.runlane.benchmarks;

import dev.runlane.AttachMode;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.SubscribeResult;
import dev.runlane.SubscribeTarget;
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
 * Figure 5a: one connection resuming {@value #MISSED} missed events of a running run: the
 * acknowledgement, the replay of exactly those events and the attach, then a detach so the next
 * operation resumes again (the detach is inside the measured operation). {@link #baseline} is
 * {@link NaiveEventLog}: scan a list of event objects and re-encode each missed one.
 *
 * <p><b>Thread safety:</b> JMH benchmark state, one thread.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ResumeBenchmark {
  /** Events the client missed. */
  public static final int MISSED = 1_000;

  private Runlane rl;
  private RunHandle run;
  private SubscribeTarget target;
  private NaiveEventLog naive;
  private BenchConnection naiveConn;
  private long naiveLastSeq;

  @Setup
  public void setup() {
    rl = Fixtures.builder(new BenchCodec()).build();
    run = resumableRun(rl);
    rl.connect(new BenchConnection("r", "u"));
    target = new SubscribeTarget("s", run.runId(), run.headSeq() - MISSED, run.epoch());
    naive = new NaiveEventLog("run_x", "s", 1024, new BenchCodec());
    for (int i = 0; i < MISSED + 1; i++) {
      naive.append("delta", PublishBenchmark.DATA);
    }
    naiveLastSeq = naive.head() - MISSED;
    naiveConn = new BenchConnection("n", "u");
  }

  /** A running run of principal {@code u} in session {@code s} with {@value #MISSED}+1 events. */
  static RunHandle resumableRun(Runlane rl) {
    RunHandle run = Fixtures.start(rl, "s", "u", null);
    for (int i = 0; i < MISSED; i++) {
      run.publish("delta", PublishBenchmark.DATA);
    }
    return run;
  }

  @TearDown
  public void tearDown() {
    rl.close();
  }

  @Benchmark
  public SubscribeResult ours() {
    SubscribeResult r = rl.subscribe("r", target, AttachMode.ADDITIVE);
    rl.detach(run.runId(), "r");
    return r;
  }

  @Benchmark
  public int baseline() {
    return naive.resume(naiveConn, naiveLastSeq);
  }
}
