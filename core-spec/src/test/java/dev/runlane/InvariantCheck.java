package dev.runlane;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterTestExecutionCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Checks the engine's invariants after every spec test, Caffeine-style: every {@link Runlane} a test
 * builds is registered with {@link #track(Runlane)}, and right after the test method returns (before
 * its {@code @AfterEach} closes anything) each registered engine runs {@link
 * Runlane#checkInvariants()}. A broken invariant fails the test with the message naming it.
 *
 * <p>Registered for every test in core-spec by JUnit's extension auto-detection
 * ({@code META-INF/services} and {@code junit-platform.properties}), so a new spec class cannot forget
 * it; it lives in package {@code dev.runlane} to reach the package-private check. An engine a test
 * closes early (a rebuild with other settings) is checked by {@link #closeChecked(Runlane)} before
 * it closes. A test that already failed is not checked again (its own failure is the news).
 *
 * <p>The invariants hold on a quiescent engine only. A fixture whose engines keep working on their
 * own threads after a test's last call (a cluster's feed threads, which end a mirror and close its
 * tail just after handing its terminal to the clients) registers how to wait for them with {@link
 * #quiesceFirst(Runnable)}; it runs before the check, so a test that returns as soon as a client
 * saw what it awaited is not checked mid-way through that work.
 *
 * <p><b>Thread safety:</b> {@link #track} may be called from any thread; the check itself runs on
 * the test thread once the test method has returned, when the test's own threads must be done.
 */
public final class InvariantCheck implements AfterTestExecutionCallback {
  private static final List<Runlane> TRACKED = new ArrayList<>();
  private static final List<Runnable> QUIESCE = new ArrayList<>();

  /** Registers an engine to be checked after the current test; returns it. */
  public static Runlane track(Runlane rl) {
    synchronized (TRACKED) {
      TRACKED.add(rl);
    }
    return rl;
  }

  /**
   * Registers how to wait until the current test's engines are idle (bounded; it throws if they do
   * not settle); run once before the check after the test, then forgotten.
   */
  public static void quiesceFirst(Runnable settle) {
    synchronized (TRACKED) {
      QUIESCE.add(settle);
    }
  }

  /** Checks an engine now, stops tracking it and closes it (for tests that replace their engine). */
  public static void closeChecked(Runlane rl) {
    synchronized (TRACKED) {
      TRACKED.remove(rl);
    }
    try {
      rl.checkInvariants();
    } finally {
      rl.close();
    }
  }

  /**
   * Stops tracking an engine without checking it: a node a cluster test cut off from its store
   * (its view of the cluster is stale by design; the surviving nodes are checked).
   */
  public static void untrack(Runlane rl) {
    synchronized (TRACKED) {
      TRACKED.remove(rl);
    }
  }

  /** Checks one engine now, for tests that check at quiescent moments inside a walk. */
  public static void checkNow(Runlane rl) {
    rl.checkInvariants();
  }

  static int pending() {
    synchronized (TRACKED) {
      return TRACKED.size();
    }
  }

  @Override
  public void afterTestExecution(ExtensionContext context) {
    List<Runlane> engines;
    List<Runnable> quiesce;
    synchronized (TRACKED) {
      engines = new ArrayList<>(TRACKED);
      TRACKED.clear();
      quiesce = new ArrayList<>(QUIESCE);
      QUIESCE.clear();
    }
    if (context.getExecutionException().isPresent()) {
      return;
    }
    for (Runnable settle : quiesce) {
      settle.run();
    }
    for (Runlane rl : engines) {
      try {
        rl.checkInvariants();
      } catch (AssertionError e) {
        throw new AssertionError(
            "engine invariant broken after " + context.getDisplayName() + ": " + e.getMessage(), e);
      }
    }
  }
}
