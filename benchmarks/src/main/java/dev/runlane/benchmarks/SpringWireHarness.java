package dev.runlane.benchmarks;

import static dev.runlane.benchmarks.WireLoadHarness.expectPrefix;
import static dev.runlane.benchmarks.WireLoadHarness.kv;
import static dev.runlane.benchmarks.WireLoadHarness.lng;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * End-to-end figures for the servlet-stack transports next to the Jetty adapter's (issue 14), on
 * real loopback sockets, with {@link WireLoadHarness}'s method: a server process, client processes
 * holding the connections, one publisher thread in the server, and per scenario the delivered
 * events/s, the publish-to-receive latency (p50, p99) and the server's CPU per delivered event.
 *
 * <ul>
 *   <li>{@code jetty}: {@link WireServer} (Runlane on the Jetty 12.1 adapter) and {@link
 *       WireClient}s: the reference, measured in the same session as the others;
 *   <li>{@code spring}: {@link SpringWireServer}'s {@code /ws} (runlane-transport-spring on Tomcat
 *       11) and the same {@link WireClient}s;
 *   <li>{@code sse}: {@link SpringWireServer}'s {@code /sse} (runlane-transport-sse on Tomcat 11)
 *       and {@link SseWireClient}s.
 * </ul>
 *
 * <p>Scenarios: {@code targeted-100} (100 runs, one connection each) and {@code targeted-1000},
 * published as fast as the recipients drain (at most 256 frames queued on sampled recipients): the
 * throughput, with latency that is mostly queueing; {@code paced-100} and {@code paced-1000}, the
 * same at a fixed {@code pacedRate} (default 10,000 events/s, below every transport's maximum
 * here): the latency at a load all of them carry.
 *
 * <pre>
 * mvn -B -q -pl benchmarks -am package -DskipTests
 * java -cp benchmarks/target/benchmarks.jar dev.runlane.benchmarks.SpringWireHarness [reps=3] [transports=jetty,spring,sse] [only=REGEX] [pacedRate=10000] [clients=2] [warm=2] [measure=4]
 * </pre>
 *
 * <p>Results go to {@code benchmarks/results/spring-wire.{json,md}} ({@code name=} changes the
 * stem). Every child is killed when the harness ends.
 *
 * <p><b>Thread safety:</b> a command-line program.
 */
public final class SpringWireHarness {
  private final Map<String, String> opt;
  private final int reps;
  private final int clients;
  private final double warm;
  private final double measure;

  private SpringWireHarness(Map<String, String> opt) {
    this.opt = opt;
    this.reps = Integer.parseInt(opt.getOrDefault("reps", "3"));
    this.clients = Integer.parseInt(opt.getOrDefault("clients", "2"));
    this.warm = Double.parseDouble(opt.getOrDefault("warm", "2"));
    this.measure = Double.parseDouble(opt.getOrDefault("measure", "4"));
  }

  /** A scenario: runs, connections (connection i watches run i % runs), rate (0: as fast as they drain). */
  record Spec(String name, int runs, int conns, double rate) {}

  public static void main(String[] args) throws Exception {
    Runtime.getRuntime().addShutdownHook(new Thread(WireLoadHarness::killAll, "kill-children"));
    try {
      new SpringWireHarness(WireLoadHarness.options(args)).run();
    } finally {
      WireLoadHarness.killAll();
    }
  }

