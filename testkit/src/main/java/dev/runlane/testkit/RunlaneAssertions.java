package dev.runlane.testkit;

import dev.runlane.ConnectionStats;
import dev.runlane.Runlane;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Assertions over what an {@link InMemoryConnection} received. They throw {@link AssertionError},
 * so they work with any test framework.
 *
 * <p><b>Thread safety:</b> stateless.
 */
public final class RunlaneAssertions {
  private RunlaneAssertions() {}

  /** The seqs of {@code runId}'s events that {@code c} received, in arrival order. */
  public static List<Long> seqsOf(InMemoryConnection c, String runId) {
    List<Long> out = new ArrayList<>();
    for (WireMessage m : c.messages()) {
      if (m.isEventOf(runId)) {
        out.add(m.num("seq"));
      }
    }
    return out;
  }

  /** Asserts the received seqs of {@code runId} are exactly {@code expected}, in order. */
  public static void assertSeqs(InMemoryConnection c, String runId, long... expected) {
    List<Long> got = seqsOf(c, runId);
    List<Long> want = new ArrayList<>();
    for (long e : expected) {
      want.add(e);
    }
    if (!got.equals(want)) {
      throw new AssertionError(c.id() + ": seqs of " + runId + " were " + got + ", expected " + want);
    }
  }

  /** Asserts the received seqs of {@code runId} are exactly {@code from..to}, in order. */
  public static void assertSeqRange(InMemoryConnection c, String runId, long from, long to) {
    long[] want = new long[(int) Math.max(0, to - from + 1)];
    for (int i = 0; i < want.length; i++) {
      want[i] = from + i;
    }
    assertSeqs(c, runId, want);
  }

  /** Asserts every run event {@code c} received belongs to one of {@code runIds}. */
  public static void assertOnlyRuns(InMemoryConnection c, String... runIds) {
    Set<String> allowed = Set.of(runIds);
    for (WireMessage m : c.messages()) {
      if (m.isEvent() && !allowed.contains(m.require("run"))) {
        throw new AssertionError(
            c.id() + " received an event of run " + m.get("run") + ", allowed only " + Arrays.toString(runIds));
      }
    }
  }

  /** Asserts {@code c} received no run event at all. */
  public static void assertNoEvents(InMemoryConnection c) {
    assertOnlyRuns(c);
  }

  /** Asserts the received seqs of each run are strictly increasing by one (no gap, no duplicate). */
  public static void assertContiguousPerRun(InMemoryConnection c) {
    java.util.Map<String, Long> last = new java.util.HashMap<>();
    for (WireMessage m : c.messages()) {
      if (m.isEvent()) {
        String run = m.require("run");
        long seq = m.num("seq");
        Long prev = last.put(run, seq);
        if (prev != null && seq != prev + 1) {
          throw new AssertionError(c.id() + ": run " + run + " seq " + seq + " after " + prev);
        }
      }
    }
  }

  /**
   * Waits until the outbox of connection {@code connectionId} is drained (nothing queued, nothing in
   * flight) or the connection is gone, for a test whose frames are sent by another thread (a
   * publisher thread, a send completing on a transport thread). Polls {@link
   * Runlane#connectionStats}; gives up after {@code timeout} with an {@link AssertionError} that
   * shows the last stats. A connection in {@link InMemoryConnection.Mode#MANUAL} drains only as the
   * test completes its sends.
   */
  public static void awaitDrained(Runlane runlane, String connectionId, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Optional<ConnectionStats> stats = runlane.connectionStats(connectionId);
      if (stats.isEmpty() || (stats.get().queuedFrames() == 0 && stats.get().inFlight() == 0)) {
        return;
      }
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError(
            connectionId + " was not drained within " + timeout.toMillis() + " ms: " + stats.get());
      }
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for " + connectionId + " to drain", e);
      }
    }
  }
}
