package dev.runlane.cluster.redis;

import dev.runlane.testredis.RedisServer;

import dev.runlane.RunOutcome;
import dev.runlane.RunState;
import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.FrameMeta;
import dev.runlane.engine.RunRecord;
import dev.runlane.transport.Frame;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.BooleanSupplier;

/** Engines on a test Redis, each set under its own key prefix, and frames to write. */
final class Fixtures implements AutoCloseable {
  final RedisServer redis;
  final String prefix = "t" + UUID.randomUUID().toString().substring(0, 8);
  private final List<RedisEngine> engines = new ArrayList<>();

  Fixtures(RedisServer redis) {
    this.redis = redis;
  }

  static Fixtures shared() {
    return new Fixtures(RedisServer.shared());
  }

  RedisEngineBuilder builder(String nodeId) {
    return RedisEngine.builder()
        .redis(redis.uri())
        .keyPrefix(prefix)
        .nodeId(nodeId)
        .commandTimeout(Duration.ofSeconds(2))
        .routeTimeout(Duration.ofSeconds(2))
        .leaseTtl(Duration.ofSeconds(2))
        .feedBlock(Duration.ofMillis(100));
  }

  RedisEngine engine(String nodeId) {
    return add(builder(nodeId).build());
  }

  RedisEngine add(RedisEngine e) {
    engines.add(e);
    return e;
  }

  static RunRecord record(RedisEngine e, String sessionId, String runId) {
    return new RunRecord(runId, sessionId, e.newEpoch(), e.nodeId(), "alice", "alice", 60_000, null);
  }

  static EncodedFrame event(long seq) {
    return new EncodedFrame(Frame.stream("{\"seq\":" + seq + ",\"t\":\"event " + seq + "\"}"), null, FrameMeta.event(seq));
  }

  static EncodedFrame event(long seq, int size) {
    String body = "x".repeat(Math.max(0, size));
    return new EncodedFrame(Frame.stream("{\"seq\":" + seq + ",\"b\":\"" + body + "\"}"), null, FrameMeta.event(seq));
  }

  static RunOutcome outcome(RunRecord r, long terminalSeq, RunState state) {
    return new RunOutcome(r.runId(), r.sessionId(), r.epoch(), r.owner(), state, null, 0, "done", null, terminalSeq, null);
  }

  static EncodedFrame terminal(RunOutcome o) {
    return new EncodedFrame(
        Frame.stream("{\"seq\":" + o.terminalSeq() + ",\"t\":\"end\"}"), null, FrameMeta.terminal(o.terminalSeq(), o));
  }

  static String text(EncodedFrame f) {
    return ((dev.runlane.transport.Payload.Text) f.frame().payload()).text();
  }

  /** Waits, bounded, for {@code condition}; false if it never held. */
  static boolean await(BooleanSupplier condition, Duration max) {
    long deadline = System.nanoTime() + max.toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return true;
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return condition.getAsBoolean();
  }

  @Override
  public void close() {
    for (RedisEngine e : engines) {
      try {
        e.close();
      } catch (RuntimeException ignored) {
        // already killed
      }
    }
  }
}
