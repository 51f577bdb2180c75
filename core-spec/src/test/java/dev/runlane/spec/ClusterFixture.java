package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.InvariantCheck;
import dev.runlane.Runlane;
import dev.runlane.RunlaneBuilder;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.SharedMemoryCluster;
import dev.runlane.testkit.TextCodec;
import dev.runlane.testkit.WireMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * N Runlane nodes in one JVM sharing a {@link SharedMemoryCluster} store, each with the testkit's
 * in-memory transport. Real clocks and threads: cross-node delivery is asynchronous (the feed
 * threads), so tests wait for it with {@link #await} and {@link #settle()}, bounded in time.
 */
final class ClusterFixture implements AutoCloseable {
  final SharedMemoryCluster cluster;
  final List<Runlane> nodes = new ArrayList<>();
  final List<InMemoryTransport> tx = new ArrayList<>();
  private volatile boolean closed;

  ClusterFixture(int n, Duration lease, Consumer<RunlaneBuilder> customize) {
    cluster = new SharedMemoryCluster(lease);
    // a test may return as soon as a client saw what it awaited, while a feed thread still ends
    // the mirror that handed it (closing its tail): the invariants are checked once that is done
    InvariantCheck.quiesceFirst(
        () -> {
          if (!closed) {
            settle();
          }
        });
    for (int i = 0; i < n; i++) {
      RunlaneBuilder b =
          Runlane.builder()
              .codec(new TextCodec())
              .engine(cluster.node("n" + i))
              .idleTimeout(Duration.ZERO)
              .heartbeatInterval(Duration.ZERO)
              .sendStallTimeout(Duration.ZERO);
      customize.accept(b);
      Runlane rl = InvariantCheck.track(b.build());
      nodes.add(rl);
      tx.add(new InMemoryTransport(rl));
    }
  }

  ClusterFixture(int n) {
    this(n, Duration.ofMillis(300), b -> {});
  }

  Runlane node(int i) {
    return nodes.get(i);
  }

  InMemoryConnection open(int node, String principal) {
    return tx.get(node).open(principal);
  }

  /** Waits until every cross-node frame written so far was handed out. */
  void settle() {
    assertTrue(cluster.settle(Duration.ofSeconds(10)), "the cluster's feed threads did not settle");
  }

  /** Waits (at most 10 s) for {@code cond}. */
  static void await(String what, BooleanSupplier cond) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      try {
        Thread.sleep(2);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what);
      }
    }
  }

  /** The seqs of {@code runId}'s events a connection received, in order. */
  static List<Long> seqs(InMemoryConnection c, String runId) {
    List<Long> out = new ArrayList<>();
    for (WireMessage m : c.messages()) {
      if (m.isEventOf(runId)) {
        out.add(m.num("seq"));
      }
    }
    return out;
  }

  /** The terminal events of {@code runId} a connection received. */
  static List<WireMessage> terminals(InMemoryConnection c, String runId) {
    return c.messages(m -> m.isEventOf(runId) && m.isTerminal());
  }

  @Override
  public void close() {
    closed = true;
    settle();
    for (Runlane rl : nodes) {
      rl.close();
    }
    cluster.close();
  }
}
