package dev.runlane.spec;

import static dev.runlane.spec.DeliveryFixture.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.RunHandle;
import dev.runlane.StartRequest;
import dev.runlane.Result;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryConnection.Mode;
import dev.runlane.transport.CloseReason;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Concurrency stress of delivery: many publisher threads on distinct runs and many connections,
 * some healthy, some slow, some stalled. On every connection that stayed open, no frame is lost,
 * duplicated or reordered; every closed one was closed as a slow consumer, holds a gap-free prefix
 * and resumes to exactly the rest. Size scales with {@code -Drunlane.stress.scale}; the seed is
 * printed and can be fixed with {@code -Drunlane.stress.seed}.
 */
@Tag("stress")
class DeliveryStressTest {
  static final int SCALE = Integer.getInteger("runlane.stress.scale", 1);
  static final long SEED = Long.getLong("runlane.stress.seed", System.nanoTime());

  /** How a connection behaves. */
  enum Kind {
    /** Sends complete at once. Subscribed to a few runs: can never overflow. */
    AUTO,
    /** A background thread completes its sends slowly, to the end. A few runs: never overflows. */
    SLOW,
    /** Never completes a send. Subscribed to every run: must overflow. */
    STALLED,
    /** Completes slowly and then stops at a random point. Every run: may or may not overflow. */
    FLAKY
  }

  record Client(InMemoryConnection conn, Kind kind, Set<Integer> runs, long stopAfter) {}

  DeliveryFixture f;

  @AfterEach
  void tearDown() {
    if (f != null) {
      f.close();
    }
  }

  @Test
  void manyPublishersAndManyConnectionsLoseDuplicateOrReorderNothing() throws Exception {
    stress(0);
  }

  /** The same with two write threads draining the outboxes ({@code RunlaneBuilder.writeThreads}). */
  @Test
  void withWriteThreadsTooNothingIsLostDuplicatedOrReordered() throws Exception {
    stress(2);
  }

