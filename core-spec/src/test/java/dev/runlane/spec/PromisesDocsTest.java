package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * docs/promises.md names, for each promise P1–P9 in order, tests that exist: every {@code Class} or
 * {@code Class#method} in its table must be a test source file somewhere in the repository (any
 * module's {@code src/test/java}) and, for a method, declare a method of that name. The README
 * numbers the same nine promises.
 */
class PromisesDocsTest {
  private static final Pattern ROW = Pattern.compile("^\\| (P\\d) ([^|]+)\\|[^|]+\\|(.+)\\|\\s*$");
  private static final Pattern REF = Pattern.compile("`([A-Z][A-Za-z0-9]*)(?:#([a-zA-Z0-9_]+))?`");

  static Path root() {
    Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    while (dir != null && !Files.isRegularFile(dir.resolve("docs/promises.md"))) {
      dir = dir.getParent();
    }
    assertTrue(dir != null, "no docs/promises.md above " + System.getProperty("user.dir"));
    return dir;
  }

  /** Simple class name to its test source, over every module's src/test/java. */
  static Map<String, Path> testSources(Path root) throws IOException {
    Map<String, Path> out = new HashMap<>();
    try (Stream<Path> files = Files.walk(root, 12)) {
      files
          .filter(p -> p.toString().endsWith(".java"))
          .filter(p -> p.toString().replace('\\', '/').contains("/src/test/java/"))
          .forEach(p -> out.put(p.getFileName().toString().replace(".java", ""), p));
    }
    return out;
  }

  @Test
  void everyPromiseNamesTestsThatExist() throws IOException {
    Path root = root();
    Map<String, Path> sources = testSources(root);
    List<String> promises = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    for (String line : Files.readAllLines(root.resolve("docs/promises.md"), StandardCharsets.UTF_8)) {
      Matcher row = ROW.matcher(line);
      if (!row.matches()) {
        continue;
      }
      promises.add(row.group(1));
      Matcher ref = REF.matcher(row.group(3));
      int refs = 0;
      while (ref.find()) {
        refs++;
        String cls = ref.group(1);
        String method = ref.group(2);
        Path src = sources.get(cls);
        if (src == null) {
          missing.add(row.group(1) + ": no test class " + cls);
        } else if (method != null
            && !Pattern.compile("\\bvoid\\s+" + method + "\\s*\\(")
                .matcher(Files.readString(src, StandardCharsets.UTF_8))
                .find()) {
          missing.add(row.group(1) + ": no method " + cls + "#" + method);
        }
      }
      assertTrue(refs > 0, row.group(1) + " names no test");
    }
    assertEquals(List.of("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9"), promises, "promises in docs/promises.md");
    assertEquals(List.of(), missing, "docs/promises.md names tests that do not exist");
  }

  @Test
  void theReadmeNumbersTheNinePromisesInOrder() throws IOException {
    String readme = Files.readString(root().resolve("README.md"), StandardCharsets.UTF_8);
    Matcher m = Pattern.compile("(?m)^- \\*\\*(P\\d) ").matcher(readme);
    List<String> found = new ArrayList<>();
    while (m.find()) {
      found.add(m.group(1));
    }
    assertEquals(List.of("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9"), found);
  }
}
