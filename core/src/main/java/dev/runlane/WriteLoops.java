package dev.runlane;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Write threads that drain outboxes off the publishing thread ({@link RunlaneBuilder#writeThreads}).
 *
 * <p>Why: a publish that drains inline writes every frame at once, one socket write per frame, so a
 * thousand recipients cost a thousand system calls per event however fast events come. Handed to a
 * write thread, frames that arrive while the thread is busy elsewhere wait in their outbox and leave
 * together, in one write, at the thread's next pass: the busier the node, the larger the batches
 * ("smart batching"). Only
 * frames a run pushes take this path ({@code Outbox.flushSoon}); a reply to a command is written by
 * the thread handling it. The publisher keeps its backpressure: an outbox already holding {@link
 * #INLINE_BACKLOG} frames (or half its frame bound, if lower) is drained by the thread that pushes
 * to it, as without write threads.
 *
 * <p>An outbox is queued on one loop (chosen by its connection, so a connection is always written
 * by the same thread) and at most once at a time; it is unmarked <em>before</em> it is drained, so a
 * frame queued during the drain schedules it again and is never stranded. The drain itself is the
 * outbox's own loop (one drainer per pipe, rule T2.5), so order, completion callbacks and bounds are
 * those of an inline drain.
 *
 * <p>A hand-off pays for itself only when it batches; on a quiet node it only adds a wake-up (two
 * context switches per event: 1.2&times; the CPU of an inline write at 20,000 targeted events/s).
 * So a frame pushed to a run's <em>lone</em> recipient is written by the pushing thread while its
 * loop is idle (no drain running or queued) and sees few such pushes: at most {@code
 * lonePerWindow} in the current window of about a millisecond and in the one before ({@link
 * #LONE_INLINE_PER_WINDOW} by default). Beyond that the node is busy, and pushes go to the write
 * thread, where they batch, even at the moments it is idle: an unbatched write then would cost more
 * than the hand-off saves. A loop at work takes every push: it batches it at no extra wake-up. A push to several
 * recipients goes to the write thread (below the backlog bound): the publisher does not pay a
 * fan-out's writes. Either
 * path drains through the pipe's own loop, so which one a frame takes never changes what a client
 * receives.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
final class WriteLoops {
  private static final Logger LOG = LoggerFactory.getLogger(WriteLoops.class);

  /** An outbox with at least this many frames queued is drained by the flushing thread itself. */
  static final int INLINE_BACKLOG = 128;

  /**
   * Lone-recipient pushes a loop lets the pushing thread write per window of 2<sup>20</sup> ns
   * (~1 ms): 32 is 32,000 inline writes per second per loop, about a third of a core of system calls,
   * well past where a steady, unbatched stream would gain from a hand-off.
   */
  static final int LONE_INLINE_PER_WINDOW = 32;

  private final Loop[] loops;

  WriteLoops(int threads, String namePrefix) {
    this(threads, namePrefix, LONE_INLINE_PER_WINDOW, System::nanoTime);
  }

  /**
   * @param lonePerWindow lone-recipient pushes written inline per ~1 ms window and loop; 0 hands
   *     every push to the write thread
   * @param nanoClock the clock of the rate windows ({@code System::nanoTime}; a test's own)
   */
  WriteLoops(int threads, String namePrefix, int lonePerWindow, LongSupplier nanoClock) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads < 1");
    }
    if (lonePerWindow < 0) {
      throw new IllegalArgumentException("lonePerWindow < 0");
    }
    loops = new Loop[threads];
    for (int i = 0; i < threads; i++) {
      loops[i] = new Loop(lonePerWindow, nanoClock);
      Thread t = new Thread(loops[i], namePrefix + i);
      t.setDaemon(true);
      loops[i].thread = t;
    }
    for (Loop l : loops) {
      l.thread.start();
    }
  }

  /** The loop that writes for the connection with this id. */
  Loop loopFor(String connectionId) {
    return loops[Math.floorMod(connectionId.hashCode(), loops.length)];
  }

  /**
   * Makes every push drain on the pushing thread again and waits (at most {@code timeoutMillis})
   * until no write thread holds or has queued a drain. Called before a shutdown ends the runs and
   * closes the connections: the runs' last frames are then written by the thread that ends them,
   * before the close empties the outboxes, as without write threads.
   */
  void pauseAndSettle(long timeoutMillis) {
    for (Loop l : loops) {
      l.paused = true;
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    for (Loop l : loops) {
      while ((l.busy || !l.queue.isEmpty()) && l.thread != Thread.currentThread() && System.nanoTime() < deadline) {
        LockSupport.parkNanos(100_000);
      }
    }
  }

  /** Hands pushes to the write threads again (after {@link #pauseAndSettle}). */
  void resume() {
    for (Loop l : loops) {
      l.paused = false;
    }
  }

  /** Stops the threads; outboxes queued and not yet drained are drained by no one (call on close). */
  void stop() {
    for (Loop l : loops) {
      l.stopped = true;
      LockSupport.unpark(l.thread);
    }
    for (Loop l : loops) {
      if (l.thread != Thread.currentThread()) {
        try {
          l.thread.join(TimeUnit.SECONDS.toMillis(2));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /**
   * One outbox's place on its loop: queued at most once at a time (the value is 1 while queued),
   * and unmarked <em>before</em> its drain runs, so a frame queued during the drain queues it again.
   */
  @SuppressWarnings("serial") // never serialized
  static final class Slot extends AtomicInteger {
    private final Loop loop;
    private final Runnable drain;

    Slot(Loop loop, Runnable drain) {
      this.loop = loop;
      this.drain = drain;
    }

    /** Whether pushes go to the write thread (false while it is paused for a shutdown). */
    boolean active() {
      return !loop.paused;
    }

    /**
     * Whether the pushing thread should write a push to a run's lone recipient itself: true while
     * the loop is idle and neither its current ~1 ms window nor the one before saw more than {@code
     * lonePerWindow} such pushes. Counts the push.
     */
    boolean inlineLone() {
      return loop.inlineLone();
    }

    /** Queues the drain on the loop unless it is queued already. */
    void schedule() {
      if (get() == 0 && compareAndSet(0, 1)) {
        loop.offer(this);
      }
    }

    void run() {
      set(0);
      drain.run();
    }
  }

  /** One write thread and its queue of outbox drains. */
  static final class Loop implements Runnable {
    private final ConcurrentLinkedQueue<Slot> queue = new ConcurrentLinkedQueue<>();
    private final int lonePerWindow;
    /**
     * The current rate window ({@code System.nanoTime() >> 20}) and the lone pushes in it. Updated
     * racily by pushing threads: a lost reset or count only moves one push to the other, equally
     * correct, path.
     */
    private final java.util.concurrent.atomic.AtomicLong window;
    private final AtomicInteger pushesInWindow = new AtomicInteger();
    /** Lone pushes in the window before {@link #window} (0 if none or if it was not the last one). */
    private volatile int previousWindowPushes;
    /** 1 while the thread is parked or about to park; a scheduler that swaps it to 0 unparks it. */
    private final AtomicInteger sleeping = new AtomicInteger();
    private volatile boolean stopped;
    /** While true, pushes drain on the pushing thread ({@link WriteLoops#pauseAndSettle}). */
    private volatile boolean paused;
    /** True while this thread runs a drain. */
    private volatile boolean busy;
    @SuppressWarnings("NullAway.Init") // set before the thread starts
    private Thread thread;

    private final LongSupplier nanoClock;

    Loop(int lonePerWindow, LongSupplier nanoClock) {
      this.lonePerWindow = lonePerWindow;
      this.nanoClock = nanoClock;
      // nanoTime's origin is arbitrary (it may be negative): windows are compared by difference
      this.window = new java.util.concurrent.atomic.AtomicLong(nanoClock.getAsLong() >> 20);
    }

    /** Whether no drain is running or queued on this loop. */
    boolean idle() {
      return !busy && queue.isEmpty();
    }

    private boolean inlineLone() {
      if (lonePerWindow == 0) {
        return false;
      }
      long w = nanoClock.getAsLong() >> 20;
      long cur = window.get();
      // windows only move forward, once each: a stale clock reading (a preempted caller) or a
      // racing caller is simply counted in the current window
      if (w - cur > 0 && window.compareAndSet(cur, w)) {
        int last = pushesInWindow.getAndSet(0);
        previousWindowPushes = w == cur + 1 ? last : 0; // a gap means a quiet window in between
      }
      // every lone push counts, written here or not: at full rate the write thread is often idle
      // for a moment, and writing then, unbatched, would cost more than the hand-off saves
      int n = pushesInWindow.incrementAndGet();
      return n <= lonePerWindow && previousWindowPushes <= lonePerWindow && idle();
    }

    /** A slot on this loop for a drain (one per outbox). */
    Slot slot(Runnable drain) {
      return new Slot(this, drain);
    }

    private void offer(Slot s) {
      queue.offer(s);
      if (sleeping.get() == 1 && sleeping.compareAndSet(1, 0)) {
        LockSupport.unpark(thread);
      }
    }

    @Override
    public void run() {
      while (!stopped) {
        Slot s = queue.poll();
        if (s == null) {
          sleeping.set(1);
          // re-check after announcing the sleep: an offer in between either is seen here or unparks
          if (queue.isEmpty() && !stopped) {
            LockSupport.park(this);
          }
          sleeping.set(0);
          continue;
        }
        busy = true;
        try {
          s.run();
        } catch (RuntimeException | Error e) {
          // the outbox guards every transport call; this is a bug, and the loop must survive it
          LOG.error("write loop: draining an outbox failed", e);
        } finally {
          busy = false;
        }
      }
    }
  }
}
