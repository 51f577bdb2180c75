package dev.runlane.transport.jetty;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class SerialInboundTest {

  @Test
  @Timeout(30)
  void tasksFromManyThreadsNeverOverlapAndKeepEachThreadsOrder() throws Exception {
    SerialInbound serial = new SerialInbound();
    int threads = 4;
    int perThread = 20_000;
    AtomicInteger inside = new AtomicInteger();
    AtomicInteger overlaps = new AtomicInteger();
    int[] lastSeen = new int[threads]; // only touched by tasks, which the serializer orders
    int[] outOfOrder = new int[1];
    int[] ran = new int[1];
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int thread = t;
      lastSeen[t] = -1;
      Thread worker =
          new Thread(
              () -> {
                try {
                  start.await();
                } catch (InterruptedException e) {
                  return;
                }
                for (int i = 0; i < perThread; i++) {
                  int seq = i;
                  serial.execute(
                      () -> {
                        if (inside.incrementAndGet() != 1) {
                          overlaps.incrementAndGet();
                        }
                        if (lastSeen[thread] != seq - 1) {
                          outOfOrder[0]++;
                        }
                        lastSeen[thread] = seq;
                        ran[0]++;
                        inside.decrementAndGet();
                      });
                }
              });
      workers.add(worker);
      worker.start();
    }
    start.countDown();
    for (Thread worker : workers) {
      worker.join();
    }
    // A final task on this thread runs after all others and publishes their writes; assert
    // outside it, since the serializer swallows what a task throws.
    int[] totals = new int[2];
    serial.execute(
        () -> {
          totals[0] = ran[0];
          totals[1] = outOfOrder[0];
        });
    assertEquals(0, overlaps.get());
    assertEquals(threads * perThread, totals[0]);
    assertEquals(0, totals[1], "tasks of one thread ran out of order");
  }

  @Test
  void aThrowingTaskDoesNotStopTheNext() {
    SerialInbound serial = new SerialInbound();
    AtomicInteger ran = new AtomicInteger();
    serial.execute(
        () -> {
          throw new IllegalStateException("test: task bug");
        });
    serial.execute(ran::incrementAndGet);
    assertEquals(1, ran.get());
  }
}
