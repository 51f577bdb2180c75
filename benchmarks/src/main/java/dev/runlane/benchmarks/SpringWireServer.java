package dev.runlane.benchmarks;

import dev.runlane.Authorizer;
import dev.runlane.ConnectionStats;
import dev.runlane.Result;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.protocol.json.JsonWireCodec;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Payload;
import dev.runlane.transport.spring.RunlaneWebSocketHandler;
import dev.runlane.transport.sse.JsonSseEvents;
import dev.runlane.transport.sse.SseRunlaneServlet;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.websocket.server.WsSci;
import org.jspecify.annotations.Nullable;
import org.springframework.web.socket.server.support.DefaultHandshakeHandler;
import org.springframework.web.socket.server.support.WebSocketHttpRequestHandler;

/**
 * The server process of {@link SpringWireHarness}: Runlane with the JSON codec on an embedded
 * Tomcat 11 (Spring Boot 4.0's default container, one connector with Tomcat's defaults), serving
 * both servlet-stack transports on 127.0.0.1 and a free port:
 *
 * <ul>
 *   <li>{@code /ws}: {@code runlane-transport-spring}'s {@link RunlaneWebSocketHandler} behind
 *       Spring's {@link WebSocketHttpRequestHandler} (the starter's wiring without Boot), 128 KiB
 *       messages;
 *   <li>{@code /sse}: {@code runlane-transport-sse}'s {@link SseRunlaneServlet} with {@link
 *       JsonSseEvents} (resumable ids), async supported.
 * </ul>
 *
 * <p>As in {@link WireServer}, the principal is trusted from the query ({@code ?u=NAME}), every
 * session is open to every principal, and there is no runtime: the harness publishes from a thread
 * of this process. It speaks {@link WireServer}'s commands {@code start}, {@code pub}, {@code
 * stats}, {@code mem} and {@code idle} over stdin/stdout, with the same publisher (same pacing, same
 * backlog throttle), so the figures compare with the Jetty adapter's. It exits when stdin ends.
 *
 * <p><b>Thread safety:</b> a process main; commands are read by one thread, the publisher runs on
 * another.
 */
public final class SpringWireServer {
  private static final Logger TOMCAT_LOG = Logger.getLogger("org.apache");
  private static final Logger TOMCAT_LOADER_LOG = Logger.getLogger("org.apache.catalina.loader");

  private final Runlane runlane;
  private final Tomcat tomcat;
  private final RunlaneWebSocketHandler ws;
  private final SseRunlaneServlet sse;
  private final Path baseDir;
  private final int port;
  private final Set<String> connections = ConcurrentHashMap.newKeySet();
  private final Map<String, RunHandle[]> runs = new ConcurrentHashMap<>();
  private final PrintStream out;
  private volatile boolean stopPublisher;

  SpringWireServer(PrintStream out) throws Exception {
    this.out = out;
    TOMCAT_LOG.setLevel(Level.WARNING); // no start-up chatter
    TOMCAT_LOADER_LOG.setLevel(Level.SEVERE); // leak-detection advice at stop about JVM flags
    this.runlane =
        Runlane.builder()
            .codec(new JsonWireCodec())
            .authorizer((principal, action, sessionId, owner) -> Authorizer.Decision.ALLOW)
            .maxInboundBytes(64 * 1024)
            .build();
    this.ws =
        RunlaneWebSocketHandler.builder(c -> tracked(c, runlane.connect(c)))
            .principal(s -> user(s.getUri()))
            .maxTextMessageSize(128 * 1024)
            .maxBinaryMessageSize(128 * 1024)
            .build();
    this.sse =
        SseRunlaneServlet.builder(c -> tracked(c, runlane.connect(c)))
            .principal(r -> r.getParameter("u"))
            .events(new JsonSseEvents())
            .build();
    WebSocketHttpRequestHandler upgrade = new WebSocketHttpRequestHandler(ws, new DefaultHandshakeHandler());

    this.baseDir = Files.createTempDirectory("runlane-bench-tomcat");
    this.tomcat = new Tomcat();
    tomcat.setBaseDir(baseDir.toString());
    Connector connector = new Connector();
    connector.setPort(0);
    connector.setProperty("address", "127.0.0.1");
    tomcat.setConnector(connector);
    Context context = tomcat.addContext("", baseDir.toString());
    context.addServletContainerInitializer(new WsSci(), null);
    Tomcat.addServlet(context, "runlane-ws", new UpgradeServlet(upgrade));
    context.addServletMappingDecoded("/ws", "runlane-ws");
    Tomcat.addServlet(context, "runlane-sse", sse).setAsyncSupported(true);
    context.addServletMappingDecoded("/sse", "runlane-sse");
    tomcat.start();
    this.port = connector.getLocalPort();
  }

