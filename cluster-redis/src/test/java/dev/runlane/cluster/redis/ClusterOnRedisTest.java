package dev.runlane.cluster.redis;

import dev.runlane.testredis.RedisServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.Approval;
import dev.runlane.ErrorCode;
import dev.runlane.FailureReason;
import dev.runlane.Result;
import dev.runlane.RunHandle;
import dev.runlane.RunOutcome;
import dev.runlane.RunState;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.TextCodec;
import dev.runlane.testkit.WireMessage;
import dev.runlane.transport.CloseReason;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Three Runlane nodes in one JVM, each with its own {@link RedisEngine} on one redis-server (its
 * own, so it can be stopped), clients on the testkit's in-memory transport spread over the nodes.
 * After each scenario every client's frames are checked against the model: the run's events 1..T
 * exactly, no gap, no duplicate, one terminal.
 */
class ClusterOnRedisTest {
  private RedisServer redis;
  private Fixtures fx;
  private final List<Runlane> nodes = new ArrayList<>();
  private final List<RedisEngine> engines = new ArrayList<>();
  private final List<InMemoryTransport> tx = new ArrayList<>();

  private void cluster(int n) {
    redis = RedisServer.start();
    fx = new Fixtures(redis);
    for (int i = 0; i < n; i++) {
      RedisEngine e = fx.add(fx.builder("n" + i).leaseTtl(Duration.ofSeconds(2)).build());
      engines.add(e);
      Runlane rl =
          Runlane.builder()
              .codec(new TextCodec())
              .engine(e)
              .idleTimeout(Duration.ZERO)
              .heartbeatInterval(Duration.ZERO)
              .sendStallTimeout(Duration.ZERO)
              .build();
      nodes.add(rl);
      tx.add(new InMemoryTransport(rl));
    }
  }

