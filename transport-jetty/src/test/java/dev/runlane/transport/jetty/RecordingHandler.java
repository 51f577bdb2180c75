package dev.runlane.transport.jetty;

import dev.runlane.transport.CloseReason;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Payload;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An {@link InboundHandler} that records everything and counts contract violations: overlapping
 * calls (T7.1) and calls after {@code onClose} (T7.2).
 */
class RecordingHandler implements InboundHandler {

  final BlockingQueue<Payload> frames = new LinkedBlockingQueue<>();
  final AtomicInteger activity = new AtomicInteger();
  final List<CloseReason> closes = new CopyOnWriteArrayList<>();
  final CountDownLatch closed = new CountDownLatch(1);
  final AtomicInteger overlaps = new AtomicInteger();
  final AtomicInteger callsAfterClose = new AtomicInteger();
  final List<Thread> threads = new CopyOnWriteArrayList<>();

  private final AtomicInteger inside = new AtomicInteger();
  private volatile boolean closeSeen;

  private void enter() {
    if (inside.incrementAndGet() != 1) {
      overlaps.incrementAndGet();
    }
    if (closeSeen) {
      callsAfterClose.incrementAndGet();
    }
    threads.add(Thread.currentThread());
  }

  private void exit() {
    inside.decrementAndGet();
  }

  @Override
  public void onFrame(Payload payload) {
    enter();
    try {
      // Widen the window in which an overlapping call would be caught.
      for (int i = 0; i < 20; i++) {
        Thread.yield();
      }
      frames.add(payload);
      frameHook(payload);
    } finally {
      exit();
    }
  }

  /** Subclasses may misbehave here. */
  void frameHook(Payload payload) {}

  @Override
  public void onActivity() {
    enter();
    try {
      activity.incrementAndGet();
    } finally {
      exit();
    }
  }

  @Override
  public void onClose(CloseReason reason) {
    enter();
    try {
      closeSeen = true;
      closes.add(reason);
      closed.countDown();
    } finally {
      exit();
    }
  }

  Payload nextFrame() throws InterruptedException {
    Payload p = frames.poll(10, TimeUnit.SECONDS);
    if (p == null) {
      throw new AssertionError("no inbound frame within 10 s");
    }
    return p;
  }

  CloseReason awaitClose() throws InterruptedException {
    if (!closed.await(10, TimeUnit.SECONDS)) {
      throw new AssertionError("onClose not reported within 10 s");
    }
    return closes.get(0);
  }
}
