package dev.runlane.transport.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What the Jetty, Spring WebSocket and SSE transports (and the kit's in-memory fixture) rely on:
 * rules T7.1 and T7.2 from any mix of threads, a close submitted from inside a frame running after
 * it, a submitter never blocking behind a running task, and a failing task never stalling the rest.
 */
class SerialInboundTest {

  private static final Runnable NOTHING = () -> {};

  /** What the tasks of the serializers from {@link #recordingFailures} threw. */
  private final List<Throwable> failures = new CopyOnWriteArrayList<>();

  private SerialInbound recordingFailures() {
    return new SerialInbound(failures::add);
  }

  @AfterEach
  void noTaskFailed() {
    assertEquals(List.of(), failures);
  }

  @Test
  @Timeout(30)
  void tasksFromManyThreadsNeverOverlapAndKeepEachThreadsOrder() throws Exception {
    SerialInbound serial = recordingFailures();
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
    // A final task on this thread runs after all others and publishes their plain writes; assert
    // outside it, since the serializer hands what a task throws to the failure handler.
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
  void aTaskSubmittedFromInsideATaskRunsAfterItOnTheSameThread() {
    // Runlane closes a connection while handling its frame; the host reports the close at once.
    SerialInbound serial = recordingFailures();
    List<String> events = new ArrayList<>();
    Thread caller = Thread.currentThread();
    AtomicReference<Thread> closeThread = new AtomicReference<>();
    serial.execute(
        () -> {
          events.add("frame start");
          serial.execute(
              () -> {
                closeThread.set(Thread.currentThread());
                events.add("close");
              });
          events.add("frame end");
        });
    assertEquals(List.of("frame start", "frame end", "close"), events);
    assertSame(caller, closeThread.get());
  }

  @Test
  @Timeout(30)
  void aSubmitterDoesNotWaitForARunningTaskAndItsTaskRunsAfterIt() throws Exception {
    // The open (or a frame) is still running on one server thread when the close arrives on
    // another: the close must neither block that thread nor overtake the running task.
    SerialInbound serial = recordingFailures();
    List<String> events = new CopyOnWriteArrayList<>();
    CountDownLatch running = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicReference<Thread> closeThread = new AtomicReference<>();
    Thread opener =
        new Thread(
            () ->
                serial.execute(
                    () -> {
                      events.add("open start");
                      running.countDown();
                      try {
                        release.await(20, TimeUnit.SECONDS);
                      } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                      }
                      events.add("open end");
                    }),
            "opener");
    opener.start();
    assertTrue(running.await(20, TimeUnit.SECONDS));

    serial.execute(() -> events.add("frame")); // returns at once: the opener is running tasks
    serial.execute(
        () -> {
          closeThread.set(Thread.currentThread());
          events.add("close");
        });
    assertEquals(List.of("open start"), events);

    release.countDown();
    opener.join(20_000);
    assertEquals(List.of("open start", "open end", "frame", "close"), events);
    assertSame(opener, closeThread.get());
  }

  @Test
  void aThrowingTaskGoesToTheFailureHandlerAndDoesNotStopTheNext() {
    List<Throwable> seen = new ArrayList<>();
    SerialInbound serial = new SerialInbound(seen::add);
    IllegalStateException bug = new IllegalStateException("test: task bug");
    StackOverflowError error = new StackOverflowError("test: task error");
    AtomicInteger ran = new AtomicInteger();
    serial.execute(
        () -> {
          serial.execute(ran::incrementAndGet); // queued behind the failing task
          throw bug;
        });
    serial.execute(
        () -> {
          throw error;
        });
    serial.execute(ran::incrementAndGet);
    assertEquals(2, ran.get());
    assertEquals(List.of(bug, error), seen);
  }

  @Test
  void aThrowingFailureHandlerDoesNotStallTheConnection() {
    SerialInbound serial =
        new SerialInbound(
            failure -> {
              throw new IllegalStateException("test: failure handler bug");
            });
    AtomicInteger ran = new AtomicInteger();
    serial.execute(
        () -> {
          throw new IllegalStateException("test: task bug");
        });
    serial.execute(NOTHING);
    serial.execute(ran::incrementAndGet);
    assertEquals(1, ran.get());
  }
}
