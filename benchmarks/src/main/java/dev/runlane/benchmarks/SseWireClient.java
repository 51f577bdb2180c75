package dev.runlane.benchmarks;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

/**
 * A client process of {@link SpringWireHarness} for the SSE transport: holds many {@code
 * EventSource}-style streams ({@code GET /sse?u=cI}) with the JDK's HTTP client over HTTP/1.1 (one
 * TCP connection per stream, as a browser without HTTP/2 has), parses {@code text/event-stream} by
 * line, and subscribes each stream with a command POST ({@code ?stream=<token>}) once its welcome
 * arrived. Per run event it checks the seq (gaps, duplicates) and records the latency from the
 * publish time stamped in the event's data, like {@link WireClient}.
 *
 * <p>Commands on stdin, one answer line each: {@code open FROM TO PREFIX MOD} (answers {@code
 * opendone N MILLIS} when every stream is acknowledged), {@code reset} ({@code ok cpu NANOS}),
 * {@code stats} ({@code stats delivered D bytes B gaps G dups U errors E open O cpu C lat BASE64}).
 * It exits when stdin ends.
 *
 * <p><b>Thread safety:</b> a process main; the streams' lines arrive on the HTTP client's two
 * threads, each stream's in order; the shared counters are guarded by this object.
 */
public final class SseWireClient {
  private static final String DATA_T = "\"data\":{\"t\":";
  private static final String SEQ = "\"seq\":";

  private final int port;
  private final HttpClient http;
  private final PrintStream out;
  private final List<Stream> streams = new ArrayList<>();
  // guarded by this
  private long delivered;
  private long bytes;
  private long gaps;
  private long dups;
  private long errors;
  private int acked;
  private Histogram latency = WireClient.newHistogram();

  SseWireClient(int port, PrintStream out) {
    this.port = port;
    this.out = out;
    ExecutorService pool =
        Executors.newFixedThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "sse-client");
              t.setDaemon(true);
              return t;
            });
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(30))
            .executor(pool)
            .build();
  }

  /** {@code java ... SseWireClient port=N} */
  public static void main(String[] args) throws Exception {
    Map<String, String> opt = WireLoadHarness.options(args);
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    SseWireClient c = new SseWireClient(Integer.parseInt(opt.get("port")), out);
    out.println("ready pid " + ProcessHandle.current().pid());
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null && !"quit".equals(line); ) {
      String[] a = line.trim().split(" +");
      try {
        out.println(c.command(a));
      } catch (RuntimeException e) {
        out.println("error " + e);
      }
    }
    System.exit(0);
  }

  private String command(String[] a) throws InterruptedException {
    switch (a[0]) {
      case "open" -> {
        int from = Integer.parseInt(a[1]);
        int to = Integer.parseInt(a[2]);
        int mod = Integer.parseInt(a[4]);
        long t0 = System.nanoTime();
        for (int i = from; i < to; i++) {
          Stream s = new Stream(a[3] + (i % mod));
          streams.add(s);
          HttpRequest get =
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/sse?u=c" + i))
                  .header("Accept", "text/event-stream")
                  .build();
          http.sendAsync(get, HttpResponse.BodyHandlers.fromLineSubscriber(s))
              .whenComplete((r, e) -> s.ended(e));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
          synchronized (this) {
            if (acked >= streams.size()) {
              return "opendone " + streams.size() + " " + (System.nanoTime() - t0) / 1_000_000;
            }
          }
          Thread.sleep(10);
        }
        synchronized (this) {
          return "error only " + acked + " of " + streams.size() + " streams acknowledged in 120 s";
        }
      }
      case "reset" -> {
        synchronized (this) {
          delivered = bytes = gaps = dups = 0;
          latency = WireClient.newHistogram();
        }
        return "ok cpu " + WireServer.cpuNanos();
      }
      case "stats" -> {
        synchronized (this) {
          return "stats delivered " + delivered + " bytes " + bytes + " gaps " + gaps + " dups " + dups
              + " errors " + errors + " open " + acked + " cpu " + WireServer.cpuNanos() + " lat " + WireClient.encode(latency);
        }
      }
      default -> {
        return "error unknown command " + a[0];
      }
    }
  }

  private static long number(String s, int from) {
    long v = 0;
    for (int i = from; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        break;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }

  /** One stream: its lines in order (Flow guarantees one onNext at a time). */
  private final class Stream implements Flow.Subscriber<String> {
    final String session;
    @Nullable String event;
    @Nullable String token;
    long lastSeq;

    Stream(String session) {
      this.session = session;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(String line) {
      int len = line.length() + 1;
      if (line.isEmpty()) {
        event = null;
        synchronized (SseWireClient.this) {
          bytes += len;
        }
        return;
      }
      if (line.startsWith("event: ")) {
        event = line.substring(7);
      } else if (line.startsWith("data: ")) {
        String data = line.substring(6);
        if ("runlane.stream".equals(event)) {
          token = data;
        } else if (event == null) {
          frame(data, len);
          return;
        }
      }
      synchronized (SseWireClient.this) {
        bytes += len;
      }
    }

    private void frame(String d, int len) {
      long now = System.nanoTime();
      if (d.startsWith("{\"kind\":\"run_event\"")) {
        long seq = number(d, d.indexOf(SEQ) + SEQ.length());
        int t = d.indexOf(DATA_T);
        long sent = t < 0 ? -1 : number(d, t + DATA_T.length());
        synchronized (SseWireClient.this) {
          bytes += len;
          delivered++;
          if (seq <= lastSeq) {
            dups++;
          } else {
            if (seq > lastSeq + 1) {
              gaps += seq - lastSeq - 1;
            }
            lastSeq = seq;
          }
          if (sent >= 0) {
            latency.recordValue(Math.max(0, now - sent));
          }
        }
      } else if (d.startsWith("{\"kind\":\"welcome\"")) {
        String subscribe =
            "{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"" + session + "\",\"lastSeq\":0}]}";
        HttpRequest post =
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/sse?stream=" + token))
                .POST(HttpRequest.BodyPublishers.ofString(subscribe))
                .build();
        http.sendAsync(post, HttpResponse.BodyHandlers.discarding())
            .whenComplete(
                (r, e) -> {
                  if (e != null || r.statusCode() != 202) {
                    synchronized (SseWireClient.this) {
                      errors++;
                    }
                  }
                });
        synchronized (SseWireClient.this) {
          bytes += len;
        }
      } else {
        synchronized (SseWireClient.this) {
          bytes += len;
          if (d.startsWith("{\"kind\":\"subscribed\"")) {
            acked++;
          } else if (d.startsWith("{\"kind\":\"protocol_error\"")) {
            errors++;
          }
        }
      }
    }

    void ended(@Nullable Throwable e) {
      synchronized (SseWireClient.this) {
        errors++;
      }
    }

    @Override
    public void onError(Throwable throwable) {}

    @Override
    public void onComplete() {}
  }
}
