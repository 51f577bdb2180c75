package dev.runlane.benchmarks;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.zip.DataFormatException;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

/**
 * The real-socket load harness (issue 16; issue 12 item 8): a {@link WireServer} process (Runlane
 * on the Jetty adapter, JSON codec) and {@link WireClient} processes holding the WebSocket
 * connections, on loopback. Per scenario it reports delivered events/s, latency p50/p99/max,
 * <b>server CPU µs per delivered event</b> (the server process's own CPU clock, read by the server
 * around the measured window, and cross-checked from {@code /proc/PID/stat}), bytes read by the
 * clients per event, server heap (after full GCs), direct and resident memory per idle connection,
 * storm catch-up time (from the drop, and per connection from its reconnection's {@code 101}:
 * {@link StormTimes}) and gaps/duplicates per connection. The {@code hol} part measures a control
 * frame's latency behind a 10k-frame backlog and burst throughput for several {@code maxInFlight}.
 *
 * <pre>
 * mvn -B -q -pl benchmarks -am package -DskipTests
 * java -cp benchmarks/target/benchmarks.jar dev.runlane.benchmarks.WireLoadHarness [key=value...]
 * </pre>
 *
 * <p>Options: {@code reps=3} (repetitions, medians reported), {@code clients=2} (client
 * processes), {@code only=REGEX} (scenarios by name), {@code storm10k=true} (adds the 10,000-client
 * storm; with {@code warmStorm=true} every storm scenario first drops all its clients once during
 * the warm-up, reported as {@code cold*} figures, so that the measured storm is the process's
 * second: a warm server's figure beside the cold one), {@code idle=N[,N...]} (adds memory-only scenarios {@code idle-N}: N connections, each
 * subscribed to its own running run, no traffic), {@code openWindow=200} (upgrades in progress at
 * once per client process in idle scenarios), {@code histo=DIR} (the server's class histogram
 * before and after the connections open, per scenario round), {@code owners=true} (bytes reachable
 * per connection by owner class, from a reflective walk of the server's objects: {@link
 * HeapPaths#owners}), {@code hol=false}, {@code holReps=REPS}, {@code holSamples=20}, {@code warm=2 measure=4} (seconds), {@code
 * acceptQueue=N} (the server's listen backlog; default Jetty's), {@code upgradeAdmission=N} (the
 * server's {@code UpgradeAdmission}: connections between accept and upgrade before it stops
 * accepting; default 512 as the example, 0 for none), {@code holSndbuf=16384} (the hol
 * server's fixed socket send buffer), {@code protocol=2} (the clients negotiate the compact
 * protocol 2 after each welcome; default 1; {@code protocol=3} adds joined messages, a backlog in
 * one WebSocket message), {@code jfr=DIR} (a JFR recording
 * of every server process), {@code stormProfile=LIB,FILE} (async-profiler, CPU, over the storm window only,
 * through {@code jcmd}), {@code serverJvm="ARGS"} (extra JVM arguments of every server process,
 * {@code {name}} replaced by the scenario's name: an async-profiler {@code -agentpath}, say),
 * {@code clientJvm="ARGS"} (the same for every client process, {@code {name}} replaced by the
 * client's name), {@code writeThreads=N} (the server's {@code RunlaneBuilder.writeThreads}), {@code serverGc=G1}
 * (the server's collector: {@code G1}, {@code Parallel}, {@code Serial}, {@code Z}),
 * {@code maxThreads=N} and {@code selectors=N} (the server's Jetty thread pool maximum, default
 * 200, and its connector's selector count, default Jetty's: experiments, not the example's wiring),
 * {@code results=DIR}. Every child is killed when the harness ends, even
 * on failure, and every child exits when its stdin closes.
 *
 * <p><b>Thread safety:</b> a command-line program.
 */
public final class WireLoadHarness {
  private static final List<Child> CHILDREN = new CopyOnWriteArrayList<>();

  private final Map<String, String> opt;
  private final int reps;
  private final int holReps;
  private final int clients;
  private final double warm;
  private final double measure;

  private WireLoadHarness(Map<String, String> opt) {
    this.opt = opt;
    this.reps = Integer.parseInt(opt.getOrDefault("reps", "3"));
    this.holReps = Integer.parseInt(opt.getOrDefault("holReps", String.valueOf(reps)));
    this.clients = Integer.parseInt(opt.getOrDefault("clients", "2"));
    this.warm = Double.parseDouble(opt.getOrDefault("warm", "2"));
    this.measure = Double.parseDouble(opt.getOrDefault("measure", "4"));
  }

  /** A scenario: runs, connections (connection i watches run i % runs), rate (0: max), storm. */
  record Spec(String name, int runs, int conns, double rate, boolean storm, boolean idle) {
    Spec(String name, int runs, int conns, double rate, boolean storm) {
      this(name, runs, conns, rate, storm, false);
    }
  }

  public static void main(String[] args) throws Exception {
    Runtime.getRuntime().addShutdownHook(new Thread(WireLoadHarness::killAll, "kill-children"));
    try {
      new WireLoadHarness(options(args)).run();
    } finally {
      killAll();
    }
  }

