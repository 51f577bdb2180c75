package dev.runlane.cluster.redis;

import dev.runlane.testredis.RedisServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.EngineUnavailableException;
import dev.runlane.engine.FrameMeta;
import dev.runlane.engine.RunFeed;
import dev.runlane.engine.RunLog;
import dev.runlane.engine.RunRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Redis trouble, on a Redis of the test's own: frozen (unreachable, data kept), stopped, and
 * restarted empty. Engine calls fail with {@link EngineUnavailableException} within the command
 * timeout (never block), the engine recovers by itself, and a Redis that lost its data changes
 * every epoch and loses the tails instead of leaving a silent gap.
 */
class RedisTroubleTest {
  private RedisServer redis;
  private Fixtures fx;

  @BeforeEach
  void up() {
    redis = RedisServer.start();
    fx = new Fixtures(redis);
  }

  @AfterEach
  void down() {
    redis.resume();
    fx.close();
    redis.close();
  }

  /** Appends until one is refused (a pipelined failure surfaces on a later call); bounded. */
  private static long appendUntilRefused(RunLog log, int max) {
    for (int i = 0; i < max; i++) {
      long seq = log.head() + 1;
      try {
        log.append(seq, Fixtures.event(seq));
      } catch (EngineUnavailableException e) {
        assertEquals(seq - 1, log.head(), "a refused append leaves the head");
        return seq;
      }
    }
    throw new AssertionError("no append was refused in " + max + " tries");
  }

  @Test
  void aFrozenRedisRefusesWithinTheTimeoutAndTheLogIsRepairedInOrderWhenItReturns() throws Exception {
    RedisEngine a = fx.add(fx.builder("a").commandTimeout(Duration.ofMillis(500)).build());
    RedisEngine b = fx.add(fx.builder("b").commandTimeout(Duration.ofMillis(500)).build());
    RunRecord r = Fixtures.record(a, "s1", "r1");
    a.directory().claim(r);
    RunLog log = a.newLog("r1", 1_000_000, 0);
    for (long seq = 1; seq <= 10; seq++) {
      log.append(seq, Fixtures.event(seq));
    }
    ConcurrentLinkedQueue<EncodedFrame> tailed = new ConcurrentLinkedQueue<>();
    AtomicInteger lost = new AtomicInteger();
    b.feed().orElseThrow().tail("r1", 0, new RunFeed.Sink() {
      @Override
      public void frame(EncodedFrame frame) {
        tailed.add(frame);
      }

      @Override
      public void lost() {
        lost.incrementAndGet();
      }
    });
    assertTrue(Fixtures.await(() -> tailed.size() == 10, Duration.ofSeconds(5)));

    redis.pause();
    long t0 = System.nanoTime();
    long refusedAt = appendUntilRefused(log, 10_000);
    assertThrows(EngineUnavailableException.class, () -> a.directory().claim(Fixtures.record(a, "s2", "r2")));
    assertThrows(EngineUnavailableException.class, () -> a.directory().lookup("r1"));
    long tookMs = (System.nanoTime() - t0) / 1_000_000;
    System.out.println("frozen Redis: refused after " + tookMs + " ms (command timeout 500 ms)");
    redis.resume();

    // the node recovers by itself: the next append resends what was not confirmed, in order
    long seq = refusedAt;
    boolean ok = false;
    for (int i = 0; i < 200 && !ok; i++) {
      try {
        log.append(seq, Fixtures.event(seq));
        ok = true;
      } catch (EngineUnavailableException e) {
        Thread.sleep(25);
      }
    }
    assertTrue(ok, "appends work again");
    for (long s = seq + 1; s <= seq + 10; s++) {
      log.append(s, Fixtures.event(s));
    }
    long head = log.head();
    List<EncodedFrame> stored = new ArrayList<>();
    log.read(1, head, stored::add);
    assertEquals(head, stored.size(), "no hole in Redis");
    for (int i = 0; i < stored.size(); i++) {
      assertEquals(i + 1, stored.get(i).meta().seq());
    }
    assertTrue(Fixtures.await(() -> tailed.size() == head, Duration.ofSeconds(10)), "the tail caught up: " + tailed.size() + " of " + head);
    long expect = 1;
    for (EncodedFrame f : tailed) {
      assertEquals(expect++, f.meta().seq(), "in order, once, across the outage");
    }
    assertEquals(0, lost.get(), "an outage is not a loss");
    assertEquals(Optional.empty(), a.directory().claim(Fixtures.record(a, "s2", "r2")));
  }

  @Test
  void aStoppedRedisIsRefusedAtOnceAndARedisRestartedEmptyChangesEveryEpoch() throws Exception {
    RedisEngine a = fx.add(fx.builder("a").commandTimeout(Duration.ofMillis(500)).build());
    RedisEngine b = fx.add(fx.builder("b").commandTimeout(Duration.ofMillis(500)).build());
    String before = a.newEpoch();
    String base = before.substring(0, before.indexOf('.'));
    RunRecord r = Fixtures.record(a, "s1", "r1");
    a.directory().claim(r);
    RunLog log = a.newLog("r1", 1000, 0);
    log.append(1, Fixtures.event(1));
    AtomicInteger lost = new AtomicInteger();
    ConcurrentLinkedQueue<EncodedFrame> tailed = new ConcurrentLinkedQueue<>();
    b.feed().orElseThrow().tail("r1", 0, new RunFeed.Sink() {
      @Override
      public void frame(EncodedFrame frame) {
        tailed.add(frame);
      }

      @Override
      public void lost() {
        lost.incrementAndGet();
      }
    });
    assertTrue(Fixtures.await(() -> tailed.size() == 1, Duration.ofSeconds(5)));

    redis.stop();
    appendUntilRefused(log, 10_000);
    assertThrows(EngineUnavailableException.class, a::newEpoch);

    redis.restart(); // same port, empty
    String after = null;
    for (int i = 0; i < 200 && after == null; i++) {
      try {
        after = a.newEpoch();
      } catch (EngineUnavailableException e) {
        Thread.sleep(25); // reconnecting
      }
    }
    assertTrue(after != null, "the engine reconnects by itself");
    assertNotEquals(base, after.substring(0, after.indexOf('.')), "a Redis that lost its data changes every epoch");
    assertTrue(Fixtures.await(() -> lost.get() == 1, Duration.ofSeconds(10)), "the tail is told its run is gone");
    assertEquals(1, tailed.size());
    assertThrows(EngineUnavailableException.class, () -> log.append(log.head() + 1, Fixtures.event(log.head() + 1)), "the lost run refuses appends");
    assertEquals(Optional.empty(), b.directory().lookup("r1"));
    assertEquals(0, b.view("r1").head());
    // the session is free again: the store forgot its running run
    assertEquals(Optional.empty(), b.directory().claim(Fixtures.record(b, "s1", "r9")));
    assertFalse(b.directory().lookup("r9").orElseThrow().ended());
    assertEquals(FrameMeta.Type.EVENT, tailed.peek().meta().type());
  }
}
