package dev.runlane.benchmarks;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * The quick pass: checks the fixtures, runs every JMH benchmark briefly (1 fork, 2 warm-up and 4
 * measured iterations of 1 s, a full GC between iterations, with {@code -prof gc}) and the three
 * harnesses (memory,
 * head-of-line, reconnect storm), then prints one table of figure / ours / baseline / ratio /
 * target and writes the raw results under {@code benchmarks/results/}: {@code jmh.json} (JMH's
 * own JSON), {@code harness.json} (this table and the harnesses' raw numbers) and {@code
 * quickpass.md} (the table).
 *
 * <pre>
 * mvn -B -q -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar [warmup=2] [measure=4] [seconds=1] [forks=1]
 *     [include=REGEX] [harness=false] [results=DIR]
 * </pre>
 *
 * <p>Figures are medians of the measured iterations (JMH) or rounds (harnesses); every baseline is
 * measured in the same run. Any single benchmark can also be run with JMH's own command line:
 * {@code java -cp benchmarks/target/benchmarks.jar org.openjdk.jmh.Main Publish -prof gc}.
 *
 * <p><b>Thread safety:</b> a command-line program.
 */
public final class QuickPass {
  private QuickPass() {}

  /** One line of the table. */
  record Row(
      String figure,
      String ours,
      String baseline,
      String ratio,
      String target,
      String verdict,
      Map<String, Object> raw) {}

