package dev.runlane.benchmarks;

import dev.runlane.codec.SubscribeAck;
import dev.runlane.AttachMode;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.Result;
import dev.runlane.SubscribeTarget;
import dev.runlane.transport.CloseReason;
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
 * Figure 5a: a client reconnecting and resuming {@value #MISSED} missed events of a running run.
 * One operation is what a reconnect costs the server: register the new connection (its welcome),
 * subscribe with {@code lastSeq = head - }{@value #MISSED} (the acknowledgement, the replay of
 * exactly those events, the attach) and, so the next operation starts alike, disconnect it. (A
 * connection that stays open keeps its cursor in the run, so re-subscribing the same connection
 * would rightly replay nothing.) {@link #baseline} does the same with {@link NaiveEventLog} and a
 * {@link NaiveBroadcastHub}-style registration: scan a list of event objects and re-encode each
 * missed one.
 *
 * <p><b>Thread safety:</b> JMH benchmark state, one thread.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ResumeBenchmark {
  /** Events the client missed. */
  public static final int MISSED = 1_000;

  private static final int IDS = 1024;

  private Runlane rl;
  private SubscribeTarget target;
  private String[] ids;
  private int next;
  private NaiveEventLog naive;
  private NaiveBroadcastHub hub;
  private long naiveLastSeq;

  @Setup
  public void setup() {
    rl = Fixtures.builder(new BenchCodec()).build();
    RunHandle run = resumableRun(rl);
    target = new SubscribeTarget("s", run.runId(), run.headSeq() - MISSED, run.epoch());
    ids = new String[IDS];
    for (int i = 0; i < IDS; i++) {
      ids[i] = "r" + i;
    }
    naive = new NaiveEventLog("run_x", "s", 1024, new BenchCodec());
    for (int i = 0; i < MISSED + 1; i++) {
      naive.append("delta", PublishBenchmark.DATA);
    }
    naiveLastSeq = naive.head() - MISSED;
    hub = new NaiveBroadcastHub(new BenchCodec());
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

  private String nextId() {
    int i = next;
    next = i + 1 == IDS ? 0 : i + 1;
    return ids[i];
  }

  @Benchmark
  public Result<SubscribeAck> ours() {
    BenchConnection c = new BenchConnection(nextId(), "u");
    rl.connect(c);
    Result<SubscribeAck> r = rl.subscribe(c.id(), target, AttachMode.ADDITIVE);
    rl.disconnect(c.id(), CloseReason.NORMAL);
    return r;
  }

  @Benchmark
  public int baseline() {
    BenchConnection c = new BenchConnection(nextId(), "u");
    hub.register(c, "run_x");
    int n = naive.resume(c, naiveLastSeq);
    hub.unregister(c.id());
    return n;
  }
}
