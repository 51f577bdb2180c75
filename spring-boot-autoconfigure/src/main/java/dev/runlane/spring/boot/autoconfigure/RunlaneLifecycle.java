package dev.runlane.spring.boot.autoconfigure;

import dev.runlane.Runlane;
import java.util.Objects;
import org.springframework.context.SmartLifecycle;

/**
 * Closes the {@link Runlane} bean when the application context stops: running runs are cancelled
 * through the runtime's cancel hook and failed with {@code SHUTDOWN}, and every connection is
 * closed with 1001 (going away: reconnect elsewhere and resume).
 *
 * <p>Its phase, {@link #PHASE}, is above Spring Boot's graceful web server shutdown ({@code
 * DEFAULT_PHASE - 1024}) and the web server's stop ({@code DEFAULT_PHASE - 2048}); phases stop from
 * the highest down, so Runlane's close frames go out while the server still runs.
 *
 * <p><b>Thread safety:</b> called by Spring's lifecycle processor; {@link Runlane#close()} is
 * idempotent.
 */
public final class RunlaneLifecycle implements SmartLifecycle {

  /** {@code DEFAULT_PHASE - 512}. */
  public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 512;

  private final Runlane runlane;
  private volatile boolean running;

  /** Closes {@code runlane} on stop. */
  public RunlaneLifecycle(Runlane runlane) {
    this.runlane = Objects.requireNonNull(runlane, "runlane");
  }

  @Override
  public void start() {
    running = true;
  }

  @Override
  public void stop() {
    running = false;
    runlane.close();
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  @Override
  public int getPhase() {
    return PHASE;
  }
}
