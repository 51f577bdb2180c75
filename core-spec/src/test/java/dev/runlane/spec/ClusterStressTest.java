package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.ErrorCode;
import dev.runlane.Result;
import dev.runlane.RunHandle;
import dev.runlane.RunOutcome;
import dev.runlane.StartRequest;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.WireMessage;
import dev.runlane.transport.CloseReason;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The cluster promises under real concurrency: a run publishing on one node while clients on the
 * other nodes keep resuming it with random {@code lastSeq} (each must get exactly {@code lastSeq +
 * 1 …} contiguously, the handoff between the store's replay and the tail's live frames included),
 * and starts and ends racing across nodes (one running run per session, one end per run).
 */
@Tag("stress")
class ClusterStressTest {
  private final ClusterFixture fx = new ClusterFixture(3, java.time.Duration.ofSeconds(2), b -> b.replayCapacity(100_000));

  @AfterEach
  void close() {
    fx.close();
  }

  @Test
  void resumesOnOtherNodesWhileTheOwnerPublishesAreExact() throws Exception {
    long seed = Long.getLong("runlane.seed", System.nanoTime());
    System.out.println("ClusterStressTest seed=" + seed + " (-Drunlane.seed=" + seed + ")");
    RunHandle run = fx.node(0).startRun(StartRequest.of("storm", "alice")).orElseThrow();
    AtomicBoolean publishing = new AtomicBoolean(true);
    Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
    AtomicInteger cycles = new AtomicInteger();
    List<Thread> threads = new ArrayList<>();
    CountDownLatch started = new CountDownLatch(4);
    for (int t = 0; t < 4; t++) {
      int node = 1 + t % 2;
      Random rnd = new Random(seed * 31 + t);
      Thread th =
          new Thread(
              () -> {
                started.countDown();
                try {
                  while (publishing.get() && cycles.get() < 2_000) {
                    long head = run.headSeq();
                    long last = head == 0 ? 0 : rnd.nextLong(head + 1);
                    InMemoryConnection c = fx.open(node, "alice");
                    c.sendText("sub storm " + last + " " + run.epoch() + " " + run.runId());
                    Thread.sleep(rnd.nextInt(3));
                    fx.settle();
                    List<Long> seqs = ClusterFixture.seqs(c, run.runId());
                    for (int i = 0; i < seqs.size(); i++) {
                      if (seqs.get(i) != last + 1 + i) {
                        throw new AssertionError("lastSeq " + last + " on node " + node + ": got " + seqs);
                      }
                    }
                    c.clientClose(CloseReason.NORMAL);
                    cycles.incrementAndGet();
                  }
                } catch (Throwable e) {
                  failures.add(e);
                }
              },
              "cluster-storm-" + t);
      threads.add(th);
      th.start();
    }
    started.await();
    for (int i = 0; i < 5_000; i++) {
      run.publish("tok", "e" + i);
      if (i % 25 == 0) {
        Thread.sleep(1); // let the resumes interleave with the publishing
      }
    }
    publishing.set(false);
    for (Thread th : threads) {
      th.join(30_000);
    }
    run.complete(null);
    fx.settle();
    assertTrue(failures.isEmpty(), "failures: " + failures);
    System.out.println("ClusterStressTest: " + cycles.get() + " resumes on other nodes during 5000 publishes");
    assertTrue(cycles.get() > 0);
  }

  @Test
  void startsAndEndsRacingAcrossNodesYieldOneRunningRunPerSessionAndOneEndPerRun() throws Exception {
    for (int round = 0; round < 30; round++) {
      String session = "race-" + round;
      CountDownLatch go = new CountDownLatch(1);
      Queue<Result<RunHandle>> starts = new ConcurrentLinkedQueue<>();
      List<Thread> threads = new ArrayList<>();
      for (int n = 0; n < 3; n++) {
        int node = n;
        Thread th = new Thread(() -> {
          try {
            go.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          starts.add(fx.node(node).startRun(StartRequest.of(session, "alice")));
        });
        threads.add(th);
        th.start();
      }
      go.countDown();
      for (Thread th : threads) {
        th.join(10_000);
      }
      List<RunHandle> won = new ArrayList<>();
      for (Result<RunHandle> r : starts) {
        if (r instanceof Result.Ok<RunHandle> ok) {
          won.add(ok.value());
        } else {
          assertEquals(ErrorCode.RUN_IN_PROGRESS, ((Result.Refused<RunHandle>) r).code());
        }
      }
      assertEquals(1, won.size(), "one run per session across nodes, round " + round);
      RunHandle run = won.get(0);
      InMemoryConnection watcher = fx.open(round % 3, "alice");
      watcher.sendText("sub " + session + " 0 " + run.epoch() + " " + run.runId());
      // a complete on the owner and aborts from two other nodes race: one end
      CountDownLatch go2 = new CountDownLatch(1);
      Queue<Result<RunOutcome>> ends = new ConcurrentLinkedQueue<>();
      List<Thread> enders = new ArrayList<>();
      for (int n = 0; n < 3; n++) {
        int node = n;
        Thread th = new Thread(() -> {
          try {
            go2.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          ends.add(node == 0 ? run.complete("done") : fx.node(node).abort(run.runId(), "alice"));
        });
        enders.add(th);
        th.start();
      }
      go2.countDown();
      for (Thread th : enders) {
        th.join(10_000);
      }
      long oks = ends.stream().filter(Result::isOk).count();
      assertEquals(1, oks, "one end per run across nodes: " + ends);
      fx.settle();
      List<WireMessage> terminals = ClusterFixture.terminals(watcher, run.runId());
      assertEquals(1, terminals.size(), "exactly one terminal on node " + round % 3);
      watcher.clientClose(CloseReason.NORMAL);
    }
  }
}
