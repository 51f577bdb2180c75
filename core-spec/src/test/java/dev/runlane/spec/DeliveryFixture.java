package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.InvariantCheck;
import dev.runlane.RunlaneBuilder;
import dev.runlane.ConnectionStats;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.Result;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.RunlaneAssertions;
import dev.runlane.testkit.TextCodec;
import dev.runlane.testkit.WireMessage;
import dev.runlane.transport.CloseReason;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Shared set-up of the delivery tests: a Runlane on a {@link ManualTimeSource} with the {@link
 * TextCodec}, an in-memory transport and a recording metrics listener. Heartbeats and the idle
 * timeout are off unless a test turns them on, so advancing time does only what the test asks.
 */
final class DeliveryFixture implements AutoCloseable {
  final ManualTimeSource time = new ManualTimeSource();
  final RecordingMetrics metrics = new RecordingMetrics();
  final Runlane rl;
  final InMemoryTransport tx;

  DeliveryFixture(Consumer<RunlaneBuilder> config) {
    RunlaneBuilder b =
        SpecEngine.builder()
            .codec(new TextCodec())
            .timeSource(time)
            .metrics(metrics)
            .heartbeatInterval(Duration.ZERO)
            .idleTimeout(Duration.ZERO);
    config.accept(b);
    rl = InvariantCheck.track(b.build());
    tx = new InMemoryTransport(rl);
  }

  DeliveryFixture() {
    this(b -> {});
  }

  /** Starts a run in {@code session} from {@code c}, which becomes a recipient. */
  RunHandle start(String session, InMemoryConnection c) {
    Result<RunHandle> r = rl.startRun(StartRequest.of(session, c.principal()).fromConnection(c.id()));
    assertTrue(r.isOk(), "start refused: " + r);
    return r.orElseThrow();
  }

  /** Opens a connection for {@code principal} and subscribes it to {@code session} from seq 0. */
  InMemoryConnection subscriber(String principal, String session) {
    InMemoryConnection c = tx.open(principal);
    c.sendText("sub " + session + " 0");
    WireMessage ack = c.last("subscribed");
    assertNotNull(ack, "no ack for " + c.id());
    return c;
  }

  /** Publishes {@code n} deltas numbered from {@code from}; every one must be recorded. */
  static void publish(RunHandle run, int from, int n) {
    for (int i = from; i < from + n; i++) {
      assertTrue(run.publish("delta", "d" + i).isOk(), "publish " + i);
    }
  }

  /** The seqs of {@code run} that {@code c} received, in order. */
  static List<Long> seqs(InMemoryConnection c, RunHandle run) {
    return RunlaneAssertions.seqsOf(c, run.runId());
  }

  /** The last seq of {@code run} that {@code c} received, or 0. */
  static long lastSeq(InMemoryConnection c, RunHandle run) {
    List<Long> s = seqs(c, run);
    return s.isEmpty() ? 0 : s.get(s.size() - 1);
  }

  /** Asserts {@code c} received exactly {@code 1..k} of {@code run} for some k (a prefix, no gap). */
  static long assertPrefix(InMemoryConnection c, RunHandle run) {
    List<Long> s = seqs(c, run);
    for (int i = 0; i < s.size(); i++) {
      assertEquals(i + 1L, s.get(i), c.id() + " got a gap or duplicate: " + s);
    }
    return s.size();
  }

  /** The message types {@code c} received, in order. */
  static List<String> types(InMemoryConnection c) {
    List<String> out = new ArrayList<>();
    for (WireMessage m : c.messages()) {
      out.add(m.type());
    }
    return out;
  }

  /**
   * Opens a fresh connection for {@code old}'s principal and resumes {@code run} from the last seq
   * {@code old} received, as a client does after a resumable close.
   */
  InMemoryConnection resume(InMemoryConnection old, RunHandle run) {
    assertTrue(
        old.closeReason() == null || old.closeReason().resumable(),
        "close " + old.closeReason() + " is not resumable");
    InMemoryConnection c = tx.open(old.principal());
    c.sendText(
        "sub " + run.sessionId() + " " + lastSeq(old, run) + " " + run.epoch() + " " + run.runId());
    return c;
  }

  /** Asserts the seqs {@code before} and {@code after} together are exactly 1..head, in order. */
  static void assertStitched(InMemoryConnection before, InMemoryConnection after, RunHandle run) {
    List<Long> all = new ArrayList<>(seqs(before, run));
    all.addAll(seqs(after, run));
    long head = run.headSeq();
    List<Long> want = new ArrayList<>();
    for (long s = 1; s <= head; s++) {
      want.add(s);
    }
    assertEquals(want, all, "resume lost or repeated frames");
  }

  @Override
  public void close() {
    rl.close();
  }

  /** A metrics listener that records what it is told. */
  static final class RecordingMetrics implements dev.runlane.RunlaneMetrics {
    final Map<String, List<CloseReason>> closes = new ConcurrentHashMap<>();
    final List<ConnectionStats> samples = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void connectionClosed(String connectionId, CloseReason reason) {
      closes.computeIfAbsent(connectionId, k -> Collections.synchronizedList(new ArrayList<>())).add(reason);
    }

    @Override
    public void connectionSample(ConnectionStats stats) {
      samples.add(stats);
    }

    List<CloseReason> closesOf(String connectionId) {
      return closes.getOrDefault(connectionId, List.of());
    }

    List<ConnectionStats> samplesOf(String connectionId) {
      List<ConnectionStats> out = new ArrayList<>();
      synchronized (samples) {
        for (ConnectionStats s : samples) {
          if (s.connectionId().equals(connectionId)) {
            out.add(s);
          }
        }
      }
      return out;
    }
  }
}
