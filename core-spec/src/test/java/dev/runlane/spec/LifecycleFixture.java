package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.runlane.InvariantCheck;
import dev.runlane.RunlaneBuilder;
import dev.runlane.RunHandle;
import dev.runlane.RunOutcome;
import dev.runlane.RunRuntime;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.Result;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.TextCodec;
import dev.runlane.testkit.WireMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Shared set-up for the lifecycle specs (issue 4): a Runlane on a manual clock with the text codec,
 * a runtime whose cancel hook is counted per run, and a listener that records every outcome.
 * Heartbeats and the idle timeout are off so that advancing the clock only fires what a test asks
 * for (run deadlines, approval expiries).
 */
final class LifecycleFixture implements AutoCloseable {
  final ManualTimeSource time = new ManualTimeSource();
  /** Cancel-hook calls per run id. */
  final Map<String, AtomicInteger> cancels = new ConcurrentHashMap<>();
  /** Every RunListener call, in call order. */
  final List<RunOutcome> ended = Collections.synchronizedList(new ArrayList<>());
  /** Extra behaviour for the cancel hook (runs after counting); may be replaced by a test. */
  volatile Consumer<RunHandle> onCancel = r -> {};
  /** What the runtime does when a client (or startAndRun) starts a run; may be replaced. */
  volatile RuntimeBody body = (run, input) -> run.complete(null);

  final Runlane rl;
  final InMemoryTransport tx;

  /** The runtime's run body, replaceable per test. */
  @FunctionalInterface
  interface RuntimeBody {
    void run(RunHandle run, @Nullable Object input) throws Exception;
  }

  final RunRuntime runtime =
      new RunRuntime() {
        @Override
        public void run(RunHandle run, @Nullable Object input) throws Exception {
          body.run(run, input);
        }

        @Override
        public void cancel(RunHandle run) {
          cancels.computeIfAbsent(run.runId(), k -> new AtomicInteger()).incrementAndGet();
          onCancel.accept(run);
        }
      };

  LifecycleFixture() {
    this(b -> {});
  }

  LifecycleFixture(Consumer<RunlaneBuilder> customize) {
    RunlaneBuilder b =
        SpecEngine.builder()
            .codec(new TextCodec())
            .timeSource(time)
            .idleTimeout(Duration.ZERO)
            .heartbeatInterval(Duration.ZERO)
            .runtime(runtime)
            .runtimeExecutor(Runnable::run)
            .runListener(ended::add);
    customize.accept(b);
    rl = InvariantCheck.track(b.build());
    tx = new InMemoryTransport(rl);
  }

  @Override
  public void close() {
    rl.close();
  }

  InMemoryConnection open(String principal) {
    return tx.open(principal);
  }

  RunHandle start(String session, String principal, @Nullable InMemoryConnection from) {
    StartRequest req = StartRequest.of(session, principal);
    if (from != null) {
      req = req.fromConnection(from.id());
    }
    Result<RunHandle> r = rl.startRun(req);
    return r.orElseThrow();
  }

  int cancelCalls(RunHandle run) {
    AtomicInteger n = cancels.get(run.runId());
    return n == null ? 0 : n.get();
  }

  /** The listener calls for one run. */
  List<RunOutcome> endedOf(RunHandle run) {
    List<RunOutcome> out = new ArrayList<>();
    synchronized (ended) {
      for (RunOutcome o : ended) {
        if (o.runId().equals(run.runId())) {
          out.add(o);
        }
      }
    }
    return out;
  }

  // ------------------------------------------------------------ reading what a connection got

  /** The run events of {@code runId} that {@code c} received, in order. */
  static List<WireMessage> events(InMemoryConnection c, String runId) {
    return c.messages(m -> m.isEventOf(runId));
  }

  static boolean isTerminal(WireMessage m) {
    String k = m.get("kind");
    return m.isEvent()
        && ("run.completed".equals(k) || "run.aborted".equals(k) || "run.failed".equals(k));
  }

  /** The terminal events of {@code runId} that {@code c} received. */
  static List<WireMessage> terminals(InMemoryConnection c, String runId) {
    return c.messages(m -> m.isEventOf(runId) && isTerminal(m));
  }

  /**
   * Asserts that {@code c} received exactly one terminal event of the run, that it is the run's
   * last event on {@code c}, and that its kind is {@code kind}; returns it.
   */
  static WireMessage assertOneTerminal(InMemoryConnection c, String runId, String kind) {
    List<WireMessage> ev = events(c, runId);
    List<WireMessage> t = terminals(c, runId);
    assertEquals(1, t.size(), c.id() + " terminal events of " + runId + ": " + ev);
    assertEquals(t.get(0), ev.get(ev.size() - 1), c.id() + " got an event after the terminal: " + ev);
    assertEquals(kind, t.get(0).get("kind"), c.id() + ": " + ev);
    return t.get(0);
  }

  /** A RuntimeException without a stack trace: scripted failures should not flood the log. */
  static final class Scripted extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Scripted(String message) {
      super(message, null, false, false);
    }
  }
}
