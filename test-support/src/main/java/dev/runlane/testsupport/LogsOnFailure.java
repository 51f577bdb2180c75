package dev.runlane.testsupport;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.event.Level;

/**
 * Starts each test with no captured log records and prints the records of a test that failed (INFO
 * and above), so a passing build is quiet and a failing test still shows its logs. Registered for
 * every test of this build by JUnit's extension auto-detection.
 *
 * <p><b>Thread safety:</b> JUnit calls it on the test thread.
 */
public final class LogsOnFailure implements BeforeEachCallback, AfterEachCallback {
  @Override
  public void beforeEach(ExtensionContext context) {
    CapturedLogs.clear();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    if (context.getExecutionException().isPresent() && !CapturedLogs.all().isEmpty()) {
      System.err.println("---- log of failed test " + context.getDisplayName() + " ----");
      CapturedLogs.printTo(System.err, Level.INFO);
      System.err.println("---- end of log ----");
    }
  }
}