  static Map<String, String> options(String[] args) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String a : args) {
      int eq = a.indexOf('=');
      if (eq < 1) {
        throw new IllegalArgumentException("arguments are key=value, got " + a);
      }
      m.put(a.substring(0, eq), a.substring(eq + 1));
    }
    return m;
  }

  private void run() throws Exception {
    Path dir = Paths.get(opt.getOrDefault("results", Files.isDirectory(Paths.get("benchmarks")) ? "benchmarks/results" : "results"));
    Files.createDirectories(dir);
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("started", Instant.now().toString());
    json.put("machine", machine());
    json.put("loadAverageAtStart", procLine("/proc/loadavg"));
    json.put("options", opt);
    System.out.println("wire harness: load average " + procLine("/proc/loadavg") + ", " + reps + " rep(s), " + clients + " client process(es)");

    List<Spec> specs = new ArrayList<>();
    specs.add(new Spec("targeted-100", 100, 100, 0, false));
    specs.add(new Spec("targeted-1000", 1000, 1000, 0, false));
    specs.add(new Spec("fanout-1000", 1, 1000, 0, false));
    specs.add(new Spec("paced-targeted-1000", 1000, 1000, 20_000, false));
    specs.add(new Spec("paced-fanout-1000", 1, 1000, 20, false));
    specs.add(new Spec("storm-1000", 1000, 1000, 20_000, true));
    if (Boolean.parseBoolean(opt.getOrDefault("storm10k", "false"))) {
      specs.add(new Spec("storm-10000", 10_000, 10_000, 20_000, true));
    }
    for (String n : opt.getOrDefault("idle", "").split(",")) { // e.g. idle=10000: memory only
      if (!n.isBlank()) {
        int conns = Integer.parseInt(n.trim());
        specs.add(new Spec("idle-" + conns, conns, conns, 0, false, true));
      }
    }
    String only = opt.getOrDefault("only", ".*");
    String stamp = opt.getOrDefault("name", "wire");
    Path jsonFile = dir.resolve(stamp + ".json");
    Map<String, Object> scenarios = new LinkedHashMap<>();
    json.put("scenarios", scenarios);
    List<String[]> table = new ArrayList<>();
    for (Spec s : specs) {
      if (!s.name().matches(only)) {
        continue;
      }
      List<Map<String, Object>> rounds = new ArrayList<>();
      for (int r = 0; r < reps; r++) {
        System.out.println("-- " + s.name() + " rep " + (r + 1) + "/" + reps + " (load " + procLine("/proc/loadavg") + ")");
        Map<String, Object> res = scenario(s, r);
        Map<String, Object> shown = new LinkedHashMap<>(res);
        shown.remove("ownersPerConnB"); // printed as a table above
        System.out.println("   " + shown);
        rounds.add(res);
      }
      Map<String, Object> med = medians(rounds);
      scenarios.put(s.name(), Map.of("spec", s.toString(), "median", med, "rounds", rounds));
      table.add(row(s, med));
      Files.writeString(jsonFile, Json.write(json) + "\n"); // what is done so far survives a failure
    }
    String text = table(
        new String[] {"scenario", "delivered/s", "p50", "p99", "max", "srv CPU/ev", "srv alloc/ev", "B/ev", "heap/conn", "direct/conn", "rss/conn", "catch-up max", "resume max", "gaps/dups/trunc"},
        table);
    Map<String, Object> holJson = new LinkedHashMap<>();
    json.put("hol", holJson);
    String holText = "";
    if (Boolean.parseBoolean(opt.getOrDefault("hol", "true")) && "hol".matches(only) && holReps > 0) {
      List<String[]> holRows = new ArrayList<>();
      for (int n : new int[] {1, 2, 4, 8, 16, 64}) {
        List<Map<String, Object>> rounds = new ArrayList<>();
        for (int r = 0; r < holReps; r++) {
          System.out.println("-- hol maxInFlight=" + n + " rep " + (r + 1) + "/" + holReps + " (load " + procLine("/proc/loadavg") + ")");
          Map<String, Object> res = hol(n, r);
          System.out.println("   " + res);
          rounds.add(res);
        }
        Map<String, Object> med = medians(rounds);
        holJson.put("maxInFlight=" + n, Map.of("median", med, "rounds", rounds));
        Files.writeString(jsonFile, Json.write(json) + "\n");
        holRows.add(new String[] {
            String.valueOf(n), us(med.get("ctlP50Ns")), us(med.get("ctlP99Ns")), us(med.get("ctlMaxNs")),
            us(med.get("fifoP50Ns")), us(med.get("fifoP99Ns")),
            pct(num(med.get("ctlP99Ns")) / num(med.get("fifoP99Ns"))),
            f0(med.get("aheadCtlP50")) + " / " + f0(med.get("aheadCtlMax")), f0(med.get("aheadFifoP50")),
            rate(med.get("burstFramesPerSec")),
            String.format(Locale.ROOT, "%.1f us", num(med.get("burstServerCpuUsPerFrame")))});
      }
      holText = table(
          new String[] {"maxInFlight", "ctl p50", "ctl p99", "ctl max", "FIFO p50", "FIFO p99", "ctl/FIFO p99", "frames ahead ctl p50/max", "ahead FIFO", "burst frames/s", "srv CPU/frame"},
          holRows);
    }
    json.put("loadAverageAtEnd", procLine("/proc/loadavg"));
    json.put("finished", Instant.now().toString());
    if (table.isEmpty()) {
      text = "";
    }
    System.out.println();
    System.out.println(text);
    if (!holText.isEmpty()) {
      System.out.println("control frame behind a 10,000-frame backlog (client not reading while it is queued), by maxInFlight:");
      System.out.println(holText);
    }
    System.out.println("load average at the end: " + procLine("/proc/loadavg"));
    Files.writeString(jsonFile, Json.write(json) + "\n");
    Files.writeString(dir.resolve(stamp + ".md"),
        "Runlane wire harness " + json.get("started") + ", load average " + json.get("loadAverageAtStart") + " -> "
            + json.get("loadAverageAtEnd") + ", options " + opt + "\n\n" + text + "\n" + holText);
    System.out.println("raw results: " + dir.resolve(stamp + ".json"));
  }

  // ============================================================ scenarios

  private Map<String, Object> scenario(Spec s, int rep) throws Exception {
    Map<String, Object> r = new LinkedHashMap<>();
    Child server = server(s.name() + "-" + rep, Map.of());
    List<Child> cs = new ArrayList<>();
    try {
      int k = Math.max(1, Math.min(clients, s.conns()));
      for (int j = 0; j < k; j++) {
        cs.add(client(server, "client" + j, 0));
      }
      server.call("start s " + s.runs(), 120);
      String histo = opt.get("histo");
      if (histo != null) {
        Files.createDirectories(Paths.get(histo));
        server.call("histo " + Paths.get(histo, s.name() + "-" + rep + "-before.txt").toAbsolutePath(), 120);
      }
      boolean owners = Boolean.parseBoolean(opt.getOrDefault("owners", "false"));
      Map<String, String> owners0 = owners ? kv(server.call("owners class", 300)) : Map.of();
      Map<String, String> mem0 = kv(server.call("mem", 60));
      long t = System.nanoTime();
      // idle scenarios open at most `openWindow` connections at a time (the upgrades, not the idle
      // connections, are what a listen backlog of 50 cannot take at once)
      String window = s.idle() ? " " + opt.getOrDefault("openWindow", "200") : "";
      for (int j = 0; j < k; j++) {
        cs.get(j).send("open " + (long) j * s.conns() / k + " " + (long) (j + 1) * s.conns() / k + " s " + s.runs() + window);
      }
      for (Child c : cs) {
        expectPrefix(c.expect(s.idle() ? 600 : 150), "opendone");
      }
      r.put("openMs", (System.nanoTime() - t) / 1e6);
      Map<String, String> mem1 = kv(server.call("mem", 60));
      r.put("heapPerConnB", (lng(mem1, "heap") - lng(mem0, "heap")) / (double) s.conns());
      r.put("directPerConnB", (lng(mem1, "direct") - lng(mem0, "direct")) / (double) s.conns());
      r.put("rssPerConnB", (lng(mem1, "rss") - lng(mem0, "rss")) / (double) s.conns());
      r.put("heapBeforeB", lng(mem0, "heap"));
      r.put("heapAfterB", lng(mem1, "heap"));
      r.put("directBeforeB", lng(mem0, "direct"));
      r.put("directAfterB", lng(mem1, "direct"));
      r.put("serverConns", lng(mem1, "conns"));
      r.put("serverThreadsBefore", lng(mem0, "threads"));
      r.put("serverThreadsAfter", lng(mem1, "threads"));
      if (histo != null) {
        server.call("histo " + Paths.get(histo, s.name() + "-" + rep + "-after.txt").toAbsolutePath(), 120);
      }
      if (owners) { // bytes per connection by owner class, largest first
        Map<String, String> owners1 = kv(server.call("owners class", 300));
        List<Map.Entry<String, Double>> per = new ArrayList<>();
        for (Map.Entry<String, String> e : owners1.entrySet()) {
          double before = Double.parseDouble(owners0.getOrDefault(e.getKey(), "0"));
          per.add(Map.entry(e.getKey().replace('_', ' '), (Double.parseDouble(e.getValue()) - before) / s.conns()));
        }
        per.sort((x, y) -> Double.compare(y.getValue(), x.getValue()));
        Map<String, Object> byOwner = new LinkedHashMap<>();
        Map<String, Double> byGroup = new LinkedHashMap<>();
        per.removeIf(e -> Math.abs(e.getValue()) < 0.5); // shared objects, not per connection
        for (Map.Entry<String, Double> e : per) {
          byOwner.put(e.getKey(), Math.round(e.getValue() * 10) / 10.0);
          String group = e.getKey().contains(":") ? e.getKey().substring(0, e.getKey().indexOf(':')) : e.getKey();
          byGroup.merge(group, e.getValue(), Double::sum);
        }
        r.put("ownersPerConnB", byOwner);
        System.out.println("   reachable bytes per connection by owner (HeapPaths.owners):");
        byGroup.entrySet().stream()
            .sorted((x, y) -> Double.compare(y.getValue(), x.getValue()))
            .forEach(e -> System.out.printf(Locale.ROOT, "     %-28s %7.0f%n", e.getKey(), e.getValue()));
        per.stream().limit(25).forEach(e -> System.out.printf(Locale.ROOT, "       %-54s %7.0f%n", e.getKey(), e.getValue()));
      }
      if (s.idle()) {
        r.put("loadAverage", procLine("/proc/loadavg"));
        return r;
      }

      // warm-up
      server.call("pub s " + s.rate() + " " + warm + " " + Long.MAX_VALUE, 10);
      boolean warmStorm = s.storm() && Boolean.parseBoolean(opt.getOrDefault("warmStorm", "false"));
      if (warmStorm) { // a first storm under the warm-up's load: the cold figure, kept beside the measured (warm) one
        Thread.sleep((long) (warm * 1000 / 4));
        Map<String, Object> cold = storm(server, cs);
        cold.forEach((key, v) -> r.put("cold" + Character.toUpperCase(key.charAt(0)) + key.substring(1), v));
        r.put("measuredStormIsSecondOfProcess", true);
      }
      server.awaitAsync((int) warm + 150);
      server.call("idle", 70);

      // the measured window
      long clientCpu0 = 0;
      for (Child c : cs) {
        clientCpu0 += lng(kv(c.call("reset", 30)), "cpu");
      }
      Map<String, String> stats0 = kv(server.call("stats", 30));
      long cpu0 = lng(stats0, "cpu");
      long alloc0 = lng(stats0, "alloc");
      long[] us0 = procUserSystemNanos(server.pid());
      long proc0 = us0[0] + us0[1];
      long t0 = System.nanoTime();
      server.call("pub s " + s.rate() + " " + measure + " " + Long.MAX_VALUE, 10);
      if (s.storm()) {
        Thread.sleep((long) (measure * 1000 / 4));
        r.putAll(storm(server, cs));
      }
      String[] done = server.awaitAsync((int) measure + 120).split(" ");
      String idle = server.call("idle", 70);
      long t1 = System.nanoTime();
      Map<String, String> stats1 = kv(server.call("stats", 30));
      long cpu1 = lng(stats1, "cpu");
      long alloc1 = lng(stats1, "alloc");
      long[] us1 = procUserSystemNanos(server.pid());
      long proc1 = us1[0] + us1[1];
      long published = Long.parseLong(done[1]);
      long delivered = 0;
      long bytes = 0;
      long wsMessages = 0;
      long gaps = 0;
      long dups = 0;
      long trunc = 0;
      long clientCpu1 = 0;
      Histogram lat = WireClient.newHistogram();
      StormTimes stormTimes = new StormTimes();
      for (Child c : cs) {
        Map<String, String> st = kv(c.call("stats", 30));
        delivered += lng(st, "delivered");
        bytes += lng(st, "bytes");
        wsMessages += lng(st, "messages");
        gaps += lng(st, "gaps");
        dups += lng(st, "dups");
        trunc += lng(st, "truncated");
        clientCpu1 += lng(st, "cpu");
        lat.add(decode(st.get("lat")));
        stormTimes.add(st);
      }
      double secs = (t1 - t0) / 1e9;
      r.put("published", published);
      r.put("delivered", delivered);
      r.put("windowS", secs);
      r.put("drainedIdle", !idle.contains("-1"));
      r.put("deliveredPerS", delivered / secs);
      r.put("latP50Us", lat.getValueAtPercentile(50) / 1e3);
      r.put("latP99Us", lat.getValueAtPercentile(99) / 1e3);
      r.put("latMaxUs", lat.getMaxValue() / 1e3);
      r.put("serverCpuUsPerEvent", (cpu1 - cpu0) / 1e3 / delivered);
      r.put("serverCpuUsPerEventProc", (proc1 - proc0) / 1e3 / delivered);
      // heap bytes the server allocated per delivered event (all threads: Jetty's, Runlane's, the
      // publisher's): what sets how often the young collection runs, and does not depend on load
      r.put("serverAllocBPerEvent", alloc0 < 0 || alloc1 < 0 ? Double.NaN : (double) (alloc1 - alloc0) / delivered);
      r.put("serverSystemCpuShare", (us1[1] - us0[1]) / (double) Math.max(1, proc1 - proc0));
      r.put("serverCpuCores", (cpu1 - cpu0) / 1e9 / secs);
      r.put("clientCpuUsPerEvent", (clientCpu1 - clientCpu0) / 1e3 / delivered);
      r.put("bytesPerEvent", bytes / (double) delivered);
      r.put("eventsPerMessage", delivered / (double) Math.max(1, wsMessages)); // > 1: joined (protocol 3)
      r.put("gaps", gaps);
      r.put("dups", dups);
      r.put("truncated", trunc);
      if (s.storm()) {
        r.putAll(stormTimes.figures()); // drop -> ack, drop -> caught up; drop -> 101, 101 -> caught up, 101 -> ack
      }
      return r;
    } finally {
      for (Child c : cs) {
        c.close();
      }
      server.close();
    }
  }

  /**
   * Drops every client connection at once and waits until each is back and caught up: the time
   * until the last one is (from the drop, by the clients' clocks), and the CPU each process spent
   * meanwhile, as a share of one core, so that a saturated client shows as such.
   */
  private Map<String, Object> storm(Child server, List<Child> cs) throws Exception {
    Map<String, Object> r = new LinkedHashMap<>();
    Map<String, String> st0 = kv(server.call("stats", 30));
    String prof = opt.get("stormProfile"); // LIB,FILE: async-profiler over the storm window only
    if (prof != null) {
      jcmdAgent(server.pid, prof.split(",")[0], "start,event=cpu,interval=1ms");
    }
    long t0 = System.nanoTime();
    long[] clientCpu0 = new long[cs.size()];
    for (Child c : cs) {
      c.send("drop");
    }
    for (int i = 0; i < cs.size(); i++) {
      clientCpu0[i] = lng(kv(cs.get(i).expect(60)), "cpu");
    }
    for (Child c : cs) {
      c.send("storm");
    }
    double lastBack = 0;
    long notBack = 0;
    double clientMaxCores = 0;
    for (int i = 0; i < cs.size(); i++) {
      String a = cs.get(i).expect(150);
      double secs = (System.nanoTime() - t0) / 1e9;
      if (a.startsWith("stormtimeout")) { // some connections not back within 120 s: count them
        notBack += lng(kv(a), "pending");
        continue;
      }
      expectPrefix(a, "stormdone");
      lastBack = Math.max(lastBack, Double.parseDouble(a.split(" ")[2]));
      clientMaxCores = Math.max(clientMaxCores, (lng(kv(a), "cpu") - clientCpu0[i]) / 1e9 / secs);
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    if (prof != null) {
      String[] lf = prof.split(",");
      jcmdAgent(server.pid, lf[0], "stop,file=" + lf[1] + "-" + server.pid + ".collapsed,collapsed");
    }
    Map<String, String> st1 = kv(server.call("stats", 30));
    r.put("stormAllCaughtUpMs", notBack > 0 ? Double.NaN : lastBack);
    r.put("stormNotCaughtUpAfter120s", notBack);
    r.put("stormServerCpuCores", (lng(st1, "cpu") - lng(st0, "cpu")) / 1e9 / secs);
    r.put("stormServerCpuUsPerClient", (lng(st1, "cpu") - lng(st0, "cpu")) / 1e3 / Math.max(1, lng(st1, "conns")));
    r.put("stormClientCpuCoresMax", clientMaxCores);
    r.put("stormServerThreadsBefore", lng(st0, "threads"));
    r.put("stormServerThreadsAfter", lng(st1, "threads"));
    r.put("stormLoadAverage", procLine("/proc/loadavg"));
    Map<String, String> tl = kv(server.call("timeline " + t0, 30)); // per 100 ms from the drop
    for (String k : new String[] {"opens", "closes", "frames"}) {
      r.put("stormTimeline" + Character.toUpperCase(k.charAt(0)) + k.substring(1) + "Per100ms", trimZeros(tl.get(k)));
    }
    return r;
  }

  /**
   * Sends async-profiler a command through the attach API ({@code jcmd PID JVMTI.agent_load LIB '"CMD"'}: the inner
   * quotes keep jcmd from splitting the command at its commas),
   * its messages to a log beside the results, so that the server's stdout protocol is not disturbed.
   */
  private void jcmdAgent(long pid, String lib, String command) throws Exception {
    Path log = Path.of(opt.getOrDefault("results", "benchmarks/results"), "async-profiler.log");
    Process p =
        new ProcessBuilder("jcmd", Long.toString(pid), "JVMTI.agent_load", lib, "\"" + command + ",log=" + log.toAbsolutePath() + "\"")
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("jcmd " + command + " did not finish in 30 s");
    }
  }

  /** A comma-separated series without its trailing zeros. */
  static String trimZeros(@org.jspecify.annotations.Nullable String series) {
    if (series == null) {
      return "";
    }
    return series.replaceAll("(,0)+$", "");
  }

  /** Control-frame latency behind a 10k backlog and burst throughput, for one maxInFlight. */
  private Map<String, Object> hol(int maxInFlight, int rep) throws Exception {
    int backlog = 10_000;
    int samples = Integer.parseInt(opt.getOrDefault("holSamples", "20"));
    Map<String, Object> r = new LinkedHashMap<>();
    // throughput: bursts of 10k to one reading client, kernel socket buffers as the system sets them
    List<Double> bursts = new ArrayList<>();
    long burstCpu = 0;
    long burstFrames = 0;
    Child bserver = server("burst" + maxInFlight + "-" + rep, Map.of("maxInFlight", String.valueOf(maxInFlight), "maxQueuedFrames", "40000"));
    Child bclient = client(bserver, "burstclient", 0);
    try {
      bserver.call("start h 1", 30);
      bclient.call("open 0 1 h 1", 60);
      bclient.call("resume", 30); // counts run events from here
      for (int i = 0; i < 8; i++) {
        long t0 = System.nanoTime();
        long cpu = lng(kv(bserver.call("burst " + backlog, 60)), "cpu");
        awaitCount(bclient, 1 + (long) (i + 1) * backlog); // run.started, then the bursts
        if (i >= 3) { // 3 warm-up bursts
          bursts.add(backlog * 1e9 / (System.nanoTime() - t0));
          burstCpu += cpu;
          burstFrames += backlog;
        }
      }
    } finally {
      bclient.close();
      bserver.close();
    }
    // latency: the client stops reading, the backlog is queued, the control frame requested, the
    // client reads again; a fixed small send buffer keeps the kernel from absorbing the backlog
    Child server =
        server(
            "hol" + maxInFlight + "-" + rep,
            Map.of(
                "maxInFlight", String.valueOf(maxInFlight),
                "maxQueuedFrames", "40000",
                "sndbuf", opt.getOrDefault("holSndbuf", "16384")));
    Child client = client(server, "holclient", 4096);
    try {
      server.call("start h 1", 30);
      client.call("open 0 1 h 1", 60);
      long total = 1; // run.started
      for (int i = 0; i < 2 * samples + 4; i++) {
        if (i == 4) {
          client.call("reset", 30); // the first 4 samples warm up both paths
        }
        boolean ctl = i % 2 == 0;
        client.call("pause", 30);
        server.call("hol " + (ctl ? "ctl" : "fifo") + " " + backlog, 60);
        client.call("resume", 30);
        server.call("idle", 60);
        total += ctl ? backlog : backlog + 1;
        awaitCount(client, total); // the client reads the rest
      }
      Map<String, String> st = kv(client.call("stats", 30));
      Histogram ctl = decode(st.get("ctl"));
      Histogram fifo = decode(st.get("fifo"));
      Histogram aheadCtl = decode(st.get("aheadCtl"));
      Histogram aheadFifo = decode(st.get("aheadFifo"));
      r.put("samples", ctl.getTotalCount() + "+" + fifo.getTotalCount());
      r.put("ctlP50Ns", (double) ctl.getValueAtPercentile(50));
      r.put("ctlP99Ns", (double) ctl.getValueAtPercentile(99));
      r.put("ctlMaxNs", (double) ctl.getMaxValue());
      r.put("fifoP50Ns", (double) fifo.getValueAtPercentile(50));
      r.put("fifoP99Ns", (double) fifo.getValueAtPercentile(99));
      r.put("fifoMaxNs", (double) fifo.getMaxValue());
      r.put("aheadCtlP50", (double) aheadCtl.getValueAtPercentile(50));
      r.put("aheadCtlMax", (double) aheadCtl.getMaxValue());
      r.put("aheadFifoP50", (double) aheadFifo.getValueAtPercentile(50));
      double[] b = bursts.stream().mapToDouble(Double::doubleValue).toArray();
      r.put("burstFramesPerSec", Fixtures.median(b));
      r.put("burstServerCpuUsPerFrame", burstCpu / 1e3 / burstFrames);
      r.put("gaps", lng(st, "gaps"));
      r.put("dups", lng(st, "dups"));
      return r;
    } finally {
      client.close();
      server.close();
    }
  }

  /** Waits until the client has received {@code expected} run events in all. */
  private static void awaitCount(Child client, long expected) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (lng(kv(client.call("count", 30)), "n") < expected) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the client did not receive " + expected + " events");
      }
      Thread.sleep(1);
    }
  }

  // ============================================================ processes

  private Child server(String name, Map<String, String> extra) throws IOException {
    List<String> cmd = java("-Xms1g", "-Xmx1g", "-XX:+Use" + opt.getOrDefault("serverGc", "G1") + "GC");
    String jfr = opt.get("jfr");
    if (jfr != null) {
      Files.createDirectories(Paths.get(jfr));
      cmd.add("-XX:StartFlightRecording=filename=" + Paths.get(jfr, "server-" + name + ".jfr") + ",settings=profile,dumponexit=true");
    }
    String serverJvm = opt.get("serverJvm");
    if (serverJvm != null) { // e.g. an async-profiler -agentpath:…=start,event=cpu,file=…
      for (String a : serverJvm.trim().split("\\s+")) {
        cmd.add(a.replace("{name}", name));
      }
    }
    cmd.add(WireServer.class.getName());
    if (opt.containsKey("acceptQueue")) {
      cmd.add("acceptQueue=" + opt.get("acceptQueue"));
    }
    for (String k : new String[] {"writeThreads", "maxThreads", "selectors", "upgradeAdmission"}) {
      if (opt.containsKey(k)) {
        cmd.add(k + "=" + opt.get(k));
      }
    }
    extra.forEach((k, v) -> cmd.add(k + "=" + v));
    if (Boolean.parseBoolean(opt.getOrDefault("owners", "false"))) { // HeapPaths walks JDK internals
      List<String> opens = new ArrayList<>();
      for (String p : new String[] {"java.util", "java.util.concurrent", "java.util.concurrent.locks",
          "java.util.concurrent.atomic", "java.lang", "java.lang.ref", "java.lang.invoke", "sun.nio.ch", "java.nio",
          "java.nio.channels", "java.nio.channels.spi", "java.net", "java.io", "java.security", "sun.nio.cs",
          "java.nio.charset"}) {
        opens.add("--add-opens=java.base/" + p + "=ALL-UNNAMED");
      }
      cmd.addAll(cmd.indexOf(WireServer.class.getName()), opens); // JVM options go before the class
    }
    Child c = new Child("server", cmd);
    String hello = c.expect(60);
    for (int i = 0; i < 20 && !hello.startsWith("port "); i++) { // e.g. JFR's "Started recording"
      hello = c.expect(60);
    }
    Map<String, String> m = kv("hello " + hello);
    c.port = Integer.parseInt(m.get("port"));
    c.pid = Long.parseLong(m.get("pid"));
    return c;
  }

  private Child client(Child server, String name, int rcvbuf) throws IOException {
    List<String> cmd = java("-Xms256m", "-Xmx768m", "-XX:+UseSerialGC");
    String clientJvm = opt.get("clientJvm");
    if (clientJvm != null) { // e.g. -Xlog:gc:file=…/{name}.log
      for (String a : clientJvm.trim().split("\\s+")) {
        cmd.add(a.replace("{name}", name));
      }
    }
    cmd.add(WireClient.class.getName());
    cmd.add("port=" + server.port);
    if (rcvbuf > 0) {
      cmd.add("rcvbuf=" + rcvbuf);
    }
    if (opt.containsKey("protocol")) {
      cmd.add("protocol=" + opt.get("protocol")); // 2: each client says hello and gets compact run events
    }
    Child c = new Child(name, cmd);
    expectPrefix(c.expect(60), "ready");
    return c;
  }

  private static List<String> java(String... jvmArgs) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(List.of(jvmArgs));
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    return cmd;
  }

  static void killAll() {
    for (Child c : CHILDREN) {
      c.process.destroyForcibly();
    }
  }

  /** A child process spoken to over its stdin/stdout, one line per command and answer. */
  static final class Child implements AutoCloseable {
    final String name;
    final Process process;
    final BufferedWriter in;
    final BlockingQueue<String> answers = new LinkedBlockingQueue<>();
    final BlockingQueue<String> async = new LinkedBlockingQueue<>();
    int port;
    long pid;

    Child(String name, List<String> cmd) throws IOException {
      this.name = name;
      ProcessBuilder pb = new ProcessBuilder(cmd);
      pb.redirectError(ProcessBuilder.Redirect.INHERIT);
      this.process = pb.start();
      CHILDREN.add(this);
      this.pid = process.pid();
      this.in = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
      Thread reader =
          new Thread(
              () -> {
                try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                  for (String l; (l = r.readLine()) != null; ) {
                    (l.startsWith("pubdone") ? async : answers).add(l);
                  }
                } catch (IOException e) {
                  // the process is gone; the next expect says so
                }
                answers.add("eof");
              },
              name + "-reader");
      reader.setDaemon(true);
      reader.start();
    }

    long pid() {
      return pid;
    }

    void send(String line) throws IOException {
      in.write(line);
      in.newLine();
      in.flush();
    }

    String expect(int seconds) {
      String l;
      try {
        l = answers.poll(seconds, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      if (l == null || l.equals("eof") || l.startsWith("error")) {
        throw new IllegalStateException(name + ": " + (l == null ? "no answer within " + seconds + " s" : l));
      }
      return l;
    }

    String call(String line, int seconds) throws IOException {
      send(line);
      return expect(seconds);
    }

    String awaitAsync(int seconds) throws InterruptedException {
      String l = async.poll(seconds, TimeUnit.SECONDS);
      if (l == null) {
        throw new IllegalStateException(name + ": publisher did not finish within " + seconds + " s");
      }
      return l;
    }

    @Override
    public void close() {
      try {
        send("quit");
      } catch (IOException e) {
        // already gone
      }
      try {
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          process.waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
      CHILDREN.remove(this);
    }
  }

  // ============================================================ helpers

  /** {utime, stime} of a process from /proc/PID/stat, in nanoseconds; -1s where unreadable. */
  static long[] procUserSystemNanos(long pid) {
    try {
      String s = Files.readString(Paths.get("/proc", String.valueOf(pid), "stat"));
      String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
      return new long[] {Long.parseLong(f[11]) * 10_000_000L, Long.parseLong(f[12]) * 10_000_000L}; // fields 14, 15
    } catch (IOException | RuntimeException e) {
      return new long[] {-1, -1};
    }
  }

  static Map<String, String> kv(String line) {
    String[] t = line.split(" ");
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 1; i + 1 < t.length; i += 2) {
      m.put(t[i], t[i + 1]);
    }
    return m;
  }

  static long lng(Map<String, String> m, String k) {
    String v = m.get(k);
    if (v == null) {
      throw new IllegalStateException("missing " + k + " in " + m.keySet());
    }
    return Long.parseLong(v);
  }

  static void expectPrefix(String line, String prefix) {
    if (!line.startsWith(prefix)) {
      throw new IllegalStateException("expected " + prefix + ", got " + line);
    }
  }

  static Histogram decode(@Nullable String b64) throws DataFormatException {
    if (b64 == null) {
      throw new IllegalStateException("missing histogram");
    }
    return Histogram.decodeFromCompressedByteBuffer(ByteBuffer.wrap(Base64.getDecoder().decode(b64)), 0);
  }

  /** Per key, the median over rounds of numeric values; other values from the first round. */
  static Map<String, Object> medians(List<Map<String, Object>> rounds) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (String k : rounds.get(0).keySet()) {
      if (rounds.get(0).get(k) instanceof Number) {
        double[] v = rounds.stream().filter(x -> x.get(k) instanceof Number).mapToDouble(x -> ((Number) x.get(k)).doubleValue()).toArray();
        m.put(k, Fixtures.median(v));
      } else {
        m.put(k, rounds.get(0).get(k));
      }
    }
    long gaps = 0;
    long dups = 0;
    for (Map<String, Object> r : rounds) {
      gaps += ((Number) r.getOrDefault("gaps", 0L)).longValue();
      dups += ((Number) r.getOrDefault("dups", 0L)).longValue();
    }
    m.put("gapsAllRounds", gaps);
    m.put("dupsAllRounds", dups);
    return m;
  }

  private static String[] row(Spec s, Map<String, Object> m) {
    Function<String, String> us = k -> m.containsKey(k) ? fmtUs(num(m.get(k))) : "-";
    return new String[] {
        s.name() + (s.rate() > 0 ? " @" + (long) s.rate() + "/s" : " max"),
        rate(m.get("deliveredPerS")),
        us.apply("latP50Us"), us.apply("latP99Us"), us.apply("latMaxUs"),
        String.format(Locale.ROOT, "%.1f us (%.1f)", num(m.get("serverCpuUsPerEvent")), num(m.get("serverCpuUsPerEventProc"))),
        m.containsKey("serverAllocBPerEvent") ? String.format(Locale.ROOT, "%.0f B", num(m.get("serverAllocBPerEvent"))) : "-",
        String.format(Locale.ROOT, "%.0f", num(m.get("bytesPerEvent")))
            + (num(m.get("eventsPerMessage")) > 1.05 ? String.format(Locale.ROOT, " (%.1f ev/msg)", num(m.get("eventsPerMessage"))) : ""),
        kb(m.get("heapPerConnB")), kb(m.get("directPerConnB")), kb(m.get("rssPerConnB")),
        m.containsKey("stormCaughtUpMaxMs") ? String.format(Locale.ROOT, "%.0f ms", num(m.get("stormCaughtUpMaxMs"))) : "-",
        m.containsKey("stormResumeMaxMs") ? String.format(Locale.ROOT, "%.0f ms", num(m.get("stormResumeMaxMs"))) : "-",
        f0(m.get("gapsAllRounds")) + "/" + f0(m.get("dupsAllRounds")) + "/" + f0(m.get("truncated"))};
  }

  static double num(@Nullable Object o) {
    return o instanceof Number n ? n.doubleValue() : Double.NaN;
  }

  static String fmtUs(double us) {
    return us >= 10_000 ? String.format(Locale.ROOT, "%.1f ms", us / 1e3) : String.format(Locale.ROOT, "%.0f us", us);
  }

  static String us(@Nullable Object ns) {
    return fmtUs(num(ns) / 1e3);
  }

  static String pct(double ratio) {
    return String.format(Locale.ROOT, "%.2f%%", ratio * 100);
  }

  static String f0(@Nullable Object o) {
    return String.format(Locale.ROOT, "%.0f", num(o));
  }

  static String rate(@Nullable Object o) {
    double v = num(o);
    return v >= 1e6 ? String.format(Locale.ROOT, "%.2f M/s", v / 1e6) : String.format(Locale.ROOT, "%.1f k/s", v / 1e3);
  }

  static String kb(@Nullable Object o) {
    return String.format(Locale.ROOT, "%.1f KB", num(o) / 1024);
  }

  static String table(String[] head, List<String[]> rows) {
    int[] w = new int[head.length];
    for (int i = 0; i < head.length; i++) {
      w[i] = head[i].length();
      for (String[] r : rows) {
        w[i] = Math.max(w[i], r[i].length());
      }
    }
    StringBuilder sb = new StringBuilder();
    line(sb, head, w);
    String[] sep = new String[head.length];
    for (int i = 0; i < head.length; i++) {
      sep[i] = "-".repeat(w[i]);
    }
    line(sb, sep, w);
    for (String[] r : rows) {
      line(sb, r, w);
    }
    return sb.toString();
  }

  private static void line(StringBuilder sb, String[] cells, int[] w) {
    sb.append('|');
    for (int i = 0; i < cells.length; i++) {
      sb.append(' ').append(cells[i]).append(" ".repeat(w[i] - cells[i].length())).append(" |");
    }
    sb.append('\n');
  }

  static Map<String, Object> machine() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("nproc", Runtime.getRuntime().availableProcessors());
    m.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"));
    m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    try {
      for (String l : Files.readAllLines(Paths.get("/proc/cpuinfo"))) {
        if (l.startsWith("model name")) {
          m.put("cpu", l.substring(l.indexOf(':') + 1).trim());
          break;
        }
      }
    } catch (IOException e) {
      m.put("cpu", "?");
    }
    m.put("memTotal", procLine("/proc/meminfo"));
    return m;
  }

  static String procLine(String file) {
    try {
      return Files.readAllLines(new File(file).toPath()).get(0).trim();
    } catch (IOException | RuntimeException e) {
      return "?";
    }
  }
}
