package dev.runlane.benchmarks;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Summarizes the CPU samples of a JFR recording (as JMH's {@code -prof jfr} writes them): the top
 * frames by self time (with line numbers) and by inclusive time. JFR samples are not biased to
 * safepoints, unlike {@code -prof stack}, so they show where inlined hot loops really spend.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar org.openjdk.jmh.Main FanOutBenchmark.ours \
 *     -p recipients=100 -prof jfr:dir=/tmp/jfr
 * java -cp benchmarks/target/benchmarks.jar dev.runlane.benchmarks.JfrTop /tmp/jfr/.../profile.jfr
 * </pre>
 *
 * <p><b>Thread safety:</b> a command-line program.
 */
public final class JfrTop {
  private JfrTop() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 1) {
      System.err.println("usage: JfrTop RECORDING.jfr [TOP]");
      System.exit(2);
    }
    Path file = Paths.get(args[0]);
    int top = args.length > 1 ? Integer.parseInt(args[1]) : 20;
    Map<String, Integer> self = new HashMap<>();
    Map<String, Integer> inclusive = new HashMap<>();
    int samples = 0;
    for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
      if (!"jdk.ExecutionSample".equals(e.getEventType().getName())) {
        continue;
      }
      RecordedStackTrace st = e.getStackTrace();
      if (st == null || st.getFrames().isEmpty()) {
        continue;
      }
      samples++;
      List<RecordedFrame> frames = st.getFrames();
      RecordedFrame f0 = frames.get(0);
      self.merge(name(f0) + ":" + f0.getLineNumber(), 1, Integer::sum);
      Set<String> seen = new HashSet<>();
      for (RecordedFrame f : frames) {
        String n = name(f);
        if (!harness(n) && seen.add(n)) {
          inclusive.merge(n, 1, Integer::sum);
        }
      }
    }
    System.out.println(samples + " CPU samples in " + file);
    print("self (method:line)", self, samples, top);
    print("inclusive", inclusive, samples, top);
  }

  /** JMH's and the JDK's thread plumbing, present in every sample. */
  private static boolean harness(String n) {
    return n.contains("jmh_generated")
        || n.startsWith("org.openjdk.jmh.")
        || n.startsWith("java.lang.Thread.")
        || n.startsWith("java.util.concurrent.ThreadPoolExecutor")
        || n.startsWith("java.util.concurrent.FutureTask")
        || n.startsWith("jdk.internal.reflect.")
        || n.startsWith("java.lang.reflect.");
  }

  private static String name(RecordedFrame f) {
    return f.getMethod().getType().getName() + "." + f.getMethod().getName();
  }

  private static void print(String title, Map<String, Integer> counts, int samples, int top) {
    System.out.println("--- " + title);
    counts.entrySet().stream()
        .sorted((a, b) -> Integer.compare(b.getValue(), a.getValue()))
        .limit(top)
        .forEach(
            e ->
                System.out.println(
                    String.format(Locale.ROOT, "%5.1f%%  %s", 100.0 * e.getValue() / samples, e.getKey())));
  }
}
