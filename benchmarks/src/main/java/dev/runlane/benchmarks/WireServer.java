package dev.runlane.benchmarks;

import com.sun.management.OperatingSystemMXBean;
import dev.runlane.Authorizer;
import dev.runlane.ConnectionStats;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.Result;
import dev.runlane.RunlaneBuilder;
import dev.runlane.protocol.json.JsonWireCodec;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Payload;
import dev.runlane.transport.jetty.JettyRunlaneWebSockets;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import dev.runlane.transport.jetty.UpgradeAdmission;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The server process of the real-socket harness ({@link WireLoadHarness}): Runlane with the JSON
 * codec on the Jetty 12.1 adapter, wired as {@code examples/chat-server}'s {@code ChatServer} wires
 * it (same {@code JettyRunlaneWebSockets.install} settings: 128 KiB messages, 120 s Jetty idle
 * timeout, Runlane's 64 KiB inbound limit; one {@code ServerConnector} with Jetty's defaults), on
 * 127.0.0.1 and a free port. Two differences from the example, both outside the measured path: the
 * WebSocket upgrade trusts the principal in the query ({@code ?u=NAME}) instead of consuming a
 * stream ticket, and every session is open to every principal (a fan-out needs 1,000 watchers of
 * one session). There is no runtime: the harness publishes from a thread of this process.
 *
 * <p>It is driven over stdin/stdout, one command per line, one answer per line (see {@link
 * #command}). It exits when stdin ends, so it never outlives the harness.
 *
 * <p><b>Thread safety:</b> a process main; commands are read by one thread, the publisher runs on
 * another.
 */
public final class WireServer {
  /**
   * The data of every published event: a publish time and a 20-character filler; 46 bytes of JSON
   * while {@code System.nanoTime()} has 13 digits (Linux: from about 17 minutes to 28 hours after
   * boot).
   */
  public record Ev(long t, String p) {}

  static final String FILLER = "abcdefghijklmnopqrst";

  private final Runlane runlane;
  private final Server server;
  private final ServerConnector connector;
  private final Set<String> connections = ConcurrentHashMap.newKeySet();
  private final Map<String, RunHandle[]> runs = new ConcurrentHashMap<>();
  private final PrintStream out;

  /** Opens, closes and inbound frames per 100 ms since {@link #born}: where a storm's time goes. */
  private final long born = System.nanoTime();

  private final AtomicIntegerArray opens = new AtomicIntegerArray(TIMELINE_BUCKETS);
  private final AtomicIntegerArray closes = new AtomicIntegerArray(TIMELINE_BUCKETS);
  private final AtomicIntegerArray frames = new AtomicIntegerArray(TIMELINE_BUCKETS);
  private static final int TIMELINE_BUCKETS = 12_000; // 20 minutes
  private volatile boolean stopPublisher;
  private volatile @org.jspecify.annotations.Nullable Thread publisher;

  /** Connections between accept and upgrade before accepting pauses: as examples/chat-server's ChatServer. */
  static final int UPGRADE_ADMISSION = 512;

  WireServer(int maxInFlight, int maxQueuedFrames, int acceptQueue, int sndbuf, int writeThreads, int maxThreads, int upgradeAdmission,
      int selectors, PrintStream out) throws Exception {
    this.out = out;
    RunlaneBuilder rb =
        Runlane.builder()
            .codec(new JsonWireCodec())
            .authorizer((principal, action, sessionId, owner) -> Authorizer.Decision.ALLOW)
            .maxInboundBytes(64 * 1024);
    if (maxInFlight > 0) {
      rb.maxInFlight(maxInFlight);
    }
    if (maxQueuedFrames > 0) {
      rb.maxQueuedFrames(maxQueuedFrames);
    }
    if (writeThreads >= 0) { // else Runlane's default
      rb.writeThreads(writeThreads);
    }
    String capacity = System.getProperty("runlane.bench.replayCapacity");
    if (capacity != null) { // an experiment: how much of a figure the retained events cost
      rb.replayCapacity(Integer.parseInt(capacity));
    }
    this.runlane = rb.build();
    // maxThreads and selectors are experiments (0 and -1: Jetty's defaults, as the example has them)
    this.server = maxThreads > 0 ? new Server(new QueuedThreadPool(maxThreads)) : new Server();
    this.connector = new ServerConnector(server, -1, selectors);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    if (acceptQueue > 0) {
      connector.setAcceptQueueSize(acceptQueue);
    }
    if (sndbuf > 0) { // fixes SO_SNDBUF, which turns off the kernel's send-buffer autotuning
      connector.setAcceptedSendBufferSize(sndbuf);
    }
    if (upgradeAdmission > 0) { // as the example: see JettyRunlaneWebSockets' UpgradeAdmission
      UpgradeAdmission.install(connector, upgradeAdmission);
    }
    server.addConnector(connector);
    server.setStopTimeout(2_000);
    ContextHandler context = new ContextHandler("/");
    server.setHandler(context);
    JettyRunlaneWebSockets.install(
        server,
        context,
        "/ws",
        JettyRunlaneWebSockets.Settings.builder(
                req -> Request.extractQueryParameters(req).getValue("u"))
            .maxTextMessageSize(2L * 64 * 1024)
            .maxBinaryMessageSize(2L * 64 * 1024)
            .idleTimeout(Duration.ofSeconds(120))
            .build(),
        c -> {
          String id = c.id();
          connections.add(id);
          count(opens);
          InboundHandler h = runlane.connect(c);
          return new InboundHandler() {
            @Override
            public void onFrame(Payload payload) {
              count(frames);
              h.onFrame(payload);
            }

            @Override
            public void onActivity() {
              h.onActivity();
            }

            @Override
            public void onClose(CloseReason reason) {
              connections.remove(id);
              count(closes);
              h.onClose(reason);
            }
          };
        });
    server.start();
  }

  /**
   * {@code java ... WireServer [maxInFlight=N] [maxQueuedFrames=N] [acceptQueue=N] [sndbuf=BYTES]
   * [writeThreads=N] [maxThreads=N] [upgradeAdmission=N (0: none)] [selectors=N]}
   */
  public static void main(String[] args) throws Exception {
    Map<String, String> opt = WireLoadHarness.options(args);
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    WireServer s =
        new WireServer(
            Integer.parseInt(opt.getOrDefault("maxInFlight", "0")),
            Integer.parseInt(opt.getOrDefault("maxQueuedFrames", "0")),
            Integer.parseInt(opt.getOrDefault("acceptQueue", "0")),
            Integer.parseInt(opt.getOrDefault("sndbuf", "0")),
            Integer.parseInt(opt.getOrDefault("writeThreads", "-1")),
            Integer.parseInt(opt.getOrDefault("maxThreads", "0")),
            Integer.parseInt(opt.getOrDefault("upgradeAdmission", Integer.toString(UPGRADE_ADMISSION))),
            Integer.parseInt(opt.getOrDefault("selectors", "-1")),
            out);
    s.answer("port " + s.connector.getLocalPort() + " pid " + ProcessHandle.current().pid());
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    try {
      for (String line; (line = in.readLine()) != null; ) {
        if ("quit".equals(line)) {
          break;
        }
        try {
          s.command(line.trim().split(" +"));
        } catch (RuntimeException e) {
          s.answer("error " + e);
        }
      }
    } finally {
      s.stopPublisher = true;
      try {
        s.runlane.close();
        s.server.stop();
      } finally {
        System.exit(0); // Jetty's threads must not keep a process whose harness is gone
      }
    }
  }

  private void count(AtomicIntegerArray buckets) {
    long b = (System.nanoTime() - born) / 100_000_000L;
    if (b >= 0 && b < TIMELINE_BUCKETS) {
      buckets.incrementAndGet((int) b);
    }
  }

  /** Counts per 100 ms from {@code fromNanos} (a {@code System.nanoTime()} of any local process) on, for 30 s. */
  private String timeline(long fromNanos) {
    int first = (int) Math.max(0, (fromNanos - born) / 100_000_000L);
    StringBuilder sb = new StringBuilder("timeline");
    for (Object[] series : new Object[][] {{"opens", opens}, {"closes", closes}, {"frames", frames}}) {
      AtomicIntegerArray a = (AtomicIntegerArray) series[1];
      sb.append(' ').append(series[0]).append(' ');
      for (int i = first; i < Math.min(TIMELINE_BUCKETS, first + 300); i++) {
        sb.append(i > first ? "," : "").append(a.get(i));
      }
    }
    return sb.toString();
  }

  synchronized void answer(String line) {
    out.println(line);
  }

  /**
   * One command:
   *
   * <ul>
   *   <li>{@code start PREFIX N} starts runs in sessions PREFIX0..PREFIX(N-1); answers {@code ok}.
   *   <li>{@code pub PREFIX RATE SECONDS MAX} publishes round-robin to PREFIX's runs on a publisher
   *       thread, RATE events/s (0: as fast as the recipients' outboxes drain, at most 256 queued
   *       frames on sampled recipients), for SECONDS or MAX events; answers at once with {@code
   *       ok}, then {@code pubdone PUBLISHED NANOS} when done.
   *   <li>{@code stats}: process CPU time (ns, the JVM's own clock), live connections, queued
   *       frames summed over them, live threads.
   *   <li>{@code mem}: heap used after full collections, direct memory in use, resident set.
   *   <li>{@code hol MODE BACKLOG}: publishes BACKLOG events to run {@code h0} (whose client is
   *       not reading), then a control frame (MODE {@code ctl}: a session notice) or a stream
   *       marker event (MODE {@code fifo}), each carrying its request time; answers {@code holpub
   *       NANOS} at once.
   *   <li>{@code burst N}: publishes N events to run {@code h0} and answers the nanoseconds until
   *       every connection's outbox is empty and nothing is in flight, and the CPU time spent.
   *   <li>{@code histo PATH}: writes the live class histogram (what {@code jcmd PID
   *       GC.class_histogram} prints, after a full collection) to PATH; answers its byte total.
   *   <li>{@code owners [class]}: bytes reachable from this server by owner group, or by owner
   *       class (a diagnostic; see
   *       {@link HeapPaths#owners}).
   *   <li>{@code path CLASS}: the shortest chain of fields from this server to an instance of
   *       CLASS (a diagnostic; see {@link HeapPaths}).
   *   <li>{@code idle}: waits (at most 60 s) until no connection has queued or in-flight frames.
   *   <li>{@code timeline NANOS}: opened connections, closed connections and inbound frames per
   *       100 ms from {@code System.nanoTime()} NANOS on, for 30 s (comma-separated counts).
   * </ul>
   */
  void command(String[] a) throws Exception {
    switch (a[0]) {
      case "start" -> {
        int n = Integer.parseInt(a[2]);
        RunHandle[] rs = new RunHandle[n];
        for (int i = 0; i < n; i++) {
          Result<RunHandle> r = runlane.startRun(StartRequest.of(a[1] + i, "bench"));
          if (!r.isOk()) {
            throw new IllegalStateException("start refused: " + r);
          }
          rs[i] = r.orElseThrow();
        }
        runs.put(a[1], rs);
        answer("ok");
      }
      case "pub" -> {
        RunHandle[] rs = runs(a[1]);
        double rate = Double.parseDouble(a[2]);
        double seconds = Double.parseDouble(a[3]);
        long max = Long.parseLong(a[4]);
        stopPublisher = false;
        Thread t = new Thread(() -> publish(rs, rate, seconds, max), "bench-publisher");
        t.setDaemon(true);
        publisher = t;
        t.start();
        answer("ok");
      }
      case "stats" -> {
        long queued = 0;
        for (String id : connections) {
          queued += runlane.connectionStats(id).map(ConnectionStats::queuedFrames).orElse(0);
        }
        answer("stats cpu " + cpuNanos() + " conns " + connections.size() + " queued " + queued
            + " threads " + ManagementFactory.getThreadMXBean().getThreadCount() + " alloc " + allocatedBytes());
      }
      case "mem" -> {
        long heap = 0;
        for (int i = 0; i < 3; i++) {
          System.gc();
          Thread.sleep(100);
        }
        Runtime rt = Runtime.getRuntime();
        heap = rt.totalMemory() - rt.freeMemory();
        answer("mem heap " + heap + " direct " + direct() + " rss " + rss() + " conns " + connections.size()
            + " threads " + ManagementFactory.getThreadMXBean().getThreadCount() + " alloc " + allocatedBytes());
      }
      case "owners" -> {
        StringBuilder sb = new StringBuilder("owners");
        HeapPaths.owners(this, 50_000_000, a.length > 1 && "class".equals(a[1]))
            .forEach((k, v) -> sb.append(' ').append(k.replace(' ', '_')).append(' ').append(v[1]));
        answer(sb.toString());
      }
      case "path" -> answer("path " + HeapPaths.pathTo(this, a[1], 20_000_000));
      case "histo" -> answer("histo " + histogram(Path.of(a[1])));
      case "hol" -> answer("holpub " + hol("ctl".equals(a[1]), Integer.parseInt(a[2])));
      case "burst" -> {
        long cpu0 = cpuNanos();
        long ns = burst(Integer.parseInt(a[1]));
        answer("burst ns " + ns + " cpu " + (cpuNanos() - cpu0));
      }
      case "idle" -> answer("idle " + awaitIdle(TimeUnit.SECONDS.toNanos(60)));
      case "timeline" -> answer(timeline(Long.parseLong(a[1])));
      default -> answer("error unknown command " + Arrays.toString(a));
    }
  }

  private void publish(RunHandle[] rs, double rate, double seconds, long max) {
    long t0 = System.nanoTime();
    long end = t0 + (long) (seconds * 1e9);
    long n = 0;
    List<String> sample = new ArrayList<>();
    if (rate <= 0) { // sample up to 8 recipients, spread over the runs, to throttle on
      for (int i = 0; i < 8 && sample.size() < 8; i++) {
        RunHandle r = rs[(int) ((long) i * rs.length / 8)];
        for (String c : runlane.recipientsOf(r.runId())) {
          sample.add(c);
          if (sample.size() >= 8) {
            break;
          }
        }
      }
    }
    double intervalNanos = rate > 0 ? 1e9 / rate : 0;
    outer:
    while (n < max && !stopPublisher) {
      long now = System.nanoTime();
      if (now >= end) {
        break;
      }
      if (rate > 0) {
        long due = (long) ((now - t0) / intervalNanos) + 1; // events due by now
        if (n >= due) {
          LockSupport.parkNanos(Math.min(200_000, (long) (t0 + n * intervalNanos - now) + 1));
          continue;
        }
        while (n < due && n < max) { // catch up; stamp the time each event was due (no omission)
          long dueAt = t0 + (long) (n * intervalNanos);
          rs[(int) (n % rs.length)].publish("delta", new Ev(dueAt, FILLER));
          n++;
        }
      } else {
        for (int i = 0; i < rs.length && n < max; i++) {
          rs[i].publish("delta", new Ev(System.nanoTime(), FILLER));
          n++;
        }
        for (int spins = 0; backlog(sample) > 256; spins++) {
          if (System.nanoTime() >= end || stopPublisher) {
            break outer;
          }
          LockSupport.parkNanos(50_000);
        }
      }
    }
    answer("pubdone " + n + " " + (System.nanoTime() - t0));
  }

  private RunHandle[] runs(String prefix) {
    RunHandle[] rs = runs.get(prefix);
    if (rs == null) {
      throw new IllegalStateException("no runs started for " + prefix);
    }
    return rs;
  }

  private int backlog(List<String> sample) {
    int max = 0;
    for (String c : sample) {
      max = Math.max(max, runlane.connectionStats(c).map(ConnectionStats::queuedFrames).orElse(0));
    }
    return max;
  }

  private long hol(boolean control, int backlog) {
    RunHandle run = runs("h")[0];
    long t0 = System.nanoTime();
    for (int i = 0; i < backlog; i++) {
      run.publish("delta", new Ev(t0, FILLER));
    }
    long req = System.nanoTime();
    if (control) {
      runlane.noticeSession(run.sessionId(), "marker", new Ev(req, FILLER));
    } else {
      run.publish("marker", new Ev(req, FILLER));
    }
    return req - t0;
  }

  /** Publishes {@code n} events to run {@code h0} and waits until they are all written: nanoseconds. */
  private long burst(int n) {
    RunHandle run = runs("h")[0];
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      run.publish("delta", new Ev(System.nanoTime(), FILLER));
    }
    if (awaitIdle(TimeUnit.SECONDS.toNanos(30)) < 0) {
      return -1;
    }
    return System.nanoTime() - t0;
  }

  /** Nanoseconds until no connection holds queued or in-flight frames, or -1 after the limit. */
  private long awaitIdle(long limitNanos) {
    long t0 = System.nanoTime();
    while (System.nanoTime() - t0 < limitNanos) {
      boolean idle = true;
      for (String id : connections) {
        ConnectionStats s = runlane.connectionStats(id).orElse(null);
        if (s != null && (s.queuedFrames() > 0 || s.inFlight() > 0)) {
          idle = false;
          break;
        }
      }
      if (idle) {
        return System.nanoTime() - t0;
      }
      LockSupport.parkNanos(20_000);
    }
    return -1;
  }

  /** The live class histogram (a full GC first) written to {@code file}; the total bytes it lists. */
  private static long histogram(Path file) throws Exception {
    String text =
        (String)
            ManagementFactory.getPlatformMBeanServer()
                .invoke(
                    new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"),
                    "gcClassHistogram",
                    new Object[] {new String[0]},
                    new String[] {String[].class.getName()});
    Files.writeString(file, text);
    for (String l : text.split("\n")) {
      String t = l.trim();
      if (t.startsWith("Total")) {
        return Long.parseLong(t.split(" +")[2]);
      }
    }
    return -1;
  }

  /** Bytes allocated on the heap by all threads since the JVM started (HotSpot's counter), or -1. */
  static long allocatedBytes() {
    java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    return mx instanceof com.sun.management.ThreadMXBean
        ? ((com.sun.management.ThreadMXBean) mx).getTotalThreadAllocatedBytes()
        : -1;
  }

  static long cpuNanos() {
    return ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private static long direct() {
    for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if ("direct".equals(b.getName())) {
        return b.getMemoryUsed();
      }
    }
    return -1;
  }

  /** VmRSS of this process in bytes, from /proc/self/status; -1 where there is none. */
  static long rss() {
    return procStatus("self", "VmRSS:");
  }

  static long procStatus(String pid, String key) {
    try {
      for (String l : Files.readAllLines(Path.of("/proc", pid, "status"))) {
        if (l.startsWith(key)) {
          return Long.parseLong(l.substring(key.length()).trim().split(" +")[0]) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }
}
