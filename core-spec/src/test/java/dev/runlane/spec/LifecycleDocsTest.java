package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.ErrorCode;
import dev.runlane.FailureReason;
import dev.runlane.RunState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The lifecycle docs stay in step with the code: every {@link ErrorCode} has exactly one section in
 * {@code docs/reference/error-codes.md} whose GitHub anchor is {@link ErrorCode#docsAnchor()}, and
 * {@code docs/concepts/lifecycle.md} names every {@link RunState} and {@link FailureReason}.
 */
class LifecycleDocsTest {

  static Path docs() {
    Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    while (dir != null && !Files.isDirectory(dir.resolve("docs/reference"))) {
      dir = dir.getParent();
    }
    assertTrue(dir != null, "no docs/reference above " + System.getProperty("user.dir"));
    return dir.resolve("docs");
  }

  /** GitHub's heading slug: lower case, punctuation other than '-' and '_' removed, spaces to '-'. */
  static String slug(String heading) {
    return heading.trim().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9 _-]", "").replace(' ', '-');
  }

  @Test
  void everyErrorCodeHasItsAnchorInErrorCodesMd() throws IOException {
    String md = Files.readString(docs().resolve("reference/error-codes.md"), StandardCharsets.UTF_8);
    Set<String> anchors = new TreeSet<>();
    Matcher m = Pattern.compile("(?m)^## (.+)$").matcher(md);
    while (m.find()) {
      String a = "#" + slug(m.group(1));
      assertTrue(anchors.add(a), "two sections with anchor " + a);
    }
    Set<String> want = new TreeSet<>();
    for (ErrorCode c : ErrorCode.values()) {
      want.add(c.docsAnchor());
      assertTrue(
          md.contains("](" + c.docsAnchor() + ")"), "the summary table does not link " + c.docsAnchor());
    }
    assertEquals(want, anchors, "sections of error-codes.md vs ErrorCode.values()");
  }

  @Test
  void lifecycleMdNamesEveryStateAndFailureReason() throws IOException {
    String md = Files.readString(docs().resolve("concepts/lifecycle.md"), StandardCharsets.UTF_8);
    for (RunState s : RunState.values()) {
      assertTrue(md.contains("`" + s.name() + "`"), "lifecycle.md does not explain " + s);
    }
    for (FailureReason r : FailureReason.values()) {
      assertTrue(md.contains("`" + r.name() + "`"), "lifecycle.md does not explain " + r);
    }
  }
}
