package dev.runlane.cluster.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.RunOutcome;
import dev.runlane.RunState;
import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.FrameMeta;
import dev.runlane.engine.RunFeed;
import dev.runlane.engine.RunFencedException;
import dev.runlane.engine.RunLog;
import dev.runlane.engine.RunLogView;
import dev.runlane.engine.RunRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The four guarantees of docs/design/engine.md, against real Redis, with several engine instances
 * (nodes) on one Redis: (1) append/read ordering, (2) a tail hands frames in seq order, once, from
 * the given seq, and ends after the terminal, (3) claim and end are linearizable across nodes, (4)
 * epochs are never reused.
 */
class RedisEngineConformanceTest {
  private Fixtures fx;

  @BeforeEach
  void up() {
    fx = Fixtures.shared();
  }

  @AfterEach
  void down() {
    fx.close();
  }

  private static long seed() {
    long seed = System.nanoTime();
    System.out.println("seed = " + seed);
    return seed;
  }

  /** G1: the owner reads every append, in order; another node's view reads the same; bounds hold. */
  @Test
  void g1_appendThenReadIsExactAndBounded() {
    Random rnd = new Random(seed());
    RedisEngine a = fx.engine("a");
    RedisEngine b = fx.engine("b");
    RunRecord r = Fixtures.record(a, "s1", "r1");
    assertEquals(Optional.empty(), a.directory().claim(r));
    int capacity = 50;
    RunLog log = a.newLog("r1", capacity, 0);
    List<String> written = new ArrayList<>();
    int n = 200 + rnd.nextInt(100);
    for (long seq = 1; seq <= n; seq++) {
      EncodedFrame f = Fixtures.event(seq, rnd.nextInt(40));
      log.append(seq, f);
      written.add(Fixtures.text(f));
      if (rnd.nextInt(10) == 0) {
        long from = Math.max(1, seq - rnd.nextInt(capacity + 10));
        List<String> got = new ArrayList<>();
        log.read(from, seq, f2 -> got.add(Fixtures.text(f2)));
        long start = Math.max(from, seq - capacity + 1);
        assertEquals(written.subList((int) start - 1, (int) seq), got, "owner read " + from + ".." + seq);
      }
    }
    assertEquals(n, log.head());
    assertEquals(n - capacity + 1, log.oldest());
    RunLogView view = b.view("r1");
    final int total = n;
    // another node sees the owner's pipelined appends once they land
    assertTrue(Fixtures.await(() -> view.head() == total, Duration.ofSeconds(2)), "the appends land");
    assertEquals(n - capacity + 1, view.oldest());
    List<EncodedFrame> got = new ArrayList<>();
    view.read(1, n, got::add);
    assertEquals(capacity, got.size());
    for (int i = 0; i < got.size(); i++) {
      long seq = n - capacity + 1 + i;
      assertEquals(written.get((int) seq - 1), Fixtures.text(got.get(i)));
      assertEquals(FrameMeta.event(seq), got.get(i).meta(), "meta survives the store");
    }
  }

  @Test
  void g1_byteBudgetTrimsOldestButKeepsTheNewest() {
    RedisEngine a = fx.engine("a");
    RunRecord r = Fixtures.record(a, "s1", "r1");
    a.directory().claim(r);
    RunLog log = a.newLog("r1", 1000, 1000);
    for (long seq = 1; seq <= 30; seq++) {
      log.append(seq, Fixtures.event(seq, 100)); // ~120 bytes each: about 8 fit
    }
    long oldest = log.oldest();
    assertTrue(oldest > 20 && oldest < 30, "oldest " + oldest);
    RunLogView view = fx.engine("b").view("r1");
    assertTrue(Fixtures.await(() -> view.head() == 30, Duration.ofSeconds(2)), "the appends land");
    assertEquals(oldest, view.oldest());
    List<EncodedFrame> got = new ArrayList<>();
    view.read(1, 30, got::add);
    assertEquals(30 - oldest + 1, got.size());
    log.append(31, Fixtures.event(31, 5000)); // over the budget alone: still kept
    assertEquals(31, log.oldest());
    List<EncodedFrame> last = new ArrayList<>();
    log.read(1, 31, last::add);
    assertEquals(1, last.size());
  }

