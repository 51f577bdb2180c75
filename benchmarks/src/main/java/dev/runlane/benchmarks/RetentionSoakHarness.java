package dev.runlane.benchmarks;

import dev.runlane.AttachMode;
import dev.runlane.EngineSnapshot;
import dev.runlane.ResumeStatus;
import dev.runlane.Result;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.SubscribeTarget;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.protocol.json.JsonWireCodec;
import dev.runlane.transport.CloseReason;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The soak of issue 17: run churn against a process-wide retention budget, and the live heap after
 * each full GC, which must stay within the budget plus a constant with no upward trend. Not a test.
 *
 * <pre>
 * mvn -B -q -pl benchmarks -am package -DskipTests
 * java -Xmx2g -cp benchmarks/target/benchmarks.jar dev.runlane.benchmarks.RetentionSoakHarness \
 *     minutes=10 budgetMiB=256 runsPerSecond=200
 * </pre>
 *
 * <p>Each run publishes 100–1,000 events of 50 B–8 KiB (JSON codec, retention 5 minutes, so ended
 * runs would pile up without the budget) and ends — one in eight stays running until 50 newer ones
 * do; a quarter of the time a fresh connection
 * resumes a random earlier run (ended, evicted or running) from a random seq, and its answer is
 * checked: an evicted run answers UNKNOWN_RUN, a trimmed one TRUNCATED, never a silent gap. Every
 * {@code sampleSeconds}, a full GC and the live heap. Prints a line per sample and a summary (least
 * squares slope of the live heap after the first minute, MiB per minute), and writes {@code benchmarks/results/soak.json}.
 */
public final class RetentionSoakHarness {
  private RetentionSoakHarness() {}

  public static void main(String[] args) throws IOException {
    double minutes = arg(args, "minutes", 10);
    long budget = (long) arg(args, "budgetMiB", 256) << 20;
    double runsPerSecond = arg(args, "runsPerSecond", 200);
    double sampleSeconds = arg(args, "sampleSeconds", 10);
    MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
    SplittableRandom rnd = new SplittableRandom(42);
    List<double[]> samples = new ArrayList<>(); // {minute, live MiB, retained MiB}
    long runs = 0;
    long events = 0;
    long resumes = 0;
    long wrongAnswers = 0;
    List<RunHandle> known = new ArrayList<>();
    List<RunHandle> open = new ArrayList<>();
    try (Runlane rl =
        Runlane.builder()
            .codec(new JsonWireCodec())
            .maxRetainedBytes(budget)
            .retention(Duration.ofMinutes(5))
            .build()) {
      String[] bodies = new String[64];
      for (int i = 0; i < bodies.length; i++) {
        bodies[i] = "x".repeat(50 + rnd.nextInt(8 * 1024 - 50));
      }
      long start = System.nanoTime();
      long end = start + (long) (minutes * 60e9);
      long nextSample = start;
      long nanosPerRun = (long) (1e9 / runsPerSecond);
      long nextRun = start;
      while (System.nanoTime() < end) {
        long now = System.nanoTime();
        if (now >= nextSample) {
          System.gc();
          double live = mem.getHeapMemoryUsage().getUsed() / 1048576.0;
          EngineSnapshot s = rl.snapshot();
          double minute = (now - start) / 60e9;
          samples.add(new double[] {minute, live, s.retainedBytes() / 1048576.0});
          System.out.printf(Locale.ROOT, "%6.2f min  live heap %7.1f MiB  retained %6.1f MiB  runs %d (held %d, evicted early %d, trimmed %d)  resumes %d  wrong %d%n",
              minute, live, s.retainedBytes() / 1048576.0, runs, s.runningRuns() + s.retainedRuns(), s.budgetEvictedRuns(), s.budgetTrimmedRuns(), resumes, wrongAnswers);
          nextSample = now + (long) (sampleSeconds * 1e9);
        }
        if (now < nextRun) {
          Thread.onSpinWait();
          continue;
        }
        nextRun += nanosPerRun;
        runs++;
        RunHandle run = rl.startRun(StartRequest.of("s" + runs, "soak")).orElseThrow();
        int n = 100 + rnd.nextInt(901);
        for (int i = 0; i < n; i++) {
          if (run.publish("delta", bodies[rnd.nextInt(bodies.length)]).isOk()) {
            events++;
          }
        }
        if (rnd.nextInt(8) != 0) {
          run.complete(null);
        } else {
          open.add(run); // some runs stay running a while: the budget must trim them too
          if (open.size() > 50) {
            open.remove(0).complete(null); // and end, as a run timeout would
          }
        }
        if (known.size() < 10_000) {
          known.add(run);
        } else {
          known.set(rnd.nextInt(known.size()), run);
        }
        if (rnd.nextInt(4) == 0) {
          resumes++;
          if (!resumeIsAnnounced(rl, known.get(rnd.nextInt(known.size())), rnd, resumes)) {
            wrongAnswers++;
          }
        }
      }
    }
    // the slope after the first minute: the budget fills during the first one, which is not a trend
    double slope = slope(samples.stream().filter(x -> x[0] >= 1.0).toList());
    double maxLive = samples.stream().mapToDouble(x -> x[1]).max().orElse(0);
    double lastHalfMax = samples.subList(samples.size() / 2, samples.size()).stream().mapToDouble(x -> x[1]).max().orElse(0);
    String summary = String.format(Locale.ROOT,
        "{\"minutes\":%.1f,\"budgetMiB\":%d,\"runs\":%d,\"events\":%d,\"resumes\":%d,\"wrongAnswers\":%d,"
            + "\"maxLiveHeapMiB\":%.1f,\"maxLiveHeapSecondHalfMiB\":%.1f,\"liveHeapSlopeMiBPerMinute\":%.2f}",
        minutes, budget >> 20, runs, events, resumes, wrongAnswers, maxLive, lastHalfMax, slope);
    System.out.println(summary);
    Files.createDirectories(Path.of("benchmarks/results"));
    Files.writeString(Path.of("benchmarks/results/soak.json"), summary + "\n");
  }

