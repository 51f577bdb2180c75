package dev.runlane.cluster.redis;

import static dev.runlane.testkit.RunlaneAssertions.assertSeqRange;
import static dev.runlane.testkit.RunlaneAssertions.assertSeqs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.runlane.ErrorCode;
import dev.runlane.Result;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.TextCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A Runlane on the Redis engine behaves like one on the in-memory engine, and two of them share one session claim. */
class RunlaneOnRedisTest {
  private Fixtures fx;
  private final List<Runlane> runlanes = new ArrayList<>();
  private final ManualTimeSource time = new ManualTimeSource();

  @BeforeEach
  void up() {
    fx = Fixtures.shared();
  }

  @AfterEach
  void down() {
    runlanes.forEach(Runlane::close);
    fx.close();
  }

  private Runlane node(String id, int replayCapacity) {
    Runlane rl =
        Runlane.builder()
            .codec(new TextCodec())
            .timeSource(time)
            .idleTimeout(Duration.ZERO)
            .heartbeatInterval(Duration.ZERO)
            .replayCapacity(replayCapacity)
            .engine(fx.engine(id))
            .build();
    runlanes.add(rl);
    return rl;
  }

  private static RunHandle start(Runlane rl, String session, InMemoryConnection c) {
    return rl.startRun(StartRequest.of(session, "alice").fromConnection(c.id())).orElseThrow();
  }

  @Test
  void isolationOrderAndOneEnd() {
    Runlane rl = node("a", 1000);
    InMemoryTransport tx = new InMemoryTransport(rl);
    InMemoryConnection a = tx.open("alice");
    InMemoryConnection b = tx.open("alice");
    RunHandle ra = start(rl, "sa", a);
    RunHandle rb = start(rl, "sb", b);
    ra.publish("delta", "x");
    rb.publish("delta", "y");
    ra.complete(null);
    assertSeqs(a, ra.runId(), 1, 2, 3);
    assertSeqs(b, rb.runId(), 1, 2);
    assertFalse(ra.complete(null).isOk());
    assertEquals(ErrorCode.RUN_ENDED, ra.publish("delta", "z").refusalCode().orElseThrow());
  }

  @Test
  void resumeExactAndTruncatedFromRedis() {
    Runlane rl = node("a", 4);
    InMemoryTransport tx = new InMemoryTransport(rl);
    InMemoryConnection a = tx.open("alice");
    RunHandle r = start(rl, "s", a);
    for (int i = 0; i < 5; i++) {
      r.publish("delta", i);
    }
    InMemoryConnection a2 = tx.open("alice");
    a2.sendText("sub s 2 " + r.epoch());
    assertEquals("EXACT", a2.last("subscribed").get("status"));
    assertSeqRange(a2, r.runId(), 3, 6);
    InMemoryConnection a3 = tx.open("alice");
    a3.sendText("sub s 1 " + r.epoch());
    assertEquals("TRUNCATED", a3.last("subscribed").get("status"));
    assertSeqRange(a3, r.runId(), 3, 6);
    r.publish("delta", "live");
    assertSeqRange(a3, r.runId(), 3, 7);
    assertSeqRange(a2, r.runId(), 3, 7);
  }

  @Test
  void twoNodesShareTheSessionClaim() {
    Runlane n1 = node("n1", 100);
    Runlane n2 = node("n2", 100);
    InMemoryConnection c1 = new InMemoryTransport(n1).open("alice");
    InMemoryConnection c2 = new InMemoryTransport(n2).open("alice");
    RunHandle r = start(n1, "shared", c1);
    Result<RunHandle> second = n2.startRun(StartRequest.of("shared", "alice").fromConnection(c2.id()));
    assertEquals(ErrorCode.RUN_IN_PROGRESS, second.refusalCode().orElseThrow());
    r.complete(null);
    RunHandle again = start(n2, "shared", c2);
    again.complete(null);
  }
}
