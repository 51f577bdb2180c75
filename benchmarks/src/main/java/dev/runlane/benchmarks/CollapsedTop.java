package dev.runlane.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Summarizes an async-profiler profile in its {@code collapsed} format (one line per stack:
 * frames joined by {@code ;}, then a sample count): the top frames by self and by inclusive
 * samples. Unlike JFR's execution samples, async-profiler's {@code cpu} event also sees native and
 * kernel frames ({@code _[k]}), which is where a socket write's cost lives.
 *
 * <pre>
 * unzip -o ~/.m2/repository/tools/profiler/async-profiler/4.0/async-profiler-4.0.jar 'linux-x64/*' -d /tmp/ap
 * java -cp benchmarks/target/benchmarks.jar dev.runlane.benchmarks.WireLoadHarness only='targeted-1000$' \
 *     reps=1 hol=false warm=40 \
 *     "serverJvm=-agentpath:/tmp/ap/linux-x64/libasyncProfiler.so=start,event=cpu,interval=1ms,file=/tmp/ap/{name}.collapsed,collapsed"
 * java -cp benchmarks/target/benchmarks.jar dev.runlane.benchmarks.CollapsedTop /tmp/ap/targeted-1000-0.collapsed 40
 * </pre>
 *
 * <p><b>Thread safety:</b> a command-line program.
 */
public final class CollapsedTop {
  private CollapsedTop() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 1) {
      System.err.println("usage: CollapsedTop PROFILE.collapsed [TOP]");
      System.exit(2);
    }
    int top = args.length > 1 ? Integer.parseInt(args[1]) : 30;
    Map<String, Long> self = new HashMap<>();
    Map<String, Long> inclusive = new HashMap<>();
    long total = 0;
    try (BufferedReader in = Files.newBufferedReader(Paths.get(args[0]), StandardCharsets.UTF_8)) {
      for (String line; (line = in.readLine()) != null; ) {
        int space = line.lastIndexOf(' ');
        if (space <= 0) {
          continue;
        }
        long n = Long.parseLong(line.substring(space + 1).trim());
        String[] frames = line.substring(0, space).split(";");
        total += n;
        self.merge(frames[frames.length - 1], n, Long::sum);
        Set<String> seen = new HashSet<>();
        for (String f : frames) {
          if (seen.add(f)) {
            inclusive.merge(f, n, Long::sum);
          }
        }
      }
    }
    System.out.println(total + " samples in " + args[0]);
    print("self", self, total, top);
    print("inclusive", inclusive, total, top);
  }

  private static void print(String title, Map<String, Long> counts, long total, int top) {
    System.out.println("--- " + title);
    counts.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .limit(top)
        .forEach(
            e -> System.out.printf(Locale.ROOT, "%6.1f%%  %s%n", 100.0 * e.getValue() / Math.max(1, total), e.getKey()));
  }
}