  /** A fresh connection resumes {@code run} from a random seq: is every gap announced? */
  private static boolean resumeIsAnnounced(Runlane rl, RunHandle run, SplittableRandom rnd, long n) {
    BenchConnection c = new BenchConnection("resume-" + n, "soak");
    rl.connect(c);
    try {
      long lastSeq = rnd.nextLong(Math.max(1, run.headSeq()));
      Result<SubscribeAck> r =
          rl.subscribe(c.id(), new SubscribeTarget(run.sessionId(), run.runId(), lastSeq, run.epoch()), AttachMode.ADDITIVE);
      SubscribeAck ack = r.orElseThrow();
      if (ack.status() == ResumeStatus.UNKNOWN_RUN) {
        return rl.run(run.runId()).isEmpty(); // announced only if really gone
      }
      boolean gap = ack.replayFrom() > lastSeq + 1;
      return gap == ack.truncated();
    } finally {
      rl.disconnect(c.id(), CloseReason.NORMAL);
    }
  }

  private static double slope(List<double[]> s) {
    int n = s.size();
    if (n < 2) {
      return 0;
    }
    double mx = 0;
    double my = 0;
    for (double[] p : s) {
      mx += p[0];
      my += p[1];
    }
    mx /= n;
    my /= n;
    double num = 0;
    double den = 0;
    for (double[] p : s) {
      num += (p[0] - mx) * (p[1] - my);
      den += (p[0] - mx) * (p[0] - mx);
    }
    return den == 0 ? 0 : num / den;
  }

  private static double arg(String[] args, String name, double def) {
    for (String a : args) {
      if (a.startsWith(name + "=")) {
        return Double.parseDouble(a.substring(name.length() + 1));
      }
    }
    return def;
  }
}
