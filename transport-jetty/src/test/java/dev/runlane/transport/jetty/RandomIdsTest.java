package dev.runlane.transport.jetty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class RandomIdsTest {

  /** A SecureRandom whose output is a seeded stream, counting its calls. */
  private static final class StreamRandom extends SecureRandom {
    private static final long serialVersionUID = 1L;
    final transient Random stream;
    final AtomicInteger calls = new AtomicInteger();

    StreamRandom(long seed) {
      this.stream = new Random(seed);
    }

    @Override
    public synchronized void nextBytes(byte[] bytes) {
      calls.incrementAndGet();
      stream.nextBytes(bytes);
    }
  }

  /** A SecureRandom whose every 16-byte chunk is a distinct counter value: ids repeat only if a slot is issued twice. */
  private static final class CounterRandom extends SecureRandom {
    private static final long serialVersionUID = 1L;
    private long counter;

    @Override
    public synchronized void nextBytes(byte[] bytes) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.remaining() >= 16) {
        b.putLong(0x5eed).putLong(++counter);
      }
    }
  }

  @Test
  void randomnessIsDrawnOncePerBlockNotOncePerId() {
    StreamRandom random = new StreamRandom(1);
    RandomIds ids = new RandomIds(random, 256);
    assertEquals(0, random.calls.get(), "nothing is drawn before the first id");
    for (int i = 0; i < 1000; i++) {
      ids.next();
    }
    // 1000 ids in blocks of 256: blocks 1-4 and the 5th drawn ahead. A draw per id (what made the
    // storm's upgrades queue on the SecureRandom's lock) would be 1000.
    assertEquals(5, random.calls.get());
  }

  /**
   * A draw that fails (a provider error) fails only the call that needed it: the generator goes
   * back to drawing by the block, not one draw per id for ever after.
   */
  @Test
  void aFailedDrawDoesNotLeaveTheGeneratorDrawingPerId() {
    AtomicInteger calls = new AtomicInteger();
    SecureRandom flaky =
        new SecureRandom() {
          private static final long serialVersionUID = 1L;
          private final Random r = new Random(7);

          @Override
          public synchronized void nextBytes(byte[] bytes) {
            int n = calls.incrementAndGet();
            if (n == 2 || n == 3) {
              throw new java.security.ProviderException("transient");
            }
            r.nextBytes(bytes);
          }
        };
    RandomIds ids = new RandomIds(flaky, 2);
    int failed = 0;
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (int i = 0; i < 1000; i++) {
      try {
        assertTrue(seen.add(ids.next()), "distinct");
      } catch (java.security.ProviderException e) {
        failed++;
      }
    }
    assertTrue(failed <= 2, "only the calls that hit a failing draw fail: " + failed);
    assertTrue(calls.get() <= 600, "back to one draw per block of 2 ids, not per id: " + calls.get() + " draws");
  }

  @Test
  void eachIdIsTheNextSixteenBytesOfTheStream() {
    long seed = new Random().nextLong();
    System.out.println("RandomIdsTest seed " + seed);
    RandomIds ids = new RandomIds(new StreamRandom(seed), 3);
    Random expected = new Random(seed);
    byte[] block = new byte[3 * 16];
    for (int i = 0; i < 30; i++) {
      if (i % 3 == 0) {
        expected.nextBytes(block);
      }
      String id = ids.next();
      assertTrue(id.matches("[A-Za-z0-9_-]{22}"), id);
      byte[] want = new byte[16];
      System.arraycopy(block, (i % 3) * 16, want, 0, 16);
      assertArrayEquals(want, Base64.getUrlDecoder().decode(id), "id " + i + ", seed " + seed);
    }
  }

  @Test
  @Timeout(60)
  void concurrentCallersNeverGetTheSameSlotTwice() throws Exception {
    for (int blockIds : new int[] {1, 2, 7, 256}) {
      RandomIds ids = new RandomIds(new CounterRandom(), blockIds);
      Set<String> seen = ConcurrentHashMap.newKeySet();
      int threads = 8;
      int perThread = 5_000;
      CountDownLatch start = new CountDownLatch(1);
      List<Thread> workers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        Thread w =
            new Thread(
                () -> {
                  try {
                    start.await();
                  } catch (InterruptedException e) {
                    return;
                  }
                  for (int i = 0; i < perThread; i++) {
                    seen.add(ids.next());
                  }
                });
        w.start();
        workers.add(w);
      }
      start.countDown();
      for (Thread w : workers) {
        w.join();
      }
      assertEquals(threads * perThread, seen.size(), "every id is distinct, blocks of " + blockIds);
    }
  }

  @Test
  void thePublicGeneratorMakesDistinctBase64UrlIds() {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 2_000; i++) {
      String id = JettyRunlaneWebSockets.randomConnectionId();
      assertTrue(id.matches("[A-Za-z0-9_-]{22}"), id);
      seen.add(id);
    }
    assertEquals(2_000, seen.size());
  }
}