  private void run() throws Exception {
    Path dir = Paths.get(opt.getOrDefault("results", Files.isDirectory(Paths.get("benchmarks")) ? "benchmarks/results" : "results"));
    Files.createDirectories(dir);
    String stamp = opt.getOrDefault("name", "spring-wire");
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("started", Instant.now().toString());
    json.put("machine", WireLoadHarness.machine());
    json.put("loadAverageAtStart", WireLoadHarness.procLine("/proc/loadavg"));
    json.put("options", opt);
    System.out.println("spring/sse wire harness: load average " + WireLoadHarness.procLine("/proc/loadavg") + ", " + reps + " rep(s)");
    double paced = Double.parseDouble(opt.getOrDefault("pacedRate", "10000"));
    List<Spec> specs =
        List.of(
            new Spec("targeted-100", 100, 100, 0),
            new Spec("targeted-1000", 1000, 1000, 0),
            new Spec("paced-100", 100, 100, paced),
            new Spec("paced-1000", 1000, 1000, paced));
    String only = opt.getOrDefault("only", ".*");
    Map<String, Object> results = new LinkedHashMap<>();
    json.put("results", results);
    List<String[]> table = new ArrayList<>();
    for (Spec s : specs) {
      if (!s.name().matches(only)) {
        continue;
      }
      // transports interleaved per repetition, so a change in the machine's load hits all of them
      Map<String, List<Map<String, Object>>> rounds = new LinkedHashMap<>();
      for (int r = 0; r < reps; r++) {
        for (String t : opt.getOrDefault("transports", "jetty,spring,sse").split(",")) {
          System.out.println("-- " + t + " " + s.name() + " rep " + (r + 1) + "/" + reps + " (load " + WireLoadHarness.procLine("/proc/loadavg") + ")");
          Map<String, Object> res = scenario(t, s);
          System.out.println("   " + res);
          rounds.computeIfAbsent(t, k -> new ArrayList<>()).add(res);
        }
      }
      for (Map.Entry<String, List<Map<String, Object>>> e : rounds.entrySet()) {
        Map<String, Object> med = WireLoadHarness.medians(e.getValue());
        results.put(e.getKey() + " " + s.name(), Map.of("median", med, "rounds", e.getValue()));
        table.add(new String[] {
            e.getKey(), s.name(), WireLoadHarness.rate(med.get("deliveredPerS")),
            WireLoadHarness.fmtUs(WireLoadHarness.num(med.get("latP50Us"))),
            WireLoadHarness.fmtUs(WireLoadHarness.num(med.get("latP99Us"))),
            String.format(Locale.ROOT, "%.1f us", WireLoadHarness.num(med.get("serverCpuUsPerEvent"))),
            String.format(Locale.ROOT, "%.0f", WireLoadHarness.num(med.get("bytesPerEvent"))),
            WireLoadHarness.f0(med.get("gaps")) + "/" + WireLoadHarness.f0(med.get("dups"))});
      }
      Files.writeString(dir.resolve(stamp + ".json"), Json.write(json) + "\n");
    }
    json.put("loadAverageAtEnd", WireLoadHarness.procLine("/proc/loadavg"));
    json.put("finished", Instant.now().toString());
    String text = WireLoadHarness.table(
        new String[] {"transport", "scenario", "delivered/s", "p50", "p99", "srv CPU/ev", "B/ev", "gaps/dups"}, table);
    System.out.println();
    System.out.println(text);
    System.out.println("load average at the end: " + WireLoadHarness.procLine("/proc/loadavg"));
    Files.writeString(dir.resolve(stamp + ".json"), Json.write(json) + "\n");
    Files.writeString(dir.resolve(stamp + ".md"),
        "Runlane Spring/SSE wire harness " + json.get("started") + ", load average " + json.get("loadAverageAtStart") + " -> "
            + json.get("loadAverageAtEnd") + ", options " + opt + " (medians of " + reps + ")\n\n" + text);
    System.out.println("raw results: " + dir.resolve(stamp + ".json"));
  }

