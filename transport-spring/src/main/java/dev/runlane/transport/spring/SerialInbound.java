package dev.runlane.transport.spring;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the inbound events of one connection one at a time, in submission order, without blocking
 * and without a dedicated thread: the submitting thread that finds the queue idle drains it (the
 * same serializer as the Jetty adapter's).
 *
 * <p>Servlet containers deliver one session's messages one at a time, but the close may come from
 * another thread (a close this adapter started on its executor, a failed write, {@code
 * terminate()}). Funnelling every event through here keeps rule T7: frames in order, never
 * concurrently, and the close after the last frame.
 *
 * <p><b>Thread safety:</b> {@link #execute} may be called from any thread; tasks never overlap, and
 * each task sees the effects of the tasks before it.
 */
final class SerialInbound {

  private static final Logger LOG = LoggerFactory.getLogger(SerialInbound.class);

  private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final AtomicInteger pending = new AtomicInteger();

  /** Runs {@code task} now on this thread, or after the tasks before it on the draining thread. */
  void execute(Runnable task) {
    tasks.add(task);
    if (pending.getAndIncrement() != 0) {
      return; // another thread is draining and will run it
    }
    do {
      Runnable next = tasks.poll();
      if (next != null) {
        try {
          next.run();
        } catch (RuntimeException | Error e) {
          LOG.error("Inbound task failed", e);
        }
      }
    } while (pending.decrementAndGet() != 0);
  }
}
