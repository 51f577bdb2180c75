package dev.runlane.benchmarks;

import dev.runlane.codec.SubscribeAck;
import dev.runlane.AttachMode;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.SubscribeTarget;
import dev.runlane.transport.CloseReason;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Figure 5b: a reconnect storm. {@value #RUNS} running runs hold {@value #EVENTS} events each; then
 * {@value #CONNECTIONS} new connections ({@value #CONNECTIONS}/{@value #RUNS} per run) connect and
 * resume at once, each with a random {@code lastSeq} in {@code [0, head]}, on as many threads as
 * the machine has cores. Measured: wall time from the start signal until every connection has its
 * acknowledgement and replay, and replayed events per second. The baseline does the same with one
 * {@link NaiveEventLog} per run and a {@link NaiveBroadcastHub}-style registration.
 *
 * <p><b>Thread safety:</b> run from one thread; it starts and joins its worker threads.
 */
public final class ReconnectStormHarness {
  /** Running runs. */
  public static final int RUNS = 1_000;
  /** Events retained per run (plus {@code run.started}). */
  public static final int EVENTS = 1_000;
  /** Connections resuming at once. */
  public static final int CONNECTIONS = 10_000;

  /** One storm: wall time and events replayed. */
  public record Round(long nanos, long replayed) {
    /** Replayed events per second. */
    public double eventsPerSecond() {
      return replayed * 1e9 / nanos;
    }
  }

  /** Medians over {@code rounds} storms of each kind. */
  public record Result(List<Round> ours, List<Round> naive, int threads, long seed) {}

  /** Runs {@code rounds} storms against Runlane and as many against the baseline, alternating. */
  public static Result run(int rounds, long seed) {
    int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
    List<Round> ours = new ArrayList<>();
    List<Round> naive = new ArrayList<>();
    try (Runlane rl = Fixtures.builder(new BenchCodec()).build()) {
      RunHandle[] runs = new RunHandle[RUNS];
      for (int r = 0; r < RUNS; r++) {
        runs[r] = Fixtures.start(rl, "s" + r, "u" + r, null);
        for (int e = 0; e < EVENTS; e++) {
          runs[r].publish("delta", PublishBenchmark.DATA);
        }
      }
      NaiveEventLog[] logs = new NaiveEventLog[RUNS];
      for (int r = 0; r < RUNS; r++) {
        logs[r] = new NaiveEventLog("run_" + r, "s" + r, 1024, new BenchCodec());
        for (int e = 0; e <= EVENTS; e++) {
          logs[r].append("delta", PublishBenchmark.DATA);
        }
      }
      Random rnd = new Random(seed);
      for (int round = 0; round < rounds + 1; round++) {
        long[] lastSeq = new long[CONNECTIONS];
        for (int i = 0; i < CONNECTIONS; i++) {
          lastSeq[i] = rnd.nextInt(EVENTS + 2); // 0 .. head (EVENTS + 1)
        }
        Round o = stormOurs(rl, runs, lastSeq, threads, round);
        Round n = stormNaive(logs, lastSeq, threads, round);
        if (round > 0) { // round 0 warms up both
          ours.add(o);
          naive.add(n);
        }
      }
    }
    return new Result(ours, naive, threads, seed);
  }

  private static Round stormOurs(Runlane rl, RunHandle[] runs, long[] lastSeq, int threads, int round) {
    BenchConnection[] cs = new BenchConnection[CONNECTIONS];
    SubscribeTarget[] targets = new SubscribeTarget[CONNECTIONS];
    BenchConnection.Sink[] sinks = sinks(threads);
    for (int i = 0; i < CONNECTIONS; i++) {
      int r = i % RUNS;
      cs[i] = new BenchConnection("storm" + round + "-" + i, "u" + r, sinks[i / slice(threads)]);
      targets[i] = new SubscribeTarget("s" + r, runs[r].runId(), lastSeq[i], runs[r].epoch());
    }
    AtomicLong replayed = new AtomicLong();
    long nanos =
        parallel(
            threads,
            (from, to) -> {
              long n = 0;
              for (int i = from; i < to; i++) {
                rl.connect(cs[i]);
                dev.runlane.Result<SubscribeAck> res = rl.subscribe(cs[i].id(), targets[i], AttachMode.ADDITIVE);
                n += res.orElseThrow().replayCount();
              }
              replayed.addAndGet(n);
            });
    long expected = 0;
    for (long s : lastSeq) {
      expected += EVENTS + 1 - s;
    }
    if (replayed.get() != expected) {
      throw new IllegalStateException("storm replayed " + replayed.get() + ", expected " + expected);
    }
    for (BenchConnection c : cs) {
      rl.disconnect(c.id(), CloseReason.NORMAL);
    }
    return new Round(nanos, replayed.get());
  }

  private static Round stormNaive(NaiveEventLog[] logs, long[] lastSeq, int threads, int round) {
    BenchConnection[] cs = new BenchConnection[CONNECTIONS];
    BenchConnection.Sink[] sinks = sinks(threads);
    for (int i = 0; i < CONNECTIONS; i++) {
      cs[i] = new BenchConnection("storm" + round + "-" + i, "u" + i % RUNS, sinks[i / slice(threads)]);
    }
    NaiveBroadcastHub hub = new NaiveBroadcastHub(new BenchCodec());
    AtomicLong replayed = new AtomicLong();
    long nanos =
        parallel(
            threads,
            (from, to) -> {
              long n = 0;
              for (int i = from; i < to; i++) {
                int r = i % RUNS;
                hub.register(cs[i], "run_" + r);
                n += logs[r].resume(cs[i], lastSeq[i]);
              }
              replayed.addAndGet(n);
            });
    return new Round(nanos, replayed.get());
  }

  /** Connections per worker thread: worker t handles {@code [t*slice, (t+1)*slice)}. */
  private static int slice(int threads) {
    return (CONNECTIONS + threads - 1) / threads;
  }

  /** One sink per worker thread, so workers do not write one shared cache line. */
  private static BenchConnection.Sink[] sinks(int threads) {
    BenchConnection.Sink[] s = new BenchConnection.Sink[threads];
    for (int i = 0; i < threads; i++) {
      s[i] = new BenchConnection.Sink();
    }
    return s;
  }

  interface Slice {
    void run(int from, int to);
  }

  private static long parallel(int threads, Slice work) {
    CountDownLatch go = new CountDownLatch(1);
    Thread[] ts = new Thread[threads];
    int per = slice(threads);
    for (int t = 0; t < threads; t++) {
      int from = t * per;
      int to = Math.min(CONNECTIONS, from + per);
      ts[t] =
          new Thread(
              () -> {
                try {
                  go.await();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                  return;
                }
                work.run(from, to);
              },
              "storm-" + t);
      ts[t].start();
    }
    long t0 = System.nanoTime();
    go.countDown();
    for (Thread t : ts) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    return System.nanoTime() - t0;
  }
}
