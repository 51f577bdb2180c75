package dev.runlane.benchmarks;

import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.transport.jetty.JettyRunlaneWebSockets;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.io.SocketChannelEndPoint;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.jspecify.annotations.Nullable;

/**
 * Write batching over real sockets (issue 16): Runlane on the Jetty adapter on loopback, {@code
 * clients} JDK WebSocket clients in the same process, each the only recipient of its own run.
 * Scenario {@code live}: two publisher threads publish {@code events} events per run as fast as they
 * can. Scenario {@code replay}: each run holds {@code events} events, then every client subscribes
 * from seq 0 and gets the ack, {@code run.started} and every event replayed. One pass
 * with {@code JettyRunlaneWebSockets.Settings.batching(false)}, one with batching (the default),
 * interleaved {@code rounds} times. Per pass: delivered events/s, socket writes (gathering {@code
 * write} calls at Jetty's end point) per delivered event, and the CPU time per delivered event of
 * the process minus the clients' threads ({@code HttpClient-*}), which is the server's share only
 * roughly: the clients share the machine's cores and the JVM (GC, JIT).
 *
 * <pre>
 * mvn -B -q -pl benchmarks -am package -DskipTests
 * java -cp benchmarks/target/benchmarks.jar dev.runlane.benchmarks.JettyBatchingHarness [clients] [events] [rounds]
 * </pre>
 *
 * <p><b>Thread safety:</b> a program; run one at a time.
 */
public final class JettyBatchingHarness {
  private JettyBatchingHarness() {}

  /** Counts the gathering writes of every end point it opens. */
  static final class CountingConnector extends ServerConnector {
    final AtomicLong writes = new AtomicLong();

    CountingConnector(Server server) {
      super(server);
    }

    @Override
    protected SocketChannelEndPoint newEndPoint(
        SocketChannel channel, ManagedSelector selector, SelectionKey key) {
      SocketChannelEndPoint endPoint =
          new SocketChannelEndPoint(channel, selector, key, getScheduler()) {
            @Override
            public boolean flush(ByteBuffer... buffers) throws IOException {
              writes.incrementAndGet();
              return super.flush(buffers);
            }
          };
      endPoint.setIdleTimeout(getIdleTimeout());
      return endPoint;
    }
  }

  record Pass(
      String scenario, boolean batching, long delivered, double seconds, long writes, double cpuMicros) {
    double perSecond() {
      return delivered / seconds;
    }

    double writesPerEvent() {
      return (double) writes / delivered;
    }

    double cpuMicrosPerEvent() {
      return cpuMicros / delivered;
    }
  }

  public static void main(String[] args) throws Exception {
    int clients = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    int events = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    List<Pass> passes = new ArrayList<>();
    for (String scenario : new String[] {"live", "replay"}) {
      run(scenario, clients, Math.min(events, 200), false); // warm-up, not reported
      run(scenario, clients, Math.min(events, 200), true);
      for (int r = 0; r < rounds; r++) {
        for (boolean batching : new boolean[] {false, true}) {
          Pass p = run(scenario, clients, events, batching);
          passes.add(p);
          System.out.printf(
              Locale.ROOT,
              "{\"scenario\":\"%s\",\"batching\":%b,\"clients\":%d,\"events\":%d,\"delivered\":%d,"
                  + "\"perSecond\":%.0f,\"writesPerEvent\":%.3f,\"cpuMicrosPerEvent\":%.2f}%n",
              scenario, batching, clients, events, p.delivered, p.perSecond(), p.writesPerEvent(),
              p.cpuMicrosPerEvent());
        }
      }
    }
    for (String scenario : new String[] {"live", "replay"}) {
      for (boolean batching : new boolean[] {false, true}) {
        List<Pass> these =
            passes.stream().filter(p -> p.scenario.equals(scenario) && p.batching == batching).toList();
        System.out.printf(
            Locale.ROOT,
            "median %s batching=%b: %.0f events/s, %.3f socket writes per event, %.2f us CPU per event"
                + " (process minus client threads)%n",
            scenario,
            batching,
            Fixtures.median(these.stream().mapToDouble(Pass::perSecond).toArray()),
            Fixtures.median(these.stream().mapToDouble(Pass::writesPerEvent).toArray()),
            Fixtures.median(these.stream().mapToDouble(Pass::cpuMicrosPerEvent).toArray()));
      }
    }
  }

