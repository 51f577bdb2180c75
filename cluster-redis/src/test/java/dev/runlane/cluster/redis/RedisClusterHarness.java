package dev.runlane.cluster.redis;

import dev.runlane.testredis.RedisServer;

import dev.runlane.AttachMode;
import dev.runlane.Result;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.SubscribeTarget;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.FrameMeta;
import dev.runlane.engine.RunFeed;
import dev.runlane.engine.RunLog;
import dev.runlane.engine.RunLogView;
import dev.runlane.testkit.TextCodec;
import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Payload;
import dev.runlane.transport.SendCallback;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Figures of the Redis engine (docs/benchmarks.md, "Cluster (Redis Streams)"), on a redis-server of
 * its own (persistence off) on loopback. Not a test; run it by hand:
 *
 * <pre>
 * mvn -B -q -pl cluster-redis -am test-compile dependency:build-classpath \
 *     -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test
 * java -cp cluster-redis/target/test-classes:cluster-redis/target/classes:$(cat cluster-redis/target/test-classpath.txt) \
 *     dev.runlane.cluster.redis.RedisClusterHarness [rounds=3] [seed=N]
 * </pre>
 *
 * <p>Prints, median of {@code rounds}: (1) events/s published per node through Redis by a Runlane on
 * the Redis engine (pipelined appends, all confirmed by Redis before the clock stops); (2) latency
 * from an append on node A to its delivery by node B's feed tail, at 20,000 events/s over 20 runs
 * (p50, p99, max); (3) a resume of 1,000 events from Redis ({@code RunLogView.read} on another
 * node); (4) a reconnect storm on one node: 10,000 connections resuming 100 runs of 1,000 events
 * with random lastSeq, replayed from Redis.
 *
 * <p><b>Thread safety:</b> run from one thread.
 */
public final class RedisClusterHarness {
  private RedisClusterHarness() {}

  /** Events/s of the latency figure (default 20,000; {@code rate=N}). */
  private static int rate = 20_000;

  /** {@code only=latency}: the latency figure alone. */
  private static boolean onlyLatency;

  public static void main(String[] args) throws Exception {
    int rounds = 3;
    long seed = System.nanoTime();
    for (String a : args) {
      if (a.startsWith("rate=")) {
        rate = Integer.parseInt(a.substring(5));
      } else if (a.startsWith("only=latency")) {
        onlyLatency = true;
      } else if (a.startsWith("rounds=")) {
        rounds = Integer.parseInt(a.substring(7));
      } else if (a.startsWith("seed=")) {
        seed = Long.parseLong(a.substring(5));
      }
    }
    System.out.println("seed=" + seed + " rounds=" + rounds + " cores=" + Runtime.getRuntime().availableProcessors());
    try (RedisServer redis = RedisServer.start()) {
      double[] pub = new double[rounds];
      double[][] lat = new double[rounds][];
      double[] resume = new double[rounds];
      double[] storm = new double[rounds];
      for (int r = -1; r < rounds; r++) { // round -1 warms up
        try (Fixtures fx = new Fixtures(redis)) {
          double p = onlyLatency ? 0 : publish(fx, r);
          double[] l = latency(fx);
          double re = onlyLatency ? 0 : resume(fx);
          double st = onlyLatency ? 0 : storm(fx, new Random(seed + r));
          if (r >= 0) {
            pub[r] = p;
            lat[r] = l;
            resume[r] = re;
            storm[r] = st;
          }
          System.out.printf(
              "round %d: publish %.0f events/s; cross-node p50 %.2f ms p99 %.2f ms max %.2f ms; resume 1000 %.2f ms; storm %.0f ms%n",
              r, p, l[0], l[1], l[2], re, st);
        }
        flushRedis(redis);
      }
      System.out.printf("%nmedians of %d rounds:%n", rounds);
      System.out.printf("  publish through Redis, one node:     %.0f events/s%n", median(pub));
      System.out.printf("  cross-node latency at " + rate + " events/s:  p50 %.2f ms, p99 %.2f ms, max %.2f ms%n",
          median(col(lat, 0)), median(col(lat, 1)), median(col(lat, 2)));
      System.out.printf("  resume of 1,000 events from Redis:   %.2f ms%n", median(resume));
      System.out.printf("  storm, 10k resumes from Redis:       %.0f ms%n", median(storm));
    }
  }

  private static void flushRedis(RedisServer redis) {
    redis.restart(); // empty again: every round starts from the same store
  }