  private void stress(int writeThreads) throws Exception {
    String seedInfo = "seed " + SEED + " (rerun with -Drunlane.stress.seed=" + SEED + "), writeThreads " + writeThreads;
    System.out.println("DeliveryStressTest " + seedInfo + ", scale " + SCALE);
    Random rnd = new Random(SEED);
    int publishers = 8;
    int events = 1_000 * SCALE;
    int perRun = events + 2; // run.started, the deltas, run.completed
    int fewRuns = 3;
    // a connection of a few runs can never overflow; one of all runs must
    int maxQueued = (fewRuns + 1) * perRun;
    f =
        new DeliveryFixture(
            b ->
                b.maxQueuedFrames(maxQueued)
                    .maxQueuedBytes(Long.MAX_VALUE / 2)
                    .maxInFlight(16)
                    .replayCapacity(perRun + 8)
                    .writeThreads(writeThreads));

    List<RunHandle> runs = new ArrayList<>();
    for (int i = 0; i < publishers; i++) {
      Result<RunHandle> r = f.rl.startRun(StartRequest.of("s" + i, "u"));
      runs.add(r.orElseThrow());
    }
    List<Client> clients = new ArrayList<>();
    Set<String> senders = ConcurrentHashMap.newKeySet();
    Kind[] plan = new Kind[24];
    for (int i = 0; i < plan.length; i++) {
      plan[i] = i < 10 ? Kind.AUTO : i < 16 ? Kind.SLOW : i < 19 ? Kind.STALLED : Kind.FLAKY;
    }
    for (Kind kind : plan) {
      Set<Integer> subscribed = new LinkedHashSet<>();
      if (kind == Kind.AUTO || kind == Kind.SLOW) {
        while (subscribed.size() < fewRuns) {
          subscribed.add(rnd.nextInt(publishers));
        }
      } else {
        for (int i = 0; i < publishers; i++) {
          subscribed.add(i);
        }
      }
      // write threads serve only transports that batch
      InMemoryConnection c =
          writeThreads > 0
              ? f.tx.open("u", "wt" + clients.size(), java.util.Set.of(dev.runlane.transport.Capability.BATCHING))
              : f.tx.open("u");
      c.onFrame(fr -> senders.add(Thread.currentThread().getName()));
      for (int i : subscribed) {
        c.sendText("sub s" + i + " 0");
      }
      long stopAfter = kind == Kind.FLAKY ? rnd.nextInt(publishers * perRun) : Long.MAX_VALUE;
      if (kind != Kind.AUTO) {
        c.mode(Mode.MANUAL);
      }
      clients.add(new Client(c, kind, subscribed, stopAfter));
    }

    CountDownLatch go = new CountDownLatch(1);
    CountDownLatch published = new CountDownLatch(publishers);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> threads = new ArrayList<>();
    for (RunHandle run : runs) {
      Thread t =
          new Thread(
              () -> {
                try {
                  go.await();
                  for (int i = 0; i < events; i++) {
                    if (!run.publish("delta", i).isOk()) {
                      throw new AssertionError("publish " + i + " of " + run.runId() + " not recorded");
                    }
                  }
                  if (!run.complete(null).isOk()) {
                    throw new AssertionError("complete lost on " + run.runId());
                  }
                } catch (Throwable e) {
                  failure.compareAndSet(null, e);
                } finally {
                  published.countDown();
                }
              },
              "publisher-" + run.sessionId());
      threads.add(t);
    }
    Random completerRnd = new Random(SEED + 1);
    Thread completer =
        new Thread(
            () -> {
              try {
                go.await();
                Map<Client, Long> done = new ConcurrentHashMap<>();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (System.nanoTime() < deadline) {
                  boolean progress = false;
                  for (Client c : clients) {
                    if (c.kind() != Kind.SLOW && c.kind() != Kind.FLAKY) {
                      continue;
                    }
                    long n = done.getOrDefault(c, 0L);
                    int batch = 1 + completerRnd.nextInt(8);
                    for (int i = 0; i < batch && n < c.stopAfter() && c.conn().completeNext(); i++) {
                      n++;
                      progress = true;
                    }
                    done.put(c, n);
                  }
                  if (!progress) {
                    if (published.getCount() == 0 && settled(clients)) {
                      return;
                    }
                    Thread.sleep(1);
                  } else if (completerRnd.nextInt(16) == 0) {
                    Thread.sleep(1); // slow: let the publishers run ahead
                  }
                }
                throw new AssertionError("slow connections did not settle in time");
              } catch (Throwable e) {
                failure.compareAndSet(null, e);
              }
            },
            "completer");
    threads.add(completer);
    long t0 = System.nanoTime();
    threads.forEach(Thread::start);
    go.countDown();
    assertTrue(published.await(120, TimeUnit.SECONDS), "publishers did not finish; " + seedInfo);
    long publishNanos = System.nanoTime() - t0;
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(150));
      assertFalse(t.isAlive(), t.getName() + " hung; " + seedInfo);
    }
    if (failure.get() != null) {
      throw new AssertionError(seedInfo, failure.get());
    }
    // a flaky connection that stopped within its bounds is caught by the stall timeout
    f.time.advance(Duration.ofSeconds(35));

    int open = 0;
    int closed = 0;
    long frames = 0;
    for (Client c : clients) {
      InMemoryConnection conn = c.conn();
      String who = conn.id() + " (" + c.kind() + "), " + seedInfo;
      CloseReason reason = conn.closeReason();
      Map<String, List<Long>> byRun = new java.util.HashMap<>();
      for (dev.runlane.testkit.WireMessage m : conn.messages()) {
        if (m.isEvent()) {
          byRun.computeIfAbsent(m.require("run"), k -> new ArrayList<>()).add(m.num("seq"));
        }
      }
      for (int i = 0; i < publishers; i++) {
        RunHandle run = runs.get(i);
        List<Long> seqs = byRun.getOrDefault(run.runId(), List.of());
        frames += seqs.size();
        if (!c.runs().contains(i)) {
          assertEquals(List.of(), seqs, who + " got events of a run it never subscribed to");
          continue;
        }
        for (int k = 0; k < seqs.size(); k++) {
          assertEquals(k + 1L, seqs.get(k), who + ": gap, duplicate or reorder in " + run.runId());
        }
        if (reason == null) {
          assertEquals(perRun, seqs.size(), who + " stayed open but missed frames of " + run.runId());
        }
      }
      if (reason == null) {
        open++;
        assertNotEquals(Kind.STALLED, c.kind(), who + ": a stalled connection must be closed");
      } else {
        closed++;
        assertEquals(CloseReason.SLOW_CONSUMER, reason, who);
        assertTrue(c.kind() == Kind.STALLED || c.kind() == Kind.FLAKY, who + " closed though it could keep up");
        for (int i : c.runs()) {
          InMemoryConnection again = f.resume(conn, runs.get(i));
          assertStitched(conn, again, runs.get(i));
          again.clientClose(CloseReason.NORMAL);
        }
      }
    }
    assertEquals(
        writeThreads > 0,
        senders.stream().anyMatch(n -> n.startsWith("runlane-writer-")),
        "write threads wrote frames iff there are any; senders " + senders);
    System.out.printf(
        "DeliveryStressTest: %d publishers x %d events, %d connections (%d open, %d closed as slow), "
            + "%d run frames checked, publishing took %d ms%n",
        publishers, events, clients.size(), open, closed, frames, publishNanos / 1_000_000);
  }

  private boolean settled(List<Client> clients) {
    for (Client c : clients) {
      // AUTO ones too: with write threads their frames leave after the publish returns
      if ((c.kind() == Kind.SLOW || c.kind() == Kind.AUTO) && c.conn().isOpen()) {
        if (c.conn().heldSends() > 0
            || f.rl.connectionStats(c.conn().id()).map(s -> s.queuedFrames() > 0).orElse(false)) {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * A recipient that never takes a frame nor answers its close costs the publisher nothing it can
   * notice: all publishes complete, the stalled outbox never holds more than its limits at any
   * publish, it is closed as slow as soon as it overflows (not when the run ends), and the healthy
   * recipients get every frame. How long publishing takes is a benchmark's business, not a test's.
   */
  @Test
  void oneStalledRecipientDoesNotSlowThePublisherOrTheHealthyOnes() throws Exception {
    int healthyCount = 50;
    int events = 3_000 * SCALE;
    f = new DeliveryFixture(b -> b.maxQueuedFrames(MAX_QUEUED).maxInFlight(MAX_IN_FLIGHT).replayCapacity(events + 8));
    publishTo(healthyCount, true, events);
  }

  private static final int MAX_QUEUED = 1_024;
  private static final int MAX_IN_FLIGHT = 16;

  /** Publishes from another thread to healthy recipients and a stalled one, checking its bounds. */
  private void publishTo(int healthyCount, boolean withStalled, int events) throws Exception {
    InMemoryConnection owner = f.tx.open("u");
    RunHandle run = f.start("s", owner);
    List<InMemoryConnection> healthy = new ArrayList<>();
    for (int i = 0; i < healthyCount; i++) {
      healthy.add(f.subscriber("u", "s"));
    }
    InMemoryConnection stalled = null;
    if (withStalled) {
      stalled = f.subscriber("u", "s");
      stalled.mode(Mode.MANUAL).closeHandshakeHangs(true); // it does not even answer the close
    }
    CountDownLatch done = new CountDownLatch(1);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    InMemoryConnection watched = stalled;
    int[] maxQueued = new int[1];
    int[] maxHeld = new int[1];
    int[] closedAfter = {-1};
    Thread publisher =
        new Thread(
            () -> {
              try {
                for (int i = 0; i < events; i++) {
                  run.publish("delta", i);
                  if (watched != null && closedAfter[0] < 0) {
                    if (watched.closeReason() != null) {
                      closedAfter[0] = i + 1;
                    } else {
                      f.rl.connectionStats(watched.id())
                          .ifPresent(st -> maxQueued[0] = Math.max(maxQueued[0], st.queuedFrames()));
                      maxHeld[0] = Math.max(maxHeld[0], watched.heldSends());
                    }
                  }
                }
                run.complete(null);
              } catch (Throwable e) {
                failure.set(e);
              } finally {
                done.countDown();
              }
            },
            "publisher");
    publisher.start();
    assertTrue(done.await(60, TimeUnit.SECONDS), "the publisher was held up");
    assertNull(failure.get());
    long head = run.headSeq();
    assertEquals(events + 2, head);
    dev.runlane.testkit.RunlaneAssertions.assertSeqRange(owner, run.runId(), 1, head);
    // the owner got welcome then 1..head; each healthy one welcome, ack, then the same frames
    List<dev.runlane.transport.Frame> want = owner.frames().subList(1, owner.frames().size());
    for (InMemoryConnection h : healthy) {
      List<dev.runlane.transport.Frame> got = h.frames();
      assertEquals(want, got.subList(2, got.size()), h.id() + " lost, repeated or reordered frames");
      assertNull(h.closeReason());
    }
    if (stalled != null) {
      assertEquals(CloseReason.SLOW_CONSUMER, stalled.closeReason());
      assertPrefix(stalled, run);
      assertTrue(maxQueued[0] <= MAX_QUEUED, "the stalled outbox held " + maxQueued[0] + " frames");
      assertTrue(maxHeld[0] <= MAX_IN_FLIGHT, "the stalled connection held " + maxHeld[0] + " sends");
      // closed once its outbox overflowed: after at most limit + in-flight + run.started publishes
      assertTrue(
          closedAfter[0] > 0 && closedAfter[0] <= MAX_QUEUED + MAX_IN_FLIGHT + 1,
          "the stalled connection was closed after publish " + closedAfter[0] + " of " + events);
    }
  }
}
