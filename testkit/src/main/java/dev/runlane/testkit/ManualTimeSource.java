package dev.runlane.testkit;

import dev.runlane.TimeSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * A {@link TimeSource} whose time moves only when the test says so. Due tasks run on the thread
 * that calls {@link #advance}, in deadline order (ties in scheduling order), never on the thread
 * that scheduled them.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; {@link #advance} runs tasks outside its lock.
 */
public final class ManualTimeSource implements TimeSource {

  private static final class Task implements Comparable<Task> {
    final long due;
    final long order;
    final Runnable body;
    volatile boolean cancelled;

    Task(long due, long order, Runnable body) {
      this.due = due;
      this.order = order;
      this.body = body;
    }

    @Override
    public int compareTo(Task o) {
      int c = Long.compare(due, o.due);
      return c != 0 ? c : Long.compare(order, o.order);
    }
  }

  private final PriorityQueue<Task> tasks = new PriorityQueue<>();
  private long nanos = 1_000_000_000L;
  private long epochMillis = 1_700_000_000_000L;
  private long order;

  /** A clock at a fixed start (wall clock 2023-11-14T22:13:20Z) with nothing scheduled. */
  public ManualTimeSource() {}

  @Override
  public synchronized long nanoTime() {
    return nanos;
  }

  @Override
  public synchronized long epochMillis() {
    return epochMillis;
  }

  @Override
  public synchronized Cancellable schedule(long delayNanos, Runnable task) {
    Task t = new Task(nanos + Math.max(0, delayNanos), order++, task);
    tasks.add(t);
    return () -> t.cancelled = true;
  }

  /** Moves time forward by {@code d}, running every task that falls due, in order. */
  public void advance(Duration d) {
    long target;
    synchronized (this) {
      target = nanos + d.toNanos();
    }
    for (; ; ) {
      Task next;
      synchronized (this) {
        Task head = tasks.peek();
        if (head == null || head.due > target) {
          epochMillis += (target - nanos) / 1_000_000;
          nanos = target;
          return;
        }
        next = tasks.poll();
        epochMillis += (next.due - nanos) / 1_000_000;
        nanos = Math.max(nanos, next.due);
      }
      if (!next.cancelled) {
        next.body.run();
      }
    }
  }

  /** Runs the tasks due now without moving time. */
  public void runDue() {
    advance(Duration.ZERO);
  }

  /** Tasks scheduled and not yet run or cancelled. */
  public synchronized int pendingTasks() {
    List<Task> live = new ArrayList<>();
    for (Task t : tasks) {
      if (!t.cancelled) {
        live.add(t);
      }
    }
    return live.size();
  }
}