  private static @Nullable String user(@Nullable URI uri) {
    String q = uri == null ? null : uri.getRawQuery();
    if (q == null) {
      return null;
    }
    for (String kv : q.split("&")) {
      if (kv.startsWith("u=")) {
        return kv.substring(2);
      }
    }
    return null;
  }

  private InboundHandler tracked(Connection c, InboundHandler h) {
    String id = c.id();
    connections.add(id);
    return new InboundHandler() {
      @Override
      public void onFrame(Payload payload) {
        h.onFrame(payload);
      }

      @Override
      public void onActivity() {
        h.onActivity();
      }

      @Override
      public void onClose(CloseReason reason) {
        connections.remove(id);
        h.onClose(reason);
      }
    };
  }

  /** {@code java ... SpringWireServer} */
  public static void main(String[] args) throws Exception {
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    SpringWireServer s = new SpringWireServer(out);
    s.answer("port " + s.port + " pid " + ProcessHandle.current().pid());
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
        s.ws.close();
        s.tomcat.stop();
        s.tomcat.destroy();
        try (var files = Files.walk(s.baseDir)) {
          files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      } finally {
        System.exit(0);
      }
    }
  }

  synchronized void answer(String line) {
    out.println(line);
  }

  /** {@link WireServer#command}'s {@code start}, {@code pub}, {@code stats}, {@code mem}, {@code idle}. */
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
        RunHandle[] rs = runs.get(a[1]);
        if (rs == null) {
          throw new IllegalStateException("no runs started for " + a[1]);
        }
        double rate = Double.parseDouble(a[2]);
        double seconds = Double.parseDouble(a[3]);
        long max = Long.parseLong(a[4]);
        stopPublisher = false;
        Thread t = new Thread(() -> publish(rs, rate, seconds, max), "bench-publisher");
        t.setDaemon(true);
        t.start();
        answer("ok");
      }
      case "stats" -> {
        long queued = 0;
        for (String id : connections) {
          queued += runlane.connectionStats(id).map(ConnectionStats::queuedFrames).orElse(0);
        }
        answer("stats cpu " + WireServer.cpuNanos() + " conns " + connections.size() + " queued " + queued);
      }
      case "mem" -> {
        for (int i = 0; i < 3; i++) {
          System.gc();
          Thread.sleep(100);
        }
        Runtime rt = Runtime.getRuntime();
        long heap = rt.totalMemory() - rt.freeMemory();
        answer("mem heap " + heap + " direct -1 rss " + WireServer.rss() + " conns " + connections.size());
      }
      case "idle" -> answer("idle " + awaitIdle(TimeUnit.SECONDS.toNanos(60)));
      default -> answer("error unknown command " + Arrays.toString(a));
    }
  }

  /** The same publisher as {@link WireServer}'s (copied: that one is private to it). */
  private void publish(RunHandle[] rs, double rate, double seconds, long max) {
    long t0 = System.nanoTime();
    long end = t0 + (long) (seconds * 1e9);
    long n = 0;
    List<String> sample = new ArrayList<>();
    if (rate <= 0) {
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
        long due = (long) ((now - t0) / intervalNanos) + 1;
        if (n >= due) {
          LockSupport.parkNanos(Math.min(200_000, (long) (t0 + n * intervalNanos - now) + 1));
          continue;
        }
        while (n < due && n < max) {
          long dueAt = t0 + (long) (n * intervalNanos);
          rs[(int) (n % rs.length)].publish("delta", new WireServer.Ev(dueAt, WireServer.FILLER));
          n++;
        }
      } else {
        for (int i = 0; i < rs.length && n < max; i++) {
          rs[i].publish("delta", new WireServer.Ev(System.nanoTime(), WireServer.FILLER));
          n++;
        }
        while (backlog(sample) > 256) {
          if (System.nanoTime() >= end || stopPublisher) {
            break outer;
          }
          LockSupport.parkNanos(50_000);
        }
      }
    }
    answer("pubdone " + n + " " + (System.nanoTime() - t0));
  }

  private int backlog(List<String> sample) {
    int max = 0;
    for (String c : sample) {
      max = Math.max(max, runlane.connectionStats(c).map(ConnectionStats::queuedFrames).orElse(0));
    }
    return max;
  }

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

  /** A plain servlet in front of Spring's upgrade handler (no DispatcherServlet needed). */
  static final class UpgradeServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private final transient WebSocketHttpRequestHandler upgrade;

    UpgradeServlet(WebSocketHttpRequestHandler upgrade) {
      this.upgrade = upgrade;
    }

    @Override
    public void init() {
      upgrade.setServletContext(getServletContext());
      upgrade.start();
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws ServletException, IOException {
      upgrade.handleRequest(req, resp);
    }
  }
}