  /** G2: a tail on another node hands seq afterSeq+1.. in order, once, signals in between, and ends after the terminal. */
  @Test
  void g2_tailIsOrderedOnceAndEndsAfterTerminal() throws Exception {
    Random rnd = new Random(seed());
    RedisEngine a = fx.engine("a");
    RedisEngine b = fx.engine("b");
    RunFeed feed = b.feed().orElseThrow();
    for (int run = 0; run < 5; run++) {
      String runId = "r" + run;
      RunRecord r = Fixtures.record(a, "s" + run, runId);
      a.directory().claim(r);
      RunLog log = a.newLog(runId, 10_000, 0);
      int before = rnd.nextInt(50);
      for (long seq = 1; seq <= before; seq++) {
        log.append(seq, Fixtures.event(seq));
      }
      long after = before == 0 ? 0 : rnd.nextInt(before + 1);
      ConcurrentLinkedQueue<EncodedFrame> got = new ConcurrentLinkedQueue<>();
      AtomicInteger lost = new AtomicInteger();
      RunFeed.Tail tail =
          feed.tail(
              runId,
              after,
              new RunFeed.Sink() {
                @Override
                public void frame(EncodedFrame frame) {
                  got.add(frame);
                }

                @Override
                public void lost() {
                  lost.incrementAndGet();
                }
              });
      int more = 1 + rnd.nextInt(200);
      long seq = before;
      for (int i = 0; i < more; i++) {
        seq++;
        log.append(seq, Fixtures.event(seq));
        if (rnd.nextInt(20) == 0) {
          log.signal(new EncodedFrame(dev.runlane.transport.Frame.control("{\"status\":" + seq + "}"), "st", FrameMeta.status()));
        }
      }
      RunOutcome o = Fixtures.outcome(r, seq + 1, RunState.COMPLETED);
      assertTrue(a.directory().end(o, null));
      log.append(seq + 1, Fixtures.terminal(o));
      long terminalSeq = seq + 1;
      assertTrue(Fixtures.await(() -> got.stream().anyMatch(f -> f.meta() != null && f.meta().type() == FrameMeta.Type.TERMINAL), Duration.ofSeconds(5)), "terminal reached the tail");
      assertThrows(RunFencedException.class, () -> log.append(terminalSeq + 1, Fixtures.event(terminalSeq + 1)));
      Thread.sleep(50);
      long expect = after + 1;
      for (EncodedFrame f : got) {
        FrameMeta m = f.meta();
        if (m.type() == FrameMeta.Type.STATUS) {
          continue;
        }
        assertEquals(expect, m.seq(), "seq order, once");
        expect++;
      }
      assertEquals(terminalSeq + 1, expect, "every frame up to the terminal, nothing after");
      assertEquals(0, lost.get());
      tail.close();
    }
    assertTrue(Fixtures.await(() -> b.streamFeed().tailedStreams() == 0, Duration.ofSeconds(2)), "ended tails are dropped");
  }