  @AfterEach
  void down() {
    for (Runlane rl : nodes) {
      try {
        rl.close();
      } catch (RuntimeException ignored) {
        // a killed node
      }
    }
    if (fx != null) {
      fx.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  private InMemoryConnection open(int node, String principal) {
    return tx.get(node).open(principal);
  }

  private static List<Long> range(long from, long to) {
    return LongStream.rangeClosed(from, to).boxed().toList();
  }

  static List<Long> seqs(InMemoryConnection c, String runId) {
    List<Long> out = new ArrayList<>();
    for (WireMessage m : c.messages()) {
      if (m.isEventOf(runId)) {
        out.add(m.num("seq"));
      }
    }
    return out;
  }

  static List<WireMessage> terminals(InMemoryConnection c, String runId) {
    return c.messages(m -> m.isEventOf(runId) && m.isTerminal());
  }

  static void await(String what, BooleanSupplier cond) {
    assertTrue(Fixtures.await(cond, Duration.ofSeconds(15)), "timed out waiting for " + what);
  }

  /**
   * Waits until Redis holds {@code runId}'s events up to {@code seq}. The owner hands an event to its
   * own clients before its pipelined append reaches Redis (one round trip later, more when the
   * pipeline is deep or the machine is loaded): a client that resumes on another node with a
   * position the store does not hold yet is told AHEAD_OF_HEAD (typed, never a gap; see
   * docs/concepts/cluster.md). Real reconnects take longer than a round trip; a test that resumes
   * on another node right after publishing waits for the store, as they would.
   */
  private void awaitStored(String runId, long seq) {
    RedisEngine anyNode = engines.get(0);
    await("the store holds " + runId + " up to seq " + seq, () -> anyNode.view(runId).head() >= seq);
  }

  @Test
  void resumeOnAnotherNodeIsExactThenLiveWithNoGapAtTheHandoff() {
    cluster(3);
    RunHandle run = nodes.get(0).startRun(StartRequest.of("s1", "alice")).orElseThrow();
    for (int i = 0; i < 10; i++) {
      run.publish("token", "t" + i);
    }
    awaitStored(run.runId(), 4); // what the client saw on node 0 (see awaitStored)
    InMemoryConnection b = open(1, "alice");
    b.sendText("sub s1 4 " + run.epoch() + " " + run.runId());
    WireMessage ack = b.last("subscribed");
    assertEquals("EXACT", ack.require("status"));
    assertEquals(range(5, ack.num("head")), seqs(b, run.runId()), "lastSeq + 1 .. head from Redis");
    for (int i = 0; i < 5; i++) {
      run.publish("token", "live" + i);
    }
    run.complete("done");
    await("the terminal on node 1", () -> terminals(b, run.runId()).size() == 1);
    assertEquals(range(5, 17), seqs(b, run.runId()), "no gap, no duplicate at the handoff");
    assertEquals("COMPLETED", terminals(b, run.runId()).get(0).require("state"));
    // a deploy keeps history: a node that never held the run serves the finished run exactly
    InMemoryConnection late = open(2, "alice");
    late.sendText("sub s1 10 " + run.epoch() + " " + run.runId());
    assertEquals("FINISHED", late.last("subscribed").require("status"));
    assertEquals(range(11, 17), seqs(late, run.runId()));
  }

  @Test
  void aDeployKeepsHistoryEveryNodeRestartedServesEndedRunsExactly() {
    cluster(2);
    RunHandle run = nodes.get(0).startRun(StartRequest.of("s1", "alice")).orElseThrow();
    for (int i = 0; i < 10; i++) {
      run.publish("token", "t" + i);
    }
    run.complete("done"); // seq 12
    String epoch = run.epoch();
    String runId = run.runId();
    // the deploy: every node is stopped (graceful close), then new processes start on the same Redis
    for (Runlane rl : nodes) {
      rl.close();
    }
    nodes.clear();
    tx.clear();
    RedisEngine fresh = fx.add(fx.builder("n-after-deploy").leaseTtl(Duration.ofSeconds(2)).build());
    Runlane after =
        Runlane.builder()
            .codec(new TextCodec())
            .engine(fresh)
            .idleTimeout(Duration.ZERO)
            .heartbeatInterval(Duration.ZERO)
            .sendStallTimeout(Duration.ZERO)
            .build();
    nodes.add(after);
    InMemoryConnection c = new InMemoryTransport(after).open("alice");
    c.sendText("sub s1 7 " + epoch + " " + runId);
    WireMessage ack = c.last("subscribed");
    assertEquals("FINISHED", ack.require("status"), ack::toString);
    assertEquals(range(8, 12), seqs(c, runId), "exactly what the client missed, from Redis");
    assertEquals(1, terminals(c, runId).size());
    assertEquals("COMPLETED", terminals(c, runId).get(0).require("state"));
    // and the session is free for a new run, on the new node
    assertTrue(after.startRun(StartRequest.of("s1", "alice")).isOk(), "no stale claim survives the deploy");
  }

  /** Seeded: runs on random nodes, clients on random nodes reconnecting to random nodes mid-stream. */
  @Test
  void clientsSpreadOverNodesReconnectingAtRandomGetEveryEventOnce() {
    long seed = System.nanoTime();
    System.out.println("seed = " + seed);
    Random rnd = new Random(seed);
    cluster(3);
    int runs = 4;
    int clientsPerRun = 4;
    for (int r = 0; r < runs; r++) {
      String session = "m" + r;
      RunHandle run = nodes.get(rnd.nextInt(3)).startRun(StartRequest.of(session, "alice")).orElseThrow();
      List<List<InMemoryConnection>> clients = new ArrayList<>();
      for (int c = 0; c < clientsPerRun; c++) {
        InMemoryConnection conn = open(rnd.nextInt(3), "alice");
        conn.sendText("sub " + session + " 0 " + run.epoch() + " " + run.runId());
        clients.add(new ArrayList<>(List.of(conn)));
      }
      int events = 50 + rnd.nextInt(100);
      for (int e = 0; e < events; e++) {
        assertTrue(run.publish("token", "e" + e).isOk());
        if (rnd.nextInt(15) == 0) {
          // a client drops and comes back on a random node with the last seq it saw
          List<InMemoryConnection> history = clients.get(rnd.nextInt(clientsPerRun));
          InMemoryConnection last = history.get(history.size() - 1);
          last.clientClose(CloseReason.NORMAL);
          List<Long> seen = new ArrayList<>();
          for (InMemoryConnection h : history) {
            seen.addAll(seqs(h, run.runId()));
          }
          long lastSeq = seen.isEmpty() ? 0 : seen.get(seen.size() - 1);
          awaitStored(run.runId(), lastSeq); // a reconnect slower than a round trip (see awaitStored)
          InMemoryConnection again = open(rnd.nextInt(3), "alice");
          again.sendText("sub " + session + " " + lastSeq + " " + run.epoch() + " " + run.runId());
          assertEquals("EXACT", again.last("subscribed").require("status"));
          history.add(again);
        }
      }
      run.complete(null);
      long terminal = events + 2;
      for (List<InMemoryConnection> history : clients) {
        InMemoryConnection last = history.get(history.size() - 1);
        await("the terminal on every client", () -> terminals(last, run.runId()).size() == 1);
        List<Long> seen = new ArrayList<>();
        int terminalsSeen = 0;
        for (InMemoryConnection h : history) {
          seen.addAll(seqs(h, run.runId()));
          terminalsSeen += terminals(h, run.runId()).size();
        }
        assertEquals(range(1, terminal), seen, "seed " + seed + ": every event once, in order, across reconnects");
        assertEquals(1, terminalsSeen, "one terminal");
      }
    }
  }

  @Test
  void aFollowerOnAnotherNodeIsAttachedToTheSessionsNextRun() {
    cluster(2);
    InMemoryConnection f = open(1, "alice");
    RunHandle first = nodes.get(0).startRun(StartRequest.of("sw", "alice")).orElseThrow();
    f.sendText("sub sw 0");
    first.complete(null);
    await("the first run's terminal", () -> terminals(f, first.runId()).size() == 1);
    RunHandle next = nodes.get(0).startRun(StartRequest.of("sw", "alice")).orElseThrow();
    next.publish("token", "x");
    next.complete(null);
    await("the next run reaches the follower on the other node", () -> terminals(f, next.runId()).size() == 1);
    assertEquals(range(1, 3), seqs(f, next.runId()));
  }

  @Test
  void abortAndApprovalsAcrossNodesReachTheRuntimeOnce() {
    cluster(3);
    RunHandle run = nodes.get(0).startRun(StartRequest.of("s7", "alice")).orElseThrow();
    List<Approval.Resolution> resolved = new CopyOnWriteArrayList<>();
    Approval ap = run.requestApproval("tool", null, (a, res, d, p) -> resolved.add(res));
    InMemoryConnection b = open(1, "alice");
    b.sendText("sub s7 0");
    assertEquals(ap.approvalId(), b.last("subscribed").require("approvals"), "sticky approval in the ack on another node");
    b.sendText("resolve " + ap.approvalId() + " yes");
    await("the answer reaches the runtime", () -> resolved.size() == 1);
    assertEquals(List.of(Approval.Resolution.ANSWERED), resolved);
    b.sendText("resolve " + ap.approvalId() + " again");
    InMemoryConnection c = open(2, "alice");
    c.sendText("sub s7 0");
    Result<RunOutcome> r = nodes.get(2).abort(run.runId(), "alice");
    assertTrue(r.isOk(), "abort from node 2: " + r);
    assertEquals(RunState.ABORTED, run.state());
    await("the terminal on node 1", () -> terminals(b, run.runId()).size() == 1);
    await("the terminal on node 2", () -> terminals(c, run.runId()).size() == 1);
    assertEquals(1, resolved.size(), "answered once");
    assertFalse(nodes.get(1).abort(run.runId(), "alice").isOk(), "a second abort finds no running run");
    assertEquals(
        ErrorCode.RUN_IN_PROGRESS,
        nodes.get(2).startRun(StartRequest.of("s7b", "alice")).map(h -> {
          return nodes.get(1).startRun(StartRequest.of("s7b", "alice"));
        }).orElseThrow().refusalCode().orElseThrow(),
        "one running run per session across nodes");
  }

  @Test
  void aNodeKilledMidRunEndsItsRunsOnceAsFailedAndNothingBeforeTheDeathIsLost() {
    cluster(3);
    RunHandle run = nodes.get(0).startRun(StartRequest.of("s8", "alice")).orElseThrow();
    for (int i = 0; i < 20; i++) {
      run.publish("token", "t" + i);
    }
    InMemoryConnection b = open(1, "alice");
    b.sendText("sub s8 0");
    awaitStored(run.runId(), 5); // see awaitStored
    InMemoryConnection c = open(2, "alice");
    c.sendText("sub s8 5 " + run.epoch() + " " + run.runId());
    await("node 2 caught up", () -> seqs(c, run.runId()).size() == 16);
    String deadNode = engines.get(0).nodeId();
    engines.get(0).kill(); // threads and Redis connections cut, no shutdown path
    await("the lost node's terminal on node 1", () -> terminals(b, run.runId()).size() == 1);
    await("the lost node's terminal on node 2", () -> terminals(c, run.runId()).size() == 1);
    WireMessage t = terminals(b, run.runId()).get(0);
    assertEquals("FAILED", t.require("state"));
    assertEquals(FailureReason.NODE_LOST.name(), t.require("reason"));
    assertTrue(t.require("message").contains(deadNode), t.require("message"));
    assertEquals(range(1, 22), seqs(b, run.runId()), "nothing published before the death is lost");
    assertEquals(range(6, 22), seqs(c, run.runId()));
    RunHandle next = nodes.get(1).startRun(StartRequest.of("s8", "alice")).orElseThrow();
    next.complete(null);
  }

  @Test
  void redisRestartedEmptyMidStreamIsNeverASilentGap() throws Exception {
    cluster(2);
    RunHandle run = nodes.get(0).startRun(StartRequest.of("s9", "alice")).orElseThrow();
    for (int i = 0; i < 5; i++) {
      run.publish("token", "t" + i);
    }
    InMemoryConnection b = open(1, "alice");
    b.sendText("sub s9 0");
    await("node 1 caught up", () -> seqs(b, run.runId()).size() == 6);
    redis.stop();
    Result<Long> refused = null;
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    for (int i = 0; refused == null && System.nanoTime() < deadline; i++) {
      Result<Long> p = run.publish("token", "down" + i);
      if (!p.isOk()) {
        refused = p;
      } else {
        Thread.sleep(5); // pipelined: a failure surfaces on a later publish
      }
    }
    assertEquals(ErrorCode.ENGINE_UNAVAILABLE, refused.refusalCode().orElseThrow(), "a typed refusal, fast");
    redis.restart(); // empty
    Result<RunHandle> started = null;
    for (int i = 0; i < 200; i++) {
      started = nodes.get(1).startRun(StartRequest.of("s10", "alice"));
      if (started.isOk()) {
        break;
      }
      Thread.sleep(25);
    }
    assertTrue(started.isOk(), "the nodes recover by themselves: " + started);
    RunHandle fresh = started.orElseThrow();
    assertTrue(!fresh.epoch().equals(run.epoch()));
    // the old run's position is meaningless now: a resume on another node says so
    InMemoryConnection late = open(1, "alice");
    late.sendText("sub s9 3 " + run.epoch() + " " + run.runId());
    WireMessage ack = late.last("subscribed");
    WireMessage err = late.last("error");
    assertTrue(ack != null || err != null, "a typed answer: " + late.messages());
    if (ack != null) {
      // whatever this node can still say about the old run, it says it exactly: the replay is the
      // ack's from..to, no silent gap (TRUNCATED announces what is gone; UNKNOWN_RUN / EPOCH_CHANGED
      // say the position is meaningless)
      String status = ack.require("status");
      assertTrue(List.of("UNKNOWN_RUN", "EPOCH_CHANGED", "NO_RUN_YET", "TRUNCATED", "EXACT", "FINISHED").contains(status), status);
      if (ack.get("from") != null && ack.get("to") != null) {
        assertEquals(range(ack.num("from"), ack.num("to")), seqs(late, run.runId()), "the replay is what the ack announced");
      }
    }
    List<Long> got = seqs(b, run.runId());
    assertEquals(range(1, got.size()), got, "what node 1's client got has no gap and no duplicate");
    fresh.complete(null);
  }
}
