package dev.runlane;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Holds core's structure (issue 11): the engine parts — the package-private top-level classes of
 * core, each with its nested types — form no dependency cycle (a part reaches another only through
 * a narrow interface nested in the part that declares what it needs, such as {@code Run.Owner}),
 * and no main source file grows past the size a reviewer can hold in mind. The public API types
 * (the facade, its builder, value records) are not engine parts.
 */
class EngineStructureTest {
  private static final int MAX_LINES = 550;

  @Test
  void engineClassesFormNoDependencyCycle() {
    JavaClasses classes =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.runlane");
    Map<String, Set<String>> graph = new TreeMap<>();
    Set<String> parts = new TreeSet<>();
    for (JavaClass c : classes) {
      JavaClass top = top(c);
      if (!top.getModifiers().contains(com.tngtech.archunit.core.domain.JavaModifier.PUBLIC)) {
        parts.add(top.getName());
      }
    }
    for (JavaClass c : classes) {
      String from = top(c).getName();
      if (!parts.contains(from)) {
        continue;
      }
      Set<String> out = graph.computeIfAbsent(from, k -> new TreeSet<>());
      for (Dependency d : c.getDirectDependenciesFromSelf()) {
        JavaClass target = d.getTargetClass();
        String to = top(target).getName();
        if (parts.contains(to)) {
          if (!to.equals(from)) {
            out.add(to);
          }
        }
      }
    }
    List<List<String>> cycles = stronglyConnected(graph);
    assertTrue(cycles.isEmpty(), "dependency cycles between core classes: " + cycles);
  }

  @Test
  void noMainSourceFileIsLargerThanAReviewerCanHold() throws IOException {
    Path main = Path.of("src/main/java");
    List<String> tooLong = new ArrayList<>();
    try (Stream<Path> files = Files.walk(main)) {
      for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".java"))::iterator) {
        long n = Files.readAllLines(f).size();
        if (n > MAX_LINES) {
          tooLong.add(main.relativize(f) + " (" + n + " lines)");
        }
      }
    }
    assertTrue(tooLong.isEmpty(), "over " + MAX_LINES + " lines: " + tooLong);
  }

  /** The top-level class that declares {@code c}: a part is a class with its nested types. */
  private static JavaClass top(JavaClass c) {
    JavaClass n = c;
    while (n.getEnclosingClass().isPresent()) {
      n = n.getEnclosingClass().get();
    }
    return n;
  }

  /** Tarjan's algorithm; returns every strongly connected component with more than one node. */
  private static List<List<String>> stronglyConnected(Map<String, Set<String>> graph) {
    Map<String, Integer> index = new HashMap<>();
    Map<String, Integer> low = new HashMap<>();
    Deque<String> stack = new ArrayDeque<>();
    Set<String> onStack = new TreeSet<>();
    List<List<String>> out = new ArrayList<>();
    int[] counter = {0};
    for (String v : graph.keySet()) {
      if (!index.containsKey(v)) {
        strongConnect(v, graph, index, low, stack, onStack, out, counter);
      }
    }
    return out;
  }

  private static void strongConnect(
      String v,
      Map<String, Set<String>> graph,
      Map<String, Integer> index,
      Map<String, Integer> low,
      Deque<String> stack,
      Set<String> onStack,
      List<List<String>> out,
      int[] counter) {
    index.put(v, counter[0]);
    low.put(v, counter[0]);
    counter[0]++;
    stack.push(v);
    onStack.add(v);
    for (String w : graph.getOrDefault(v, Set.of())) {
      if (!index.containsKey(w)) {
        strongConnect(w, graph, index, low, stack, onStack, out, counter);
        low.put(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.contains(w)) {
        low.put(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v).equals(index.get(v))) {
      List<String> scc = new ArrayList<>();
      String w;
      do {
        w = stack.pop();
        onStack.remove(w);
        scc.add(w);
      } while (!w.equals(v));
      if (scc.size() > 1) {
        out.add(scc);
      }
    }
  }
}
