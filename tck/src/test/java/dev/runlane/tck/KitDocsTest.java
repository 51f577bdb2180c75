package dev.runlane.tck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The kit, the SPI's rule list and the docs agree: docs/reference/transport-spi.md mirrors every
 * rule of the SPI's package documentation word for word under its anchor, every kit test is named
 * and displayed by a known rule, every rule the kit reports has an anchor, and the guide's fixture
 * sample is the fixture the kit's self-test runs.
 */
class KitDocsTest {

  private static final Path ROOT = Path.of("..");
  private static final Pattern SPI_RULE = Pattern.compile("<li><b>(T\\d\\.\\d)</b>(.*?)(?=<li>|</ul>)", Pattern.DOTALL);
  private static final Pattern TEST_NAME = Pattern.compile("^(T\\d_\\d|P\\d)_[a-zA-Z]+");

  private static String read(String path) throws IOException {
    return Files.readString(ROOT.resolve(path));
  }

  private static Map<String, String> spiRules() throws IOException {
    String src = read("transport-spi/src/main/java/dev/runlane/transport/package-info.java");
    Map<String, String> rules = new LinkedHashMap<>();
    Matcher m = SPI_RULE.matcher(src);
    while (m.find()) {
      String text = m.group(2).replaceAll("\\s*\\*\\s*", " ").replaceAll("\\{@code\\s+([^}]*)}", "`$1`");
      rules.put(m.group(1), text.replaceAll("\\s+", " ").trim());
    }
    return rules;
  }

  @Test
  void referenceMirrorsEveryRuleOfTheSpiWordForWord() throws IOException {
    Map<String, String> rules = spiRules();
    assertTrue(rules.size() >= 20, "parsed only " + rules.keySet());
    String doc = read("docs/reference/transport-spi.md");
    for (Map.Entry<String, String> r : rules.entrySet()) {
      String anchor = r.getKey().toLowerCase().replace('.', '-');
      assertTrue(doc.contains("<a id=\"" + anchor + "\"></a>\n### " + r.getKey() + "\n"), "no anchor " + anchor);
      Matcher m = Pattern.compile("### " + Pattern.quote(r.getKey()) + "\\n\\n(.*?)\\n\\n", Pattern.DOTALL).matcher(doc);
      assertTrue(m.find(), r.getKey());
      assertEquals(r.getValue(), m.group(1).replaceAll("\\s+", " ").trim(), "rule " + r.getKey() + " differs from the SPI");
    }
    Matcher ids = Pattern.compile("### (T\\d\\.\\d)\\n").matcher(doc);
    List<String> documented = new ArrayList<>();
    while (ids.find()) {
      documented.add(ids.group(1));
    }
    assertEquals(new ArrayList<>(rules.keySet()), documented, "the reference lists exactly the SPI's rules, in order");
  }

  @Test
  void everyRuleTheKitReportsIsASpiRuleOrPromiseWithAnAnchor() throws IOException {
    Map<String, String> spi = spiRules();
    String doc = read("docs/reference/transport-spi.md");
    for (Rule r : Rule.values()) {
      assertTrue(r.id.startsWith("P") || spi.containsKey(r.id), r + " is not an SPI rule");
      assertTrue(doc.contains("<a id=\"" + r.anchor() + "\"></a>"), "no anchor for " + r.id);
    }
  }

  @Test
  void everyKitTestIsNamedAndDisplayedByItsRule() {
    Set<Rule> covered = EnumSet.noneOf(Rule.class);
    int tests = 0;
    for (Class<?> kit : List.of(TransportRulesKit.class, TransportPromisesKit.class)) {
      for (Class<?> group : kit.getDeclaredClasses()) {
        if (!group.isAnnotationPresent(Nested.class)) {
          continue;
        }
        for (Method m : group.getDeclaredMethods()) {
          if (!m.isAnnotationPresent(Test.class)) {
            continue;
          }
          tests++;
          Matcher name = TEST_NAME.matcher(m.getName());
          assertTrue(name.find(), "kit test " + m.getName() + " is not named by a rule");
          Rule rule = Rule.valueOf(name.group(1));
          covered.add(rule);
          String display = m.getAnnotation(DisplayName.class).value();
          assertTrue(display.startsWith(rule.id + " "), m.getName() + " is displayed as '" + display + "'");
          assertTrue(group.getSimpleName().startsWith(rule.id.substring(0, 2)), m.getName() + " is in group " + group.getSimpleName());
        }
      }
    }
    assertTrue(tests >= 35, "found only " + tests + " kit tests");
    assertEquals(EnumSet.allOf(Rule.class), covered, "rules without a kit test");
  }

  @Test
  void theGuidesFixtureSampleIsTheFixtureTheKitRuns() throws IOException {
    String fixture = read("tck/src/test/java/dev/runlane/tck/JettyFixture.java");
    Matcher m = Pattern.compile("// tag::fixture\\[]\\n(.*?)// end::fixture\\[]\\n", Pattern.DOTALL).matcher(fixture);
    assertTrue(m.find(), "no tagged region in JettyFixture.java");
    String guide = read("docs/guides/writing-a-transport-adapter.md");
    assertTrue(guide.contains("```java\n" + m.group(1) + "```\n"), "the guide's JettyFixture sample differs from JettyFixture.java");
  }

  @Test
  void theGuideLinksEveryRuleAnchorThatExists() throws IOException {
    String guide = read("docs/guides/writing-a-transport-adapter.md");
    String doc = read("docs/reference/transport-spi.md");
    Matcher links = Pattern.compile("transport-spi\\.md#([a-z0-9-]+)").matcher(guide);
    int n = 0;
    while (links.find()) {
      n++;
      assertTrue(doc.contains("<a id=\"" + links.group(1) + "\"></a>"), "broken link #" + links.group(1));
    }
    assertTrue(n > 20, "the guide links only " + n + " rules");
  }
}