  public static void main(String[] args) throws IOException, RunnerException {
    Map<String, String> opts = new LinkedHashMap<>();
    for (String a : args) {
      int eq = a.indexOf('=');
      if (eq < 1) {
        System.err.println("arguments are key=value: warmup, measure, seconds, forks, include, harness, results");
        System.exit(2);
      }
      opts.put(a.substring(0, eq), a.substring(eq + 1));
    }
    int warmup = Integer.parseInt(opts.getOrDefault("warmup", "2"));
    int measure = Integer.parseInt(opts.getOrDefault("measure", "4"));
    int seconds = Integer.parseInt(opts.getOrDefault("seconds", "1"));
    int forks = Integer.parseInt(opts.getOrDefault("forks", "1"));
    String include = opts.getOrDefault("include", "dev\\.runlane\\.benchmarks\\..*");
    boolean harness = Boolean.parseBoolean(opts.getOrDefault("harness", "true"));
    Path dir = Paths.get(opts.getOrDefault("results", defaultResultsDir()));
    Files.createDirectories(dir);

    Instant started = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    Map<String, Object> machine = machine();
    machine.put("loadAverageAtStart", procLine("/proc/loadavg"));
    System.out.println("Runlane quick pass, " + started);
    machine.forEach((k, v) -> System.out.println("  " + k + ": " + v));
    System.out.println();
    System.out.print(Checks.all());
    System.out.println();

    Path jmhJson = dir.resolve("jmh.json");
    ChainedOptionsBuilder ob =
        new OptionsBuilder()
            .include(include)
            .warmupIterations(warmup)
            .warmupTime(TimeValue.seconds(seconds))
            .measurementIterations(measure)
            .measurementTime(TimeValue.seconds(seconds))
            .forks(forks)
            .shouldDoGC(true) // a full GC between iterations: set-up garbage is not billed to one
            .addProfiler(GCProfiler.class)
            .jvmArgsAppend("-Xms2g", "-Xmx4g")
            .shouldFailOnError(true)
            .result(jmhJson.toString())
            .resultFormat(ResultFormatType.JSON);
    Collection<RunResult> jmh = new Runner(ob.build()).run();

    List<Row> rows = new ArrayList<>();
    jmhRows(jmh, rows);
    Map<String, Object> harnessRaw = new LinkedHashMap<>();
    if (harness) {
      harnessRows(rows, harnessRaw);
    }

    machine.put("loadAverageAtEnd", procLine("/proc/loadavg"));
    String table = table(rows);
    System.out.println();
    System.out.println(
        "Runlane quick pass " + started + " (medians; baselines from the same run; load average "
            + machine.get("loadAverageAtStart") + " -> " + machine.get("loadAverageAtEnd") + ")");
    System.out.println(table);
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("started", started.toString());
    json.put("machine", machine);
    json.put("options", opts);
    List<Object> jr = new ArrayList<>();
    for (Row r : rows) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("figure", r.figure());
      m.put("ours", r.ours());
      m.put("baseline", r.baseline());
      m.put("ratio", r.ratio());
      m.put("target", r.target());
      m.put("verdict", r.verdict());
      m.put("raw", r.raw());
      jr.add(m);
    }
    json.put("rows", jr);
    json.put("harness", harnessRaw);
    Files.writeString(dir.resolve("harness.json"), Json.write(json) + "\n", StandardCharsets.UTF_8);
    Files.writeString(
        dir.resolve("quickpass.md"),
        "Runlane quick pass " + started + ", load average " + machine.get("loadAverageAtStart")
            + " -> " + machine.get("loadAverageAtEnd") + "\n\n" + table + "\n",
        StandardCharsets.UTF_8);
    System.out.println("raw results: " + jmhJson + ", " + dir.resolve("harness.json"));
  }

  private static String defaultResultsDir() {
    return Files.isDirectory(Paths.get("benchmarks")) ? "benchmarks/results" : "results";
  }

  // ------------------------------------------------------------------ JMH figures

  private static void jmhRows(Collection<RunResult> results, List<Row> rows) {
    RunResult p = find(results, "PublishBenchmark.ours", null, null);
    RunResult pb = find(results, "PublishBenchmark.baseline", null, null);
    if (p != null && pb != null) {
      double o = median(p);
      double b = median(pb);
      rows.add(row("1 publish, 1 recipient (ns/event)", ns(o), ns(b), x(o / b), "<= 150 ns", o <= 150, raw(p, pb)));
      double oa = medianSecondary(p, "gc.alloc.rate.norm");
      double ba = medianSecondary(pb, "gc.alloc.rate.norm");
      rows.add(
          row(
              "1 allocated per event (B/event)",
              bytes(oa),
              bytes(ba),
              String.format(Locale.ROOT, "+%.0f B", oa - ba),
              "<= 64 B beyond the event",
              // whole bytes: the fraction is JMH's own allocation amortized over the operations
              Math.round(oa - ba) <= 64,
              raw(p, pb)));
    }
    for (String n : new String[] {"1", "100", "1000"}) {
      RunResult f = find(results, "FanOutBenchmark.ours", "recipients", n);
      RunResult fb = find(results, "FanOutBenchmark.baseline", "recipients", n);
      if (f != null && fb != null) {
        int k = Integer.parseInt(n);
        double o = k * 1e9 / median(f);
        double b = k * 1e9 / median(fb);
        rows.add(
            row(
                "2 fan-out to " + String.format(Locale.ROOT, "%,d", k) + " (deliveries/s)",
                rate(o),
                rate(b),
                x(o / b),
                ">= 20 M/s",
                o >= 20e6,
                raw(f, fb)));
      }
    }
    RunResult big = find(results, "RoutingBenchmark.ours", "connections", "100000");
    RunResult small = find(results, "RoutingBenchmark.ours", "connections", "10");
    RunResult same = find(results, "RoutingBenchmark.ours", "connections", "10000");
    RunResult naive = find(results, "RoutingBenchmark.naive", null, null);
    if (big != null && small != null) {
      double o = median(big);
      double b = median(small);
      rows.add(
          row(
              "3 routing, 100k conns vs 10 conns, 10k runs (ns/event)",
              ns(o),
              ns(b),
              x(o / b),
              "<= 1.2x",
              o / b <= 1.2,
              raw(big, small)));
    }
    if (big != null && same != null) {
      double o = median(big);
      double b = median(same);
      rows.add(
          row(
              "3   100k conns vs only the 10k recipients registered (ns/event)",
              ns(o),
              ns(b),
              x(o / b),
              "<= 1.2x",
              o / b <= 1.2,
              raw(big, same)));
    }
    if (big != null && naive != null) {
      double o = median(big);
      double b = median(naive);
      rows.add(
          row(
              "3 routing vs naive broadcast+filter, 100k conns (ns/event)",
              ns(o),
              ns(b),
              String.format(Locale.ROOT, "%,.0fx cheaper", b / o),
              ">= 1,000x cheaper",
              b / o >= 1000,
              raw(big, naive)));
    }
    RunResult ps = find(results, "PeerBenchmark.spring", null, null);
    for (String ring : new String[] {"1024", "16"}) {
      RunResult po = find(results, "PeerBenchmark.ours", "ring", ring);
      if (po != null && ps != null) {
        double o = PeerBenchmark.PER_RUN * 1e9 / median(po);
        double b = PeerBenchmark.PER_RUN * 1e9 / median(ps);
        rows.add(
            row(
                ring.equals("1024")
                    ? "4 peer: Spring SimpleBroker, 1k runs x 10 (deliveries/s)"
                    : "4   same, replayCapacity 16 (diagnostic)",
                rate(o),
                rate(b),
                x(o / b),
                ">= 5x",
                o / b >= 5,
                raw(po, ps)));
      }
    }
    RunResult ro = find(results, "ResumeBenchmark.ours", null, null);
    RunResult rb = find(results, "ResumeBenchmark.baseline", null, null);
    if (ro != null && rb != null) {
      double o = median(ro);
      double b = median(rb);
      rows.add(
          row(
              "5 resume 1,000 missed events (us)",
              us(o),
              us(b),
              x(o / b),
              "<= 50 us",
              o <= 50_000,
              raw(ro, rb)));
    }
    RunResult t1 = find(results, "ConcurrentPublishBenchmark.threads1", null, null);
    for (String t : new String[] {"1", "2", "4"}) {
      RunResult tr = find(results, "ConcurrentPublishBenchmark.threads" + t, null, null);
      if (tr != null && t1 != null) {
        double o = median(tr);
        double b = median(t1);
        rows.add(
            row(
                "8 publishers on distinct runs, " + t + " thread(s) (events/s)",
                rate(o),
                rate(b) + " (1 thread)",
                x(o / b),
                "-",
                null,
                raw(tr, t1)));
      }
    }
  }

  private static @Nullable RunResult find(
      Collection<RunResult> results, String benchmark, @Nullable String param, @Nullable String value) {
    for (RunResult r : results) {
      if (!r.getParams().getBenchmark().endsWith("." + benchmark)) {
        continue;
      }
      if (param == null || r.getParams().getParam(param).equals(value)) {
        return r;
      }
    }
    return null;
  }

  static double median(RunResult r) {
    List<Double> v = new ArrayList<>();
    for (BenchmarkResult b : r.getBenchmarkResults()) {
      for (IterationResult i : b.getIterationResults()) {
        v.add(i.getPrimaryResult().getScore());
      }
    }
    return median(v);
  }

  @SuppressWarnings("rawtypes") // JMH's getSecondaryResults() is Map<String, Result> (raw)
  static double medianSecondary(RunResult r, String suffix) {
    List<Double> v = new ArrayList<>();
    for (BenchmarkResult b : r.getBenchmarkResults()) {
      for (IterationResult i : b.getIterationResults()) {
        for (var e : i.getSecondaryResults().entrySet()) {
          if (e.getKey().endsWith(suffix)) {
            v.add(e.getValue().getScore());
          }
        }
      }
    }
    return median(v);
  }

  private static double median(List<Double> v) {
    double[] a = new double[v.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = v.get(i);
    }
    return Fixtures.median(a);
  }

  private static Map<String, Object> raw(RunResult ours, RunResult baseline) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("ours", describe(ours));
    m.put("baseline", describe(baseline));
    return m;
  }

  private static Map<String, Object> describe(RunResult r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("benchmark", r.getParams().getBenchmark());
    for (String k : r.getParams().getParamsKeys()) {
      m.put("param." + k, r.getParams().getParam(k));
    }
    m.put("threads", r.getParams().getThreads());
    m.put("unit", r.getPrimaryResult().getScoreUnit());
    m.put("median", median(r));
    m.put("mean", r.getPrimaryResult().getScore());
    m.put("error", r.getPrimaryResult().getScoreError());
    double alloc = medianSecondary(r, "gc.alloc.rate.norm");
    if (!Double.isNaN(alloc)) {
      m.put("allocBytesPerOp", alloc);
    }
    return m;
  }

  // ------------------------------------------------------------------ harness figures

  private static void harnessRows(List<Row> rows, Map<String, Object> raw) {
    System.out.println("harness: memory");
    Map<String, Double> mem = MemoryHarness.run(1);
    raw.put("memory", mem);
    rows.add(memRow("6 retained heap per idle connection (B)", mem.get("idleConnection"), "<= 1 KiB", 1024));
    rows.add(memRow("6 per running run, ring holds run.started (B)", mem.get("runningRun"), "<= 2 KiB", 2048));
    rows.add(
        memRow(
            "6   same with replayCapacity 16 (B, diagnostic)",
            mem.get("runningRunCapacity16"),
            "<= 2 KiB",
            2048));
    rows.add(memRow("6 per retained event, payload excluded (B)", mem.get("retainedEvent"), "<= 48 B", 48));

    System.out.println("harness: head-of-line");
    HeadOfLineHarness.Result h = HeadOfLineHarness.run(200, 1_000);
    Map<String, Object> hr = new LinkedHashMap<>();
    hr.put("backlogFrames", HeadOfLineHarness.BACKLOG);
    hr.put("writeNanosPerFrame", h.writeNanos());
    hr.put("samplesEach", h.samples());
    hr.put("ours", percentiles(h.ours()));
    hr.put("fifo", percentiles(h.fifo()));
    hr.put("oursFramesAhead", percentiles(h.oursFramesAhead()));
    hr.put("fifoFramesAhead", percentiles(h.fifoFramesAhead()));
    raw.put("headOfLine", hr);
    double p99 = h.ours().getValueAtPercentile(99);
    double f99 = h.fifo().getValueAtPercentile(99);
    rows.add(holRow("7 control frame behind 10k backlog, p50 (us)", h, 50, null));
    rows.add(
        row(
            "7 control frame behind 10k backlog, p99 (us)",
            us(p99),
            us(f99) + " (FIFO)",
            String.format(Locale.ROOT, "%.2f%%", 100 * p99 / f99),
            "<= 1% of FIFO",
            p99 / f99 <= 0.01,
            Map.of()));
    rows.add(holRow("7 control frame behind 10k backlog, max (us)", h, 100, null));
    double a99 = h.oursFramesAhead().getValueAtPercentile(99);
    double fa99 = h.fifoFramesAhead().getValueAtPercentile(99);
    rows.add(
        row(
            "7   frames written before it, p99 (noise-free)",
            String.format(Locale.ROOT, "%,.0f", a99),
            String.format(Locale.ROOT, "%,.0f (FIFO)", fa99),
            String.format(Locale.ROOT, "%.2f%%", 100 * a99 / fa99),
            "-",
            null,
            Map.of()));

    System.out.println("harness: reconnect storm");
    ReconnectStormHarness.Result s = ReconnectStormHarness.run(3, 42);
    Map<String, Object> sr = new LinkedHashMap<>();
    sr.put("threads", s.threads());
    sr.put("seed", s.seed());
    sr.put("connections", ReconnectStormHarness.CONNECTIONS);
    sr.put("runs", ReconnectStormHarness.RUNS);
    sr.put("ours", rounds(s.ours()));
    sr.put("naive", rounds(s.naive()));
    raw.put("reconnectStorm", sr);
    double oms = medianOf(s.ours(), true) / 1e6;
    double bms = medianOf(s.naive(), true) / 1e6;
    double oeps = medianOf(s.ours(), false);
    double beps = medianOf(s.naive(), false);
    rows.add(
        row(
            "5 reconnect storm, 10k conns, random lastSeq (ms total)",
            String.format(Locale.ROOT, "%.1f ms", oms),
            String.format(Locale.ROOT, "%.1f ms", bms),
            x(oms / bms),
            "-",
            null,
            Map.of()));
    rows.add(
        row(
            "5 reconnect storm (replayed events/s)",
            rate(oeps),
            rate(beps),
            x(oeps / beps),
            "-",
            null,
            Map.of()));
  }

  private static Row memRow(String figure, @Nullable Double v, String target, double limit) {
    double d = v == null ? Double.NaN : v;
    return row(figure, bytes(d), "-", "-", target, d <= limit, Map.of());
  }

  private static Row holRow(String figure, HeadOfLineHarness.Result h, double pct, @Nullable Boolean ok) {
    double o = pct >= 100 ? h.ours().getMaxValue() : h.ours().getValueAtPercentile(pct);
    double b = pct >= 100 ? h.fifo().getMaxValue() : h.fifo().getValueAtPercentile(pct);
    return row(
        figure,
        us(o),
        us(b) + " (FIFO)",
        String.format(Locale.ROOT, "%.2f%%", 100 * o / b),
        "-",
        ok,
        Map.of());
  }

  private static Map<String, Object> percentiles(Histogram h) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("count", h.getTotalCount());
    m.put("p50", h.getValueAtPercentile(50));
    m.put("p99", h.getValueAtPercentile(99));
    m.put("max", h.getMaxValue());
    m.put("mean", h.getMean());
    return m;
  }

  private static List<Object> rounds(List<ReconnectStormHarness.Round> rs) {
    List<Object> out = new ArrayList<>();
    for (ReconnectStormHarness.Round r : rs) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("nanos", r.nanos());
      m.put("replayed", r.replayed());
      m.put("eventsPerSecond", r.eventsPerSecond());
      out.add(m);
    }
    return out;
  }

  private static double medianOf(List<ReconnectStormHarness.Round> rs, boolean nanos) {
    List<Double> v = new ArrayList<>();
    for (ReconnectStormHarness.Round r : rs) {
      v.add(nanos ? (double) r.nanos() : r.eventsPerSecond());
    }
    return median(v);
  }

  // ------------------------------------------------------------------ formatting

  private static Row row(
      String figure,
      String ours,
      String baseline,
      String ratio,
      String target,
      @Nullable Boolean ok,
      Map<String, Object> raw) {
    String verdict = ok == null ? "-" : ok ? "met" : "short";
    return new Row(figure, ours, baseline, ratio, target, verdict, raw);
  }

  static String table(List<Row> rows) {
    String[] head = {"figure", "ours", "baseline", "ratio", "target", ""};
    int[] w = new int[head.length];
    List<String[]> cells = new ArrayList<>();
    for (Row r : rows) {
      cells.add(new String[] {r.figure(), r.ours(), r.baseline(), r.ratio(), r.target(), r.verdict()});
    }
    for (int i = 0; i < head.length; i++) {
      w[i] = head[i].length();
      for (String[] c : cells) {
        w[i] = Math.max(w[i], c[i].length());
      }
    }
    StringBuilder sb = new StringBuilder();
    line(sb, head, w);
    String[] sep = new String[head.length];
    for (int i = 0; i < head.length; i++) {
      sep[i] = "-".repeat(Math.max(3, w[i]));
    }
    line(sb, sep, w);
    for (String[] c : cells) {
      line(sb, c, w);
    }
    return sb.toString();
  }

  private static void line(StringBuilder sb, String[] c, int[] w) {
    sb.append('|');
    for (int i = 0; i < c.length; i++) {
      sb.append(' ').append(c[i]).append(" ".repeat(w[i] - c[i].length())).append(" |");
    }
    sb.append('\n');
  }

  private static String ns(double v) {
    return String.format(Locale.ROOT, v < 10_000 ? "%.1f ns" : "%,.0f ns", v);
  }

  private static String us(double nanos) {
    return String.format(Locale.ROOT, "%,.1f us", nanos / 1e3);
  }

  private static String bytes(double v) {
    return String.format(Locale.ROOT, "%,.0f B", v);
  }

  private static String rate(double perSecond) {
    return String.format(Locale.ROOT, "%.2f M/s", perSecond / 1e6);
  }

  private static String x(double ratio) {
    return String.format(Locale.ROOT, "%.2fx", ratio);
  }

  // ------------------------------------------------------------------ machine

  static Map<String, Object> machine() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cpus", Runtime.getRuntime().availableProcessors());
    m.put("cpu", procValue("/proc/cpuinfo", "model name"));
    m.put("memory", procValue("/proc/meminfo", "MemTotal"));
    m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    m.put(
        "jdk",
        System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    m.put("jvmArgs", ManagementFactory.getRuntimeMXBean().getInputArguments());
    m.put("maxHeap", Runtime.getRuntime().maxMemory());
    return m;
  }

  private static String procLine(String file) {
    try {
      return Files.readAllLines(Paths.get(file)).get(0).trim();
    } catch (IOException | RuntimeException e) {
      return "unknown (" + e.getClass().getSimpleName() + ")";
    }
  }

  private static String procValue(String file, String key) {
    try {
      for (String l : Files.readAllLines(Paths.get(file))) {
        if (l.startsWith(key)) {
          return l.substring(l.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException | RuntimeException e) {
      return "unknown (" + e.getClass().getSimpleName() + ")";
    }
    return "unknown";
  }
}
