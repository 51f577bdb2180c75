package dev.runlane.transport.support;

import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Runs the inbound events of one connection one at a time, in submission order, without blocking
 * and without a thread of its own: the submitting thread that finds it idle runs the task, then
 * every task submitted meanwhile, until none is left.
 *
 * <p>A host creates one per connection and submits to it the open (registering the connection with
 * Runlane, so that events arriving meanwhile wait for the handler), every inbound frame, every
 * proof of life and the close, from whatever threads its server calls it on. That keeps rules T7.1
 * (frames in arrival order, never concurrently) and T7.2 (the close after the last frame) even when
 * the close comes from another thread than the frames. A task submitted from inside a running task
 * (Runlane closing the connection while it handles a frame, and the host reporting that close at
 * once) runs after that task, on the same thread, not inside it. Reporting the close only once is
 * still the host's job: it guards that in its close task.
 *
 * <p>What a task throws goes to the failure handler given at construction, and the next task runs:
 * one failed task never stalls the connection or loses its close. What the failure handler throws
 * is ignored.
 *
 * <p><b>Thread safety:</b> {@link #execute} may be called from any thread, also concurrently and
 * from inside a task; it never blocks. Tasks never overlap, and each task sees the effects of the
 * tasks before it.
 */
public final class SerialInbound implements Executor {

  private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final AtomicInteger pending = new AtomicInteger();
  private final Consumer<? super Throwable> onTaskFailure;

  /**
   * @param onTaskFailure told what a task threw (typically: log it); runs on the draining thread,
   *     between two tasks
   */
  public SerialInbound(Consumer<? super Throwable> onTaskFailure) {
    this.onTaskFailure = Objects.requireNonNull(onTaskFailure, "onTaskFailure");
  }

  /**
   * Runs {@code task} now on this thread if no task is running, else queues it after the tasks
   * before it, for the thread that runs them.
   */
  @Override
  public void execute(Runnable task) {
    tasks.add(Objects.requireNonNull(task, "task"));
    if (pending.getAndIncrement() != 0) {
      return; // another thread is running the tasks and will run this one
    }
    do {
      Runnable next = tasks.poll();
      if (next != null) {
        run(next);
      }
    } while (pending.decrementAndGet() != 0);
  }

  private void run(Runnable task) {
    try {
      task.run();
    } catch (Throwable failure) {
      try {
        onTaskFailure.accept(failure);
      } catch (Throwable ignored) {
        // A broken failure handler must not stall the connection either.
      }
    }
  }

  @Override
  public String toString() {
    return "SerialInbound[pending=" + pending.get() + "]";
  }
}