  private static double[] col(double[][] m, int c) {
    double[] out = new double[m.length];
    for (int i = 0; i < m.length; i++) {
      out[i] = m[i][c];
    }
    return out;
  }

  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    int n = s.length;
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  }

  private static RedisEngine engine(Fixtures fx, String id) {
    return fx.add(fx.builder(id).commandTimeout(Duration.ofSeconds(5)).build());
  }

  private static Runlane runlane(RedisEngine engine, int replayCapacity) {
    return Runlane.builder()
        .codec(new TextCodec())
        .idleTimeout(Duration.ZERO)
        .heartbeatInterval(Duration.ZERO)
        .replayCapacity(replayCapacity)
        .engine(engine)
        .build();
  }

  /** (1) 64 runs on 2 publisher threads, 200,000 events of ~100 bytes; until Redis confirmed the last. */
  private static double publish(Fixtures fx, int round) throws Exception {
    RedisEngine engine = engine(fx, "pub");
    RedisEngine other = engine(fx, "check");
    int runs = 64;
    int threads = 2;
    int perRun = 200_000 / runs;
    String data = "x".repeat(80);
    try (Runlane rl = runlane(engine, 1024)) {
      RunHandle[] hs = new RunHandle[runs];
      for (int i = 0; i < runs; i++) {
        hs[i] = rl.startRun(StartRequest.of("pub" + round + "-" + i, "u")).orElseThrow();
      }
      CountDownLatch go = new CountDownLatch(1);
      Thread[] ts = new Thread[threads];
      for (int t = 0; t < threads; t++) {
        int first = t;
        ts[t] = new Thread(() -> {
          try {
            go.await();
          } catch (InterruptedException e) {
            return;
          }
          for (int e = 0; e < perRun; e++) {
            for (int i = first; i < runs; i += threads) {
              Result<?> r = hs[i].publish("delta", data);
              if (!r.isOk()) {
                throw new IllegalStateException("publish refused: " + r);
              }
            }
          }
        });
        ts[t].start();
      }
      long t0 = System.nanoTime();
      go.countDown();
      for (Thread t : ts) {
        t.join();
      }
      for (RunHandle h : hs) { // every append confirmed by Redis
        RunLogView v = other.view(h.runId());
        long want = perRun + 1; // + run.started
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (v.head() < want && System.nanoTime() < deadline) {
          LockSupport.parkNanos(100_000);
        }
        if (v.head() < want) {
          throw new IllegalStateException("Redis has " + v.head() + " of " + want);
        }
      }
      long nanos = System.nanoTime() - t0;
      return (double) runs * perRun * 1e9 / nanos;
    }
  }

  /** (2) node A appends at 20,000 events/s over 20 runs for 3 s; node B tails them all. */
  private static double[] latency(Fixtures fx) throws Exception {
    RedisEngine a = engine(fx, "lat-a");
    RedisEngine b = engine(fx, "lat-b");
    int runs = 20;
    int seconds = 3;
    RunLog[] logs = new RunLog[runs];
    long total = (long) rate * seconds;
    long[] lat = new long[(int) total];
    AtomicLong got = new AtomicLong();
    List<RunFeed.Tail> tails = new ArrayList<>();
    for (int i = 0; i < runs; i++) {
      String runId = "lat" + i;
      a.directory().claim(Fixtures.record(a, "lat-s" + i, runId));
      logs[i] = a.newLog(runId, 100_000, 0);
      tails.add(b.feed().orElseThrow().tail(runId, 0, new RunFeed.Sink() {
        @Override
        public void frame(EncodedFrame f) {
          long sent = Long.parseLong(((Payload.Text) f.frame().payload()).text().substring(2, 21).trim());
          int idx = (int) got.getAndIncrement();
          if (idx < lat.length) {
            lat[idx] = System.nanoTime() - sent;
          }
        }

        @Override
        public void lost() {}
      }));
    }
    Thread.sleep(300); // the tails join the poller's read
    long interval = 1_000_000_000L / rate;
    long start = System.nanoTime();
    for (long n = 0; n < total; n++) {
      long due = start + n * interval;
      long now;
      while ((now = System.nanoTime()) < due) {
        if (due - now > 200_000) {
          LockSupport.parkNanos(due - now - 100_000);
        } else {
          Thread.onSpinWait();
        }
      }
      int i = (int) (n % runs);
      long seq = logs[i].head() + 1;
      String text = String.format("{\"%19d\",\"p\":\"%s\"}", System.nanoTime(), "x".repeat(60));
      logs[i].append(seq, new EncodedFrame(Frame.stream(text), null, FrameMeta.event(seq)));
    }
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (got.get() < total && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    tails.forEach(RunFeed.Tail::close);
    if (got.get() < total) {
      throw new IllegalStateException("tails got " + got.get() + " of " + total);
    }
    // the first half second warms the path up
    long[] measured = Arrays.copyOfRange(lat, rate / 2, lat.length);
    Arrays.sort(measured);
    return new double[] {
      measured[measured.length / 2] / 1e6, measured[(int) (measured.length * 0.99)] / 1e6, measured[measured.length - 1] / 1e6
    };
  }

  /** (3) a run of 1,000 events written by node A; node B reads all of them from Redis, 200 times. */
  private static double resume(Fixtures fx) {
    RedisEngine a = engine(fx, "res-a");
    RedisEngine b = engine(fx, "res-b");
    a.directory().claim(Fixtures.record(a, "res-s", "res"));
    RunLog log = a.newLog("res", 1000, 0);
    for (long seq = 1; seq <= 1000; seq++) {
      log.append(seq, Fixtures.event(seq, 80));
    }
    RunLogView v = b.view("res");
    while (v.head() < 1000) {
      LockSupport.parkNanos(100_000);
    }
    double[] ms = new double[200];
    for (int i = 0; i < ms.length; i++) {
      long[] n = {0};
      long t0 = System.nanoTime();
      v.read(1, 1000, f -> n[0]++);
      ms[i] = (System.nanoTime() - t0) / 1e6;
      if (n[0] != 1000) {
        throw new IllegalStateException("read " + n[0]);
      }
    }
    return median(ms);
  }

  /** (4) 100 running runs of 1,000 events on one node; 10,000 connections resume at random lastSeq. */
  private static double storm(Fixtures fx, Random rnd) throws Exception {
    RedisEngine engine = engine(fx, "storm");
    int runs = 100;
    int events = 1000;
    int conns = 10_000;
    try (Runlane rl = runlane(engine, 1024)) {
      RunHandle[] hs = new RunHandle[runs];
      for (int r = 0; r < runs; r++) {
        hs[r] = rl.startRun(StartRequest.of("st" + r, "u" + r)).orElseThrow();
        for (int e = 0; e < events; e++) {
          hs[r].publish("delta", "x".repeat(40));
        }
      }
      int threads = 2;
      CountConnection[] cs = new CountConnection[conns];
      SubscribeTarget[] targets = new SubscribeTarget[conns];
      long expected = 0;
      for (int i = 0; i < conns; i++) {
        int r = i % runs;
        cs[i] = new CountConnection("c" + i, "u" + r);
        long last = rnd.nextInt(events + 2);
        expected += events + 1 - last;
        targets[i] = new SubscribeTarget("st" + r, hs[r].runId(), last, hs[r].epoch());
      }
      AtomicLong replayed = new AtomicLong();
      CountDownLatch go = new CountDownLatch(1);
      Thread[] ts = new Thread[threads];
      for (int t = 0; t < threads; t++) {
        int from = t * conns / threads;
        int to = (t + 1) * conns / threads;
        ts[t] = new Thread(() -> {
          try {
            go.await();
          } catch (InterruptedException e) {
            return;
          }
          long n = 0;
          for (int i = from; i < to; i++) {
            rl.connect(cs[i]);
            Result<SubscribeAck> res = rl.subscribe(cs[i].id(), targets[i], AttachMode.ADDITIVE);
            n += res.orElseThrow().replayCount();
          }
          replayed.addAndGet(n);
        });
        ts[t].start();
      }
      long t0 = System.nanoTime();
      go.countDown();
      for (Thread t : ts) {
        t.join();
      }
      long nanos = System.nanoTime() - t0;
      if (replayed.get() != expected) {
        throw new IllegalStateException("storm replayed " + replayed.get() + ", expected " + expected);
      }
      return nanos / 1e6;
    }
  }

  /** A connection whose sends succeed at once and are counted. */
  private static final class CountConnection implements Connection {
    private final String id;
    private final String principal;
    long sends;

    CountConnection(String id, String principal) {
      this.id = id;
      this.principal = principal;
    }

    @Override
    public String id() {
      return id;
    }

    @Override
    public String principal() {
      return principal;
    }

    @Override
    public void send(Frame frame, SendCallback callback) {
      sends++;
      callback.succeeded();
    }

    @Override
    public void close(CloseReason reason) {}

    @Override
    public void terminate() {}

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public Set<Capability> capabilities() {
      return Set.of();
    }
  }
}
