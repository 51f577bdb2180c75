package dev.runlane.tck;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.opentest4j.AssertionFailedError;

/** Rule-aware assertions: every failure names the rule, what to check, the docs and the settings. */
final class Checks {

  private final TckSettings settings;

  Checks(TckSettings settings) {
    this.settings = settings;
  }

  TckSettings settings() {
    return settings;
  }

  Duration timeout() {
    return settings.timeout();
  }

  /** The failure of {@code rule}, with {@code detail}. */
  AssertionFailedError failure(Rule rule, String detail) {
    return new AssertionFailedError(message(rule, detail));
  }

  /** The failure of {@code rule}, with {@code detail} and the exception that revealed it. */
  AssertionFailedError failure(Rule rule, String detail, Throwable cause) {
    return new AssertionFailedError(message(rule, detail + " (" + cause + ")"), cause);
  }

  String message(Rule rule, String detail) {
    return rule.id
        + " ("
        + rule.summary
        + ") violated: "
        + detail
        + "\nIf this fails, check "
        + rule.check
        + ".\nSee "
        + rule.docs()
        + "\n"
        + settings.reproduceWith();
  }

  void that(Rule rule, boolean condition, Supplier<String> detail) {
    if (!condition) {
      throw failure(rule, detail.get());
    }
  }

  void equal(Rule rule, Object expected, Object actual, String what) {
    if (!expected.equals(actual)) {
      throw failure(rule, what + ": expected <" + expected + "> but was <" + actual + ">");
    }
  }

  /** Waits until {@code condition} holds, failing {@code rule} after the timeout. */
  void await(Rule rule, String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout().toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw failure(rule, "timed out after " + timeout().toMillis() + " ms waiting for " + what);
      }
      pause(1);
    }
  }

  /** Waits for the peer's recording to reach {@code count} messages. */
  void awaitMessages(Rule rule, ClientPeer peer, int count, String what) {
    try {
      if (!peer.recording().awaitSize(count, timeout())) {
        throw failure(
            rule,
            "timed out after "
                + timeout().toMillis()
                + " ms waiting for "
                + what
                + ": the peer received "
                + peer.recording().size()
                + " of "
                + count
                + " messages (close: "
                + peer.recording().close().map(String::valueOf).orElse("none")
                + ")");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw failure(rule, "interrupted while waiting for " + what, e);
    }
  }

  /** Waits for the peer's connection to end. */
  PeerClose awaitPeerClose(Rule rule, ClientPeer peer, String what) {
    try {
      if (!peer.recording().awaitClose(timeout())) {
        throw failure(
            rule,
            "timed out after " + timeout().toMillis() + " ms waiting for " + what
                + "; the peer received " + peer.recording().size() + " messages and no close");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw failure(rule, "interrupted while waiting for " + what, e);
    }
    return peer.recording().close().orElseThrow();
  }

  /**
   * Runs {@code call} on {@code executor} and returns its result, failing {@code rule} if it does
   * not return within the timeout: how the kit checks that a call does not block.
   */
  <T> T returnsInTime(Rule rule, ExecutorService executor, String what, Callable<T> call) {
    return returnsInTime(rule, executor, () -> what, call);
  }

  /** As above, describing the call only when it fails. */
  <T> T returnsInTime(
      Rule rule, ExecutorService executor, Supplier<String> describe, Callable<T> call) {
    Future<T> f = executor.submit(call);
    try {
      return f.get(timeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw failure(rule, describe.get() + " did not return within " + timeout().toMillis() + " ms");
    } catch (ExecutionException e) {
      Throwable c = e.getCause() == null ? e : e.getCause();
      if (c instanceof AssertionFailedError) {
        throw (AssertionFailedError) c;
      }
      throw failure(rule, describe.get() + " threw", c);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw failure(rule, "interrupted while waiting for " + describe.get(), e);
    }
  }

  /** Watches for something that must not happen, for the quiet period. */
  void quietPeriod() {
    pause(settings.quietPeriod().toMillis());
  }

  static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
