package dev.runlane;

/**
 * Time and timers for Runlane: every deadline, retention, heartbeat, idle check and expiry reads
 * this clock and schedules on it. Core never reads the system clock or sleeps. The testkit's {@code
 * ManualTimeSource} makes all of it deterministic.
 *
 * <p><b>Thread safety:</b> implementations must be safe for concurrent use. Scheduled tasks run on
 * the implementation's timer thread(s) (for {@link #system()}, one daemon thread), never under a
 * Runlane lock.
 */
public interface TimeSource {

  /** Monotonic nanoseconds, as {@link System#nanoTime()}. */
  long nanoTime();

  /** Wall-clock milliseconds since the epoch, for timestamps clients see. */
  long epochMillis();

  /**
   * Runs {@code task} once after {@code delayNanos}. Must not run it on the calling thread.
   *
   * @return a handle whose {@link Cancellable#cancel()} prevents the task if it has not started
   */
  Cancellable schedule(long delayNanos, Runnable task);

  /** A scheduled task. */
  @FunctionalInterface
  interface Cancellable {
    /** Cancels the task if it has not run; idempotent. */
    void cancel();
  }

  /**
   * The system clock with one daemon timer thread. A Runlane that creates it (the builder's
   * default) shuts it down on {@link Runlane#close()}.
   */
  static TimeSource system() {
    return new SystemTimeSource();
  }
}