  private Map<String, Object> scenario(String transport, Spec s) throws Exception {
    Map<String, Object> r = new LinkedHashMap<>();
    WireLoadHarness.Child server = child("server", server(transport), "port ");
    List<WireLoadHarness.Child> cs = new ArrayList<>();
    try {
      int k = Math.max(1, Math.min(clients, s.conns()));
      for (int j = 0; j < k; j++) {
        cs.add(child("client" + j, client(transport, server.port), "ready"));
      }
      server.call("start s " + s.runs(), 120);
      long t = System.nanoTime();
      for (int j = 0; j < k; j++) {
        cs.get(j).send("open " + (long) j * s.conns() / k + " " + (long) (j + 1) * s.conns() / k + " s " + s.runs());
      }
      for (WireLoadHarness.Child c : cs) {
        expectPrefix(c.expect(150), "opendone");
      }
      r.put("openMs", (System.nanoTime() - t) / 1e6);
      server.call("pub s " + s.rate() + " " + warm + " " + Long.MAX_VALUE, 10); // warm-up
      server.awaitAsync((int) warm + 60);
      server.call("idle", 70);

      for (WireLoadHarness.Child c : cs) {
        c.call("reset", 30);
      }
      long cpu0 = lng(kv(server.call("stats", 30)), "cpu");
      long t0 = System.nanoTime();
      server.call("pub s " + s.rate() + " " + measure + " " + Long.MAX_VALUE, 10);
      String[] done = server.awaitAsync((int) measure + 120).split(" ");
      String idle = server.call("idle", 70);
      long t1 = System.nanoTime();
      long cpu1 = lng(kv(server.call("stats", 30)), "cpu");
      long delivered = 0;
      long bytes = 0;
      long gaps = 0;
      long dups = 0;
      Histogram lat = WireClient.newHistogram();
      for (WireLoadHarness.Child c : cs) {
        Map<String, String> st = kv(c.call("stats", 30));
        delivered += lng(st, "delivered");
        bytes += lng(st, "bytes");
        gaps += lng(st, "gaps");
        dups += lng(st, "dups");
        lat.add(WireLoadHarness.decode(st.get("lat")));
      }
      double secs = (t1 - t0) / 1e9;
      r.put("published", Long.parseLong(done[1]));
      r.put("delivered", delivered);
      r.put("windowS", secs);
      r.put("drainedIdle", !idle.contains("-1"));
      r.put("deliveredPerS", delivered / secs);
      r.put("latP50Us", lat.getValueAtPercentile(50) / 1e3);
      r.put("latP99Us", lat.getValueAtPercentile(99) / 1e3);
      r.put("latMaxUs", lat.getMaxValue() / 1e3);
      r.put("serverCpuUsPerEvent", (cpu1 - cpu0) / 1e3 / delivered);
      r.put("bytesPerEvent", bytes / (double) delivered);
      r.put("gaps", gaps);
      r.put("dups", dups);
      return r;
    } finally {
      for (WireLoadHarness.Child c : cs) {
        c.close();
      }
      server.close();
    }
  }

  private static List<String> server(String transport) {
    List<String> cmd = java("-Xms1g", "-Xmx1g", "-XX:+UseG1GC");
    cmd.add("jetty".equals(transport) ? WireServer.class.getName() : SpringWireServer.class.getName());
    return cmd;
  }

  private static List<String> client(String transport, int port) {
    List<String> cmd = java("-Xms256m", "-Xmx768m", "-XX:+UseSerialGC");
    cmd.add("sse".equals(transport) ? SseWireClient.class.getName() : WireClient.class.getName());
    cmd.add("port=" + port);
    return cmd;
  }

  /** Starts a child and waits for its first line, which starts with {@code hello}. */
  private static WireLoadHarness.Child child(String name, List<String> cmd, String hello) throws Exception {
    WireLoadHarness.Child c = new WireLoadHarness.Child(name, cmd);
    String first = c.expect(60);
    for (int i = 0; i < 20 && !first.startsWith(hello); i++) {
      first = c.expect(60);
    }
    if (hello.startsWith("port")) {
      Map<String, String> m = kv("hello " + first);
      c.port = Integer.parseInt(m.get("port"));
      c.pid = Long.parseLong(m.get("pid"));
    }
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
}