  /**
   * CPU nanoseconds of the process minus those of the clients' threads ({@code HttpClient-*}),
   * which live through a pass; publisher and server threads are counted even once they ended.
   */
  static long serverCpuNanos() {
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    var threads = ManagementFactory.getThreadMXBean();
    long clients = 0;
    for (long id : threads.getAllThreadIds()) {
      ThreadInfo info = threads.getThreadInfo(id);
      long cpu = threads.getThreadCpuTime(id);
      if (info != null && cpu > 0 && info.getThreadName().startsWith("HttpClient")) {
        clients += cpu;
      }
    }
    return os.getProcessCpuTime() - clients;
  }

  static Pass run(String scenario, int clients, int events, boolean batching) throws Exception {
    Server server = new Server();
    CountingConnector connector = new CountingConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    server.addConnector(connector);
    ContextHandler context = new ContextHandler("/");
    server.setHandler(context);
    Runlane rl =
        Runlane.builder()
            .codec(new BenchCodec())
            .heartbeatInterval(Duration.ZERO)
            .idleTimeout(Duration.ZERO)
            .maxQueuedFrames(Math.max(8192, events * 2))
            .build();
    ConcurrentHashMap<String, String> ids = new ConcurrentHashMap<>();
    JettyRunlaneWebSockets.install(
        server,
        context,
        "/ws",
        JettyRunlaneWebSockets.Settings.builder(req -> req.getHeaders().get("X-User"))
            .batching(batching)
            .build(),
        c -> {
          ids.put(c.principal(), c.id());
          return rl.connect(c);
        });
    server.start();
    HttpClient http = HttpClient.newHttpClient();
    LongAdder received = new LongAdder();
    List<WebSocket> sockets = new ArrayList<>();
    URI uri = URI.create("ws://127.0.0.1:" + connector.getLocalPort() + "/ws");
    try {
      for (int i = 0; i < clients; i++) {
        WebSocket ws =
            http.newWebSocketBuilder()
                .header("X-User", "u" + i)
                .buildAsync(
                    uri,
                    new WebSocket.Listener() {
                      @Override
                      public @Nullable CompletionStage<?> onText(
                          WebSocket w, CharSequence data, boolean last) {
                        if (last) {
                          received.increment();
                        }
                        w.request(1);
                        return null;
                      }
                    })
                .get(10, TimeUnit.SECONDS);
        sockets.add(ws);
      }
      awaitCount(() -> ids.size(), clients, "connections");
      boolean replay = scenario.equals("replay");
      RunHandle[] runs = new RunHandle[clients];
      for (int i = 0; i < clients; i++) {
        // live: the client is the run's recipient from the start; replay: nobody is yet
        runs[i] = Fixtures.start(rl, "u" + i + "/s", "u" + i, replay ? null : ids.get("u" + i));
      }
      long ready = replay ? clients : 2L * clients; // welcome (and run.started when live)
      awaitCount(received::sum, ready, "welcomes and starts");
      if (replay) {
        for (int i = 0; i < clients; i++) {
          for (int e = 0; e < events; e++) {
            runs[i].publish("delta", null);
          }
        }
      }

      long writes0 = connector.writes.get();
      long cpu0 = serverCpuNanos();
      long t0 = System.nanoTime();
      int publishers = 2;
      Thread[] threads = new Thread[publishers];
      for (int p = 0; p < publishers; p++) {
        int me = p;
        threads[p] =
            new Thread(
                () -> {
                  if (replay) { // every client resumes from 0: ack, run.started and every event
                    for (int i = me; i < clients; i += publishers) {
                      rl.subscribe(
                          java.util.Objects.requireNonNull(ids.get("u" + i)),
                          dev.runlane.SubscribeTarget.session("u" + i + "/s", 0, null),
                          dev.runlane.AttachMode.ADDITIVE);
                    }
                    return;
                  }
                  for (int e = 0; e < events; e++) {
                    for (int i = me; i < clients; i += publishers) {
                      runs[i].publish("delta", null);
                    }
                  }
                },
                "publisher-" + p);
        threads[p].start();
      }
      for (Thread t : threads) {
        t.join();
      }
      long delivered = replay ? (long) clients * (events + 2) : (long) clients * events;
      awaitCount(received::sum, ready + delivered, "deliveries");
      long t1 = System.nanoTime();
      long cpu1 = serverCpuNanos();
      return new Pass(
          scenario,
          batching,
          delivered,
          (t1 - t0) / 1e9,
          connector.writes.get() - writes0,
          (cpu1 - cpu0) / 1e3);
    } finally {
      for (WebSocket ws : sockets) {
        ws.abort();
      }
      rl.close();
      server.stop();
    }
  }

  private static void awaitCount(
      java.util.function.LongSupplier count, long want, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (count.getAsLong() < want) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("timed out waiting for " + what + ": " + count.getAsLong() + " of " + want);
      }
      Thread.sleep(1);
    }
  }
}
