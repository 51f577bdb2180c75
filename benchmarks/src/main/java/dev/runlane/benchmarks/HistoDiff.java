package dev.runlane.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Per-connection memory by class and by owner, from two live class histograms of the wire
 * harness's server ({@code WireLoadHarness idle=N histo=DIR}: one before the connections open, one
 * after): the growth of each class divided by the number of connections, then summed by owner
 * (Jetty's WebSocket session, Jetty's I/O and HTTP, the JDK's NIO channel, Runlane, the harness).
 * Arrays, strings and JDK collections have no owner in a histogram: they are listed under "JDK
 * arrays, strings, collections" and attributed by reading the classes beside them (see
 * docs/benchmarks.md, "Memory per connection").
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.runlane.benchmarks.HistoDiff BEFORE AFTER CONNECTIONS [TOP]
 * </pre>
 *
 * <p><b>Thread safety:</b> a command-line program.
 */
public final class HistoDiff {
  private HistoDiff() {}

  /** One class's growth. */
  record Row(String cls, long instances, long bytes) {}

  public static void main(String[] args) throws IOException {
    if (args.length < 3) {
      System.err.println("usage: HistoDiff BEFORE AFTER CONNECTIONS [TOP]");
      System.exit(2);
    }
    Map<String, long[]> before = read(Path.of(args[0]));
    Map<String, long[]> after = read(Path.of(args[1]));
    double n = Double.parseDouble(args[2]);
    int top = args.length > 3 ? Integer.parseInt(args[3]) : 40;
    List<Row> rows = new ArrayList<>();
    for (Map.Entry<String, long[]> e : after.entrySet()) {
      long[] b = before.getOrDefault(e.getKey(), new long[2]);
      rows.add(new Row(e.getKey(), e.getValue()[0] - b[0], e.getValue()[1] - b[1]));
    }
    for (Map.Entry<String, long[]> e : before.entrySet()) {
      if (!after.containsKey(e.getKey())) {
        rows.add(new Row(e.getKey(), -e.getValue()[0], -e.getValue()[1]));
      }
    }
    rows.sort((x, y) -> Long.compare(Math.abs(y.bytes()), Math.abs(x.bytes())));
    long total = 0;
    Map<String, Long> byOwner = new LinkedHashMap<>();
    for (Row r : rows) {
      total += r.bytes();
      byOwner.merge(owner(r.cls()), r.bytes(), Long::sum);
    }
    System.out.printf(Locale.ROOT, "%-72s %10s %10s%n", "class (growth per connection)", "objects", "bytes");
    for (int i = 0; i < Math.min(top, rows.size()); i++) {
      Row r = rows.get(i);
      System.out.printf(Locale.ROOT, "%-72s %10.2f %10.1f%n", r.cls(), r.instances() / n, r.bytes() / n);
    }
    System.out.println();
    System.out.printf(Locale.ROOT, "%-72s %10s%n", "owner", "bytes");
    List<Map.Entry<String, Long>> owners = new ArrayList<>(byOwner.entrySet());
    owners.sort((x, y) -> Long.compare(y.getValue(), x.getValue()));
    for (Map.Entry<String, Long> e : owners) {
      System.out.printf(Locale.ROOT, "%-72s %10.1f%n", e.getKey(), e.getValue() / n);
    }
    System.out.printf(Locale.ROOT, "%-72s %10.1f%n", "total", total / n);
  }

  static String owner(String cls) {
    if (cls.startsWith("org.eclipse.jetty.websocket.")) {
      return "Jetty WebSocket (session, connection, parser, flusher, extensions)";
    }
    if (cls.startsWith("org.eclipse.jetty.io.")) {
      return "Jetty I/O (endpoint, buffers, selector)";
    }
    if (cls.startsWith("org.eclipse.jetty.server.") || cls.startsWith("org.eclipse.jetty.http.")) {
      return "Jetty HTTP (upgrade request, headers)";
    }
    if (cls.startsWith("org.eclipse.jetty.")) {
      return "Jetty other (util: locks, callbacks, attributes)";
    }
    if (cls.startsWith("dev.runlane.benchmarks.")) {
      return "harness (WireServer's own map and handler)";
    }
    if (cls.startsWith("dev.runlane.")) {
      return "Runlane";
    }
    if (cls.startsWith("sun.nio.") || cls.startsWith("java.nio.") || cls.startsWith("java.net.")
        || cls.startsWith("java.io.FileDescriptor")) {
      return "JDK NIO (socket channel, selection key, buffers)";
    }
    return "JDK arrays, strings, collections (owner not in the histogram)";
  }

  /** class name -> {instances, bytes}, from {@code GC.class_histogram}'s text. */
  static Map<String, long[]> read(Path file) throws IOException {
    Map<String, long[]> m = new HashMap<>();
    for (String line : Files.readAllLines(file)) {
      String[] t = line.trim().split(" +");
      if (t.length < 4 || !t[0].endsWith(":")) {
        continue;
      }
      String cls = t[3];
      m.merge(cls, new long[] {Long.parseLong(t[1]), Long.parseLong(t[2])}, (a, b) -> new long[] {a[0] + b[0], a[1] + b[1]});
    }
    return m;
  }
}
