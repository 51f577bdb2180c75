package dev.runlane.spec;

import static dev.runlane.spec.ClusterFixture.await;
import static dev.runlane.spec.ClusterFixture.seqs;
import static dev.runlane.spec.ClusterFixture.terminals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.InvariantCheck;
import dev.runlane.Result;
import dev.runlane.RunHandle;
import dev.runlane.RunOutcome;
import dev.runlane.RunState;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.engine.CommandRouter;
import dev.runlane.engine.Engine;
import dev.runlane.engine.NodeLossListener;
import dev.runlane.engine.RunCommand;
import dev.runlane.engine.RunDirectory;
import dev.runlane.engine.RunFeed;
import dev.runlane.engine.RunLog;
import dev.runlane.engine.RunLogView;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.SharedMemoryCluster;
import dev.runlane.testkit.TextCodec;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An abort that reaches a run while its start is still inside its critical section. On a cluster
 * engine the directory holds the claim, and the node's command binding exists, a moment before the
 * start records {@code run.started} and publishes the run; {@code abortSession} (and any other
 * node) finds the run in the directory and routes the abort to it. The abort must not end a run
 * nobody can see yet: it waits for the start, then aborts the published run, whose events are
 * {@code run.started} (seq 1) and {@code run.aborted} (seq 2), and {@code run(id)} holds it.
 *
 * <p>The interleaving is forced, not hoped for: the node's engine is wrapped so that binding the run
 * (inside the start's critical section) parks the starting thread until the test lets it go. Found
 * by {@code LifecycleModelTest#concurrentRacesKeepOneEndPerRun} on the Redis engine under load
 * ({@code run(id)} was empty right after a successful abort).
 */
class ClusterAbortDuringStartTest {
  private final SharedMemoryCluster cluster = new SharedMemoryCluster(Duration.ofMillis(300));
  private final GatedEngine engine = new GatedEngine(cluster.node("n0"));
  private final Runlane rl =
      InvariantCheck.track(
          Runlane.builder()
              .codec(new TextCodec())
              .engine(engine)
              .idleTimeout(Duration.ZERO)
              .heartbeatInterval(Duration.ZERO)
              .sendStallTimeout(Duration.ZERO)
              .build());
  private final InMemoryTransport tx = new InMemoryTransport(rl);
  private final ExecutorService threads = Executors.newCachedThreadPool();

  ClusterAbortDuringStartTest() {
    InvariantCheck.quiesceFirst(() -> assertTrue(cluster.settle(Duration.ofSeconds(10)), "the feed threads did not settle"));
  }

  @AfterEach
  void close() throws InterruptedException {
    engine.release.countDown();
    threads.shutdownNow();
    assertTrue(threads.awaitTermination(10, TimeUnit.SECONDS), "test threads did not stop");
    assertTrue(cluster.settle(Duration.ofSeconds(10)), "the cluster's feed threads did not settle");
    rl.close();
    cluster.close();
  }

  @Test
  void anAbortRoutedBeforeTheStartPublishedTheRunWaitsForItThenAbortsIt() throws Exception {
    InMemoryConnection follower = tx.open("alice");
    follower.sendText("sub s1 0");
    assertEquals("NO_RUN_YET", follower.last("subscribed").require("status"));

    engine.gate = true;
    CompletableFuture<Result<RunHandle>> start =
        CompletableFuture.supplyAsync(() -> rl.startRun(StartRequest.of("s1", "alice")), threads);
    assertTrue(engine.bound.await(10, TimeUnit.SECONDS), "the start did not reach its binding");
    String runId = engine.boundRunId;

    CompletableFuture<Result<RunOutcome>> abort =
        CompletableFuture.supplyAsync(() -> rl.abortSession("s1", "alice"), threads);
    // the abort is routed to the bound handler, which must wait for the start (the session's lock)
    await("the abort handled, or waiting for the start", () -> abort.isDone() || engine.handlerWaitsOnASession());
    assertFalse(
        abort.isDone(),
        () -> "the abort ended " + runId + " before its start published it: " + abort.join() + ", run(id) " + rl.run(runId));

    engine.release.countDown();
    RunHandle run = start.get(10, TimeUnit.SECONDS).orElseThrow();
    assertEquals(runId, run.runId());
    RunOutcome out = abort.get(10, TimeUnit.SECONDS).orElseThrow();
    assertEquals(runId, out.runId());
    assertEquals(RunState.ABORTED, out.state());
    assertEquals(2, out.terminalSeq(), "run.started is seq 1, the abort's terminal seq 2");
    assertTrue(rl.run(runId).isPresent(), "run(id) holds the aborted run");
    assertEquals(RunState.ABORTED, run.state());
    await("the terminal on the follower", () -> terminals(follower, runId).size() == 1);
    assertEquals(List.of(1L, 2L), seqs(follower, runId));
    assertEquals("ABORTED", terminals(follower, runId).get(0).require("state"));
  }

  /** Delegates to a cluster node; when {@link #gate} is set, the next bind parks its caller. */
  static final class GatedEngine implements Engine {
    private final Engine delegate;
    private final GatedRouter router;
    volatile boolean gate;
    volatile @Nullable String boundRunId;
    volatile @Nullable Thread handlerThread;
    final CountDownLatch bound = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    GatedEngine(Engine delegate) {
      this.delegate = delegate;
      this.router = new GatedRouter(delegate.commands());
    }

    /** The thread running the routed command is blocked on a session's lock (core's SessionState). */
    boolean handlerWaitsOnASession() {
      Thread t = handlerThread;
      if (t == null) {
        return false;
      }
      ThreadInfo info = ManagementFactory.getThreadMXBean().getThreadInfo(t.getId());
      return info != null
          && info.getThreadState() == Thread.State.BLOCKED
          && info.getLockInfo() != null
          && info.getLockInfo().getClassName().equals("dev.runlane.SessionState");
    }

    @Override
    public RunLog newLog(String runId, int maxFrames, long maxBytes) {
      return delegate.newLog(runId, maxFrames, maxBytes);
    }

    @Override
    public RunDirectory directory() {
      return delegate.directory();
    }

    @Override
    public Optional<RunFeed> feed() {
      return delegate.feed();
    }

    @Override
    public RunLogView view(String runId) {
      return delegate.view(runId);
    }

    @Override
    public String nodeId() {
      return delegate.nodeId();
    }

    @Override
    public void onNodeLost(NodeLossListener listener) {
      delegate.onNodeLost(listener);
    }

    @Override
    public CommandRouter commands() {
      return router;
    }

    @Override
    public String newEpoch() {
      return delegate.newEpoch();
    }

    @Override
    public void close() {
      delegate.close();
    }

    final class GatedRouter implements CommandRouter {
      private final CommandRouter inner;

      GatedRouter(CommandRouter inner) {
        this.inner = inner;
      }

      @Override
      public Binding bind(String runId, Handler handler) {
        Binding b =
            inner.bind(
                runId,
                (RunCommand command) -> {
                  handlerThread = Thread.currentThread();
                  return handler.handle(command);
                });
        if (gate) {
          gate = false;
          boundRunId = runId;
          bound.countDown();
          try {
            if (!release.await(10, TimeUnit.SECONDS)) {
              throw new IllegalStateException("the test never released the start");
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        return b;
      }

      @Override
      public CompletionStage<Result<?>> route(String runId, RunCommand command) {
        return inner.route(runId, command);
      }
    }
  }
}
