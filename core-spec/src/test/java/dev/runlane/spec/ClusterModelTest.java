package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.ErrorCode;
import dev.runlane.InvariantCheck;
import dev.runlane.Result;
import dev.runlane.RunHandle;
import dev.runlane.RunOutcome;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.WireMessage;
import dev.runlane.transport.CloseReason;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Seeded random walks over three nodes sharing one store: runs started on random nodes, published
 * and ended by their owners or aborted from anywhere, clients subscribing by run or by session on
 * random nodes with random {@code lastSeq}, reconnecting to random nodes, starts racing across
 * nodes, and (in some walks) a node killed mid-run. After each settle every client connection's
 * frames are checked against the model: the seqs it received of each run are contiguous from
 * where its ack said, each with the data published at that seq, with exactly one terminal (the
 * last frame) once the run ended, whatever node the client and the runtime were on.
 *
 * <p>Rerun one walk with {@code -Drunlane.seed=SEED}.
 */
class ClusterModelTest {
  private static final int NODES = 3;
  private static final String[] SESSIONS = {"s0", "s1", "s2", "s3"};

  /** A run as the model knows it. */
  private static final class MRun {
    final RunHandle handle;
    final int node;
    final Map<Long, String> data = new HashMap<>();
    long head = 1;
    boolean ended;
    long terminalSeq;

    MRun(RunHandle handle, int node) {
      this.handle = handle;
      this.node = node;
      data.put(1L, null); // run.started carries no input here
    }
  }

  /** A client connection subscribed to one run: where its ack said the stream starts. */
  private record Sub(InMemoryConnection c, int node, MRun run, long from, boolean processing) {}

  @Test
  void randomWalksAcrossNodesAgreeWithTheModel() {
    long base = Long.getLong("runlane.seed", System.nanoTime());
    int walks = Integer.getInteger("runlane.cluster.walks", 6);
    for (int w = 0; w < walks; w++) {
      long seed = base + w;
      System.out.println("ClusterModelTest seed=" + seed + " (-Drunlane.seed=" + seed + ")");
      try {
        walk(seed, 250, w % 2 == 1);
      } catch (AssertionError | RuntimeException e) {
        throw new AssertionError("walk with seed " + seed + " failed: " + e.getMessage(), e);
      }
    }
  }

