package dev.runlane.benchmarks;

import dev.runlane.TimeSource;

/**
 * A {@link TimeSource} whose timers never fire: no housekeeping tick, heartbeat, retention or
 * close-grace task runs during a measurement, so figures are not disturbed by background work and
 * idle benchmark connections are never closed for silence. The clock itself is the system's.
 *
 * <p><b>Thread safety:</b> stateless; safe for concurrent use.
 */
public final class FrozenTime implements TimeSource {
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
    return () -> {};
  }
}
