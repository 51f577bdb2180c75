package dev.runlane;

import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** The default {@link TimeSource}: system clock, one daemon timer thread. */
final class SystemTimeSource implements TimeSource, AutoCloseable {
  private static final AtomicInteger COUNTER = new AtomicInteger();
  private final ScheduledThreadPoolExecutor timer;

  SystemTimeSource() {
    timer =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "runlane-timer-" + COUNTER.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    timer.setRemoveOnCancelPolicy(true);
    timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
  }

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public long epochMillis() {
    return System.currentTimeMillis();
  }

  @Override
  public Cancellable schedule(long delayNanos, Runnable task) {
    if (timer.isShutdown()) {
      return () -> {};
    }
    try {
      var f = timer.schedule(task, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
      return () -> f.cancel(false);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      return () -> {};
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