  /** G3: concurrent claims of one session on several nodes yield one winner; concurrent ends of one run yield one. */
  @Test
  void g3_claimAndEndAreLinearizableAcrossNodes() throws Exception {
    List<RedisEngine> nodes = List.of(fx.engine("a"), fx.engine("b"), fx.engine("c"));
    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      for (int round = 0; round < 20; round++) {
        String session = "s" + round;
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Optional<String>>> claims = new ArrayList<>();
        List<String> runIds = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
          RedisEngine e = nodes.get(i % 3);
          String runId = "r" + round + "-" + i;
          runIds.add(runId);
          RunRecord rec = Fixtures.record(e, session, runId);
          claims.add(pool.submit(() -> {
            go.await();
            return e.directory().claim(rec);
          }));
        }
        go.countDown();
        String winner = null;
        int wins = 0;
        Set<String> holders = new HashSet<>();
        for (int i = 0; i < claims.size(); i++) {
          Optional<String> got = claims.get(i).get(5, TimeUnit.SECONDS);
          if (got.isEmpty()) {
            wins++;
            winner = runIds.get(i);
          } else {
            holders.add(got.get());
          }
        }
        assertEquals(1, wins, "one claim wins");
        assertEquals(Set.of(winner), holders, "the others are told the winner");
        for (RedisEngine e : nodes) {
          assertEquals(Optional.of(winner), e.directory().running(session));
          assertEquals(winner, e.directory().latest(session).orElseThrow().runId());
        }
        // concurrent ends: the owner's (no terminal) and two survivors' (with the terminal at head + 1)
        RunRecord rec = nodes.get(0).directory().lookup(winner).orElseThrow();
        RunOutcome o = Fixtures.outcome(rec, 1, RunState.FAILED);
        CountDownLatch go2 = new CountDownLatch(1);
        List<Future<Boolean>> ends = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
          RedisEngine e = nodes.get(i);
          boolean withTerminal = i > 0;
          ends.add(pool.submit(() -> {
            go2.await();
            return e.directory().end(o, withTerminal ? Fixtures.terminal(o) : null);
          }));
        }
        go2.countDown();
        int ended = 0;
        for (Future<Boolean> f : ends) {
          ended += f.get(5, TimeUnit.SECONDS) ? 1 : 0;
        }
        assertEquals(1, ended, "one end per run");
        for (RedisEngine e : nodes) {
          assertEquals(Optional.empty(), e.directory().running(session));
          RunRecord after = e.directory().lookup(winner).orElseThrow();
          assertTrue(after.ended());
          assertEquals(RunState.FAILED, after.outcome().state());
        }
        assertFalse(nodes.get(1).directory().end(o, null), "a late end loses");
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** A survivor's end with the terminal is refused if the head moved, so no frame is lost. */
  @Test
  void g3_survivorEndRequiresTheHeadItSaw() {
    RedisEngine a = fx.engine("a");
    RedisEngine b = fx.engine("b");
    RunRecord r = Fixtures.record(a, "s1", "r1");
    a.directory().claim(r);
    RunLog log = a.newLog("r1", 100, 0);
    log.append(1, Fixtures.event(1));
    log.append(2, Fixtures.event(2));
    RunOutcome stale = Fixtures.outcome(r, 2, RunState.FAILED); // saw head 1
    assertTrue(Fixtures.await(() -> b.view("r1").head() == 2, Duration.ofSeconds(2)));
    assertFalse(b.directory().end(stale, Fixtures.terminal(stale)));
    RunOutcome fresh = Fixtures.outcome(r, 3, RunState.FAILED);
    assertTrue(b.directory().end(fresh, Fixtures.terminal(fresh)));
    // the frozen owner wakes up: its lease is stale, so its append waits for Redis, which fences it
    a.lease().ageForTests();
    assertThrows(RunFencedException.class, () -> log.append(3, Fixtures.event(3)));
    assertEquals(2, log.head(), "a refused append leaves the head");
    assertThrows(RunFencedException.class, () -> log.append(3, Fixtures.event(3)));
    List<EncodedFrame> all = new ArrayList<>();
    b.view("r1").read(1, 10, all::add);
    assertEquals(3, all.size());
    assertEquals(FrameMeta.Type.TERMINAL, all.get(2).meta().type());
  }

  /** A fresh owner's pipelined append after a survivor's end is refused by Redis; the next one throws. */
  @Test
  void g3_pipelinedAppendAfterForeignEndIsNeverStored() {
    RedisEngine a = fx.engine("a");
    RedisEngine b = fx.engine("b");
    RunRecord r = Fixtures.record(a, "s1", "r1");
    a.directory().claim(r);
    RunLog log = a.newLog("r1", 100, 0);
    log.append(1, Fixtures.event(1));
    RunOutcome o = Fixtures.outcome(r, 2, RunState.FAILED);
    assertTrue(Fixtures.await(() -> b.view("r1").head() == 1, Duration.ofSeconds(2)));
    assertTrue(b.directory().end(o, Fixtures.terminal(o)));
    boolean fenced = false;
    for (int i = 0; i < 100 && !fenced; i++) { // pipelined: refused by the script, surfaced by a later append
      try {
        log.append(log.head() + 1, Fixtures.event(log.head() + 1));
        Thread.sleep(10);
      } catch (RunFencedException expected) {
        fenced = true;
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }
    assertTrue(fenced, "the owner learns it was fenced");
    List<EncodedFrame> all = new ArrayList<>();
    b.view("r1").read(1, 10, all::add);
    assertEquals(2, all.size());
    assertEquals(FrameMeta.Type.TERMINAL, all.get(1).meta().type(), "the survivor's terminal stands");
  }

  /** G4: epochs from several nodes never repeat. */
  @Test
  void g4_epochsAreNeverReused() {
    List<RedisEngine> nodes = List.of(fx.engine("a"), fx.engine("b"));
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 500; i++) {
      assertTrue(seen.add(nodes.get(i % 2).newEpoch()));
    }
  }
}