  private void walk(long seed, int steps, boolean killOne) {
    Random rnd = new Random(seed);
    // a lease long enough that a loaded machine does not take a live node for lost
    try (ClusterFixture fx = new ClusterFixture(NODES, java.time.Duration.ofSeconds(2), b -> {})) {
      List<MRun> runs = new ArrayList<>();
      Map<String, MRun> running = new HashMap<>();
      List<Sub> subs = new ArrayList<>();
      boolean[] dead = new boolean[NODES];
      int killAt = killOne ? steps / 3 + rnd.nextInt(steps / 3) : -1;
      for (int step = 0; step < steps; step++) {
        if (step == killAt) {
          int victim = rnd.nextInt(NODES);
          fx.cluster.kill("n" + victim);
          dead[victim] = true;
          for (MRun r : runs) {
            if (r.node == victim && !r.ended) {
              r.ended = true; // a survivor ends it: NODE_LOST, right after its last published seq
              r.terminalSeq = r.head + 1;
              r.data.put(r.terminalSeq, null);
              running.remove(r.handle.sessionId());
            }
          }
          subs.removeIf(s -> s.node == victim);
          waitForLostRuns(fx, runs, victim);
          continue;
        }
        int node = liveNode(rnd, dead);
        int op = rnd.nextInt(100);
        if (op < 15) {
          String session = SESSIONS[rnd.nextInt(SESSIONS.length)];
          Result<RunHandle> r = fx.node(node).startRun(StartRequest.of(session, "alice"));
          if (r instanceof Result.Ok<RunHandle> ok) {
            assertTrue(!running.containsKey(session), "a second running run in " + session);
            MRun m = new MRun(ok.value(), node);
            runs.add(m);
            running.put(session, m);
          } else {
            assertEquals(ErrorCode.RUN_IN_PROGRESS, ((Result.Refused<RunHandle>) r).code(), r.toString());
            assertTrue(running.containsKey(session), "refused a start in " + session + " with no running run");
          }
        } else if (op < 55) {
          MRun m = pickRunning(rnd, runs, dead);
          if (m != null) {
            String d = "e" + step;
            long seq = m.handle.publish("tok", d).orElseThrow();
            assertEquals(m.head + 1, seq);
            m.head = seq;
            m.data.put(seq, d);
          }
        } else if (op < 63) {
          MRun m = pickRunning(rnd, runs, dead);
          if (m != null) {
            Result<RunOutcome> o =
                rnd.nextBoolean()
                    ? m.handle.complete("r" + step)
                    : fx.node(node).abort(m.handle.runId(), "alice"); // from any node
            assertTrue(o.isOk(), "ending " + m.handle.runId() + ": " + o);
            m.ended = true;
            m.terminalSeq = m.head + 1;
            m.data.put(m.terminalSeq, null);
            running.remove(m.handle.sessionId());
          }
        } else if (op < 80) {
          if (runs.isEmpty()) {
            continue;
          }
          MRun m = runs.get(rnd.nextInt(runs.size()));
          long known = m.ended ? m.terminalSeq : m.head;
          long last = rnd.nextInt((int) known + 1);
          InMemoryConnection c = fx.open(node, "alice");
          c.sendText("sub " + m.handle.sessionId() + " " + last + " " + m.handle.epoch() + " " + m.handle.runId());
          subs.add(checkAck(c, node, m, last));
        } else if (op < 88) {
          String session = SESSIONS[rnd.nextInt(SESSIONS.length)];
          MRun cur = latest(runs, session);
          InMemoryConnection c = fx.open(node, "alice");
          c.sendText("sub " + session + " 0");
          WireMessage ack = c.last("subscribed");
          if (cur == null) {
            assertEquals("NO_RUN_YET", ack.require("status"));
            c.clientClose(CloseReason.NORMAL);
          } else {
            assertEquals(cur.handle.runId(), ack.require("run"), "the session's latest run on node " + node);
            subs.add(checkAck(c, node, cur, 0));
          }
        } else if (op < 96) {
          if (subs.isEmpty()) {
            continue;
          }
          // reconnect: close, then resume on a random node from what it had contiguously
          Sub s = subs.remove(rnd.nextInt(subs.size()));
          List<Long> got = ClusterFixture.seqs(s.c(), s.run().handle.runId());
          s.c().clientClose(CloseReason.NORMAL);
          long had = got.isEmpty() ? s.from() - 1 : got.get(got.size() - 1);
          long last = Math.max(0, had - rnd.nextInt(3));
          InMemoryConnection c = fx.open(node, "alice");
          MRun m = s.run();
          c.sendText("sub " + m.handle.sessionId() + " " + last + " " + m.handle.epoch() + " " + m.handle.runId());
          subs.add(checkAck(c, node, m, last));
        } else {
          fx.settle();
          checkAll(subs, false);
        }
      }
      for (MRun m : runs) {
        if (!m.ended && !dead[m.node]) {
          m.handle.complete("final");
          m.ended = true;
          m.terminalSeq = m.head + 1;
          m.data.put(m.terminalSeq, null);
        }
      }
      fx.settle();
      checkAll(subs, true);
      for (int i = 0; i < NODES; i++) {
        if (dead[i]) {
          InvariantCheck.untrack(fx.node(i));
        } else {
          InvariantCheck.checkNow(fx.node(i));
        }
      }
      for (Sub s : subs) {
        s.c().clientClose(CloseReason.NORMAL);
      }
      fx.settle();
      assertEquals(0, fx.cluster.openTails(), "tails left open after every client left");
      for (int i = 0; i < NODES; i++) {
        if (!dead[i]) {
          InvariantCheck.checkNow(fx.node(i));
        }
      }
    }
  }

