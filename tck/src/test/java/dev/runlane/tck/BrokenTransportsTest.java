package dev.runlane.tck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;
import org.junit.platform.testkit.engine.Events;

/**
 * The kit catches each deliberately broken transport of {@link BrokenTransports}: the tests of
 * exactly the broken rule fail, every other SPI rule test passes (or is skipped), and each failure
 * message tells what to check.
 */
class BrokenTransportsTest {

  private static final Pattern RULE = Pattern.compile("^(T\\d)_(\\d)_");

  @ParameterizedTest
  @EnumSource(BrokenTransports.Fault.class)
  void eachBrokenTransportFailsExactlyItsRule(BrokenTransports.Fault fault) {
    Events tests =
        EngineTestKit.engine("junit-jupiter")
            .configurationParameter(BrokenTransports.CATALOGUE, "true")
            .selectors(selectClass(fault.kit))
            .execute()
            .testEvents();

    Map<String, String> failed = new TreeMap<>(); // test method -> message
    for (Event e : tests.failed().list()) {
      String method = ((MethodSource) e.getTestDescriptor().getSource().orElseThrow()).getMethodName();
      Throwable t = e.getPayload(TestExecutionResult.class).flatMap(TestExecutionResult::getThrowable).orElseThrow();
      failed.put(method, String.valueOf(t.getMessage()));
    }
    Set<String> failedRules = new TreeSet<>();
    for (String method : failed.keySet()) {
      Matcher m = RULE.matcher(method);
      assertTrue(m.find(), "every kit test is named by its rule: " + method);
      failedRules.add(m.group(1) + "." + m.group(2));
    }
    String report = fault + " failed " + failed;
    assertEquals(Set.of(fault.breaks.id), failedRules, report);
    for (String message : failed.values()) {
      assertTrue(message.startsWith(fault.breaks.id + " ("), report);
      assertTrue(message.contains("If this fails, check "), report);
      assertTrue(message.contains("docs/reference/transport-spi.md#" + fault.breaks.anchor()), report);
      assertTrue(message.contains("-Drunlane.tck.seed="), report);
    }
    long succeeded = tests.succeeded().count();
    assertTrue(succeeded >= 20, fault + ": only " + succeeded + " kit tests passed; " + report);
  }

  @org.junit.jupiter.api.Test
  void whatATransportCannotDoIsSkippedWithTheReasonNeverPassed() {
    Map<String, String> skipped = new TreeMap<>();
    long succeeded = 0;
    for (Class<?> kit : List.of(BrokenTransports.LimitedRules.class, BrokenTransports.LimitedPromises.class)) {
      Events tests =
          EngineTestKit.engine("junit-jupiter")
              .configurationParameter(BrokenTransports.CATALOGUE, "true")
              .selectors(selectClass(kit))
              .execute()
              .testEvents();
      assertEquals(0, tests.failed().count(), () -> kit.getSimpleName() + " failed: " + tests.failed().list());
      succeeded += tests.succeeded().count();
      assertEquals(0, tests.skipped().count(), "nothing is disabled; assumptions abort with a reason");
      for (Event e : tests.aborted().list()) { // an assumption that does not hold: reported as skipped
        String method = ((MethodSource) e.getTestDescriptor().getSource().orElseThrow()).getMethodName();
        Throwable t = e.getPayload(TestExecutionResult.class).flatMap(TestExecutionResult::getThrowable).orElseThrow();
        skipped.put(method, String.valueOf(t.getMessage()));
      }
    }
    assertEquals(
        Set.of(
            "T2_1_sendDoesNotBlockWhileThePeerIsNotReading",
            "T2_7_aBatchArrivesInOrderAfterOneFlush",
            "T2_7_aLoneFrameGoesOutAtItsFlush",
            "T2_7_aCloseWritesTheBatchFirst",
            "T2_7_flushNeverBlocksNorThrows",
            "T4_2_closeDoesNotBlockWhileThePeerIsNotReading",
            "T4_4_terminateEndsACloseThePeerNeverAnswers",
            "T5_1_everyDeclaredCapabilityIsHonoured",
            "T5_2_binaryArrivesAsBinaryByteForByte",
            "T6_1_streamTransportCarriesThePrimarysIdAndGeneration",
            "T6_2_closeOfEitherTransportIsReported",
            "T8_2_pingIsAnsweredAndThePongReportedAsActivity",
            "P6_slowConsumerIsClosedWithTheResumeCodeWhileOthersContinue",
            "P7_controlOvertakesAStreamBacklog",
            "P7_streamTransportCarriesTheStreamLane"),
        skipped.keySet(),
        "skipped: " + skipped);
    for (Map.Entry<String, String> s : skipped.entrySet()) {
      assertTrue(s.getValue().contains("skipped: "), s.getKey() + " was skipped without a reason: " + s.getValue());
    }
    assertTrue(succeeded >= 25, "only " + succeeded + " tests passed on the limited transport");
  }

  @org.junit.jupiter.api.Test
  void brokenKitsAreSkippedOutsideTheCatalogue() {
    List<Long> started = new ArrayList<>();
    Events tests =
        EngineTestKit.engine("junit-jupiter")
            .selectors(selectClass(BrokenTransports.CallbackTwice.class))
            .execute()
            .testEvents();
    started.add(tests.started().count());
    assertEquals(List.of(0L), started, "a broken kit ran without the catalogue parameter");
  }
}