  private static void waitForLostRuns(ClusterFixture fx, List<MRun> runs, int victim) {
    for (MRun r : runs) {
      if (r.node == victim) {
        for (int i = 0; i < NODES; i++) {
          if (i != victim) {
            Runlane other = fx.node(i);
            ClusterFixture.await("the lost run's end in the directory", () -> {
              InMemoryConnection probe = fx.open(other == fx.node(0) ? 0 : other == fx.node(1) ? 1 : 2, "alice");
              probe.sendText("sub " + r.handle.sessionId() + " 0 " + r.handle.epoch() + " " + r.handle.runId());
              WireMessage ack = probe.last("subscribed");
              probe.clientClose(CloseReason.NORMAL);
              return ack != null && "FINISHED".equals(ack.get("status"));
            });
            break;
          }
        }
      }
    }
    fx.settle();
  }

  private static int liveNode(Random rnd, boolean[] dead) {
    for (; ; ) {
      int n = rnd.nextInt(NODES);
      if (!dead[n]) {
        return n;
      }
    }
  }

  private static MRun pickRunning(Random rnd, List<MRun> runs, boolean[] dead) {
    List<MRun> live = new ArrayList<>();
    for (MRun r : runs) {
      if (!r.ended && !dead[r.node]) {
        live.add(r);
      }
    }
    return live.isEmpty() ? null : live.get(rnd.nextInt(live.size()));
  }

  private static MRun latest(List<MRun> runs, String session) {
    MRun out = null;
    for (MRun r : runs) {
      if (r.handle.sessionId().equals(session)) {
        out = r;
      }
    }
    return out;
  }

  /** The ack on any node: EXACT (running) or FINISHED, its head what the owner has published or more, its replay from lastSeq + 1. */
  private static Sub checkAck(InMemoryConnection c, int node, MRun m, long last) {
    WireMessage ack = c.last("subscribed");
    assertTrue(ack != null, "no ack on node " + node + " for " + m.handle.runId() + ": " + c.messages());
    String status = ack.require("status");
    long head = ack.num("head");
    if (m.ended && (node == m.node || "FINISHED".equals(status))) {
      assertEquals("FINISHED", status, "an ended run on node " + node);
      assertEquals(m.terminalSeq, head, "an ended run's head is its terminal");
    } else if (m.ended) {
      // another node's mirror whose tail has not delivered the terminal yet: it comes live
      assertEquals("EXACT", status, "a run ending elsewhere on node " + node);
      assertTrue(head >= last && head < m.terminalSeq, "head " + head + " for lastSeq " + last);
    } else {
      assertEquals("EXACT", status, "a running run on node " + node);
      // a mirror's head may lag the owner's (the rest comes live), never the client's position
      assertTrue(head >= last && head <= m.head, "head " + head + " for lastSeq " + last + ", owner at " + m.head);
    }
    assertEquals(last + 1, ack.num("from"), "replay starts right after lastSeq");
    return new Sub(c, node, m, last + 1, "EXACT".equals(status));
  }

  private static void checkAll(List<Sub> subs, boolean allEnded) {
    for (Sub s : subs) {
      MRun m = s.run();
      String runId = m.handle.runId();
      List<WireMessage> events = s.c().messages(w -> w.isEventOf(runId));
      long expect = s.from();
      int terminals = 0;
      for (WireMessage e : events) {
        long seq = e.num("seq");
        assertEquals(expect, seq, "connection on node " + s.node() + " of run " + runId + ": gap or duplicate in " + seqsOf(events));
        if (e.isTerminal()) {
          terminals++;
          assertEquals(m.terminalSeq, seq, "the terminal's seq (" + e + ")");
        } else {
          assertEquals(m.data.get(seq), e.get("data"), "the data of seq " + seq + " of " + runId);
        }
        expect++;
      }
      assertTrue(terminals <= 1, "more than one terminal of " + runId);
      if ((allEnded || m.ended) && s.from() <= m.terminalSeq) {
        assertEquals(1, terminals, "connection on node " + s.node() + " of ended run " + runId + " got " + seqsOf(events));
      }
    }
  }

  private static List<Long> seqsOf(List<WireMessage> events) {
    List<Long> out = new ArrayList<>();
    for (WireMessage e : events) {
      out.add(e.num("seq"));
    }
    return out;
  }
}
