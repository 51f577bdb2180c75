package dev.runlane.spring.boot.autoconfigure;

import dev.runlane.Runlane;
import java.util.Objects;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * Actuator health of Runlane: {@code UP} with its connection, run and session counts while the
 * application runs, {@code OUT_OF_SERVICE} while {@link RunlaneLifecycle} has it stopped (drained).
 *
 * <p><b>Thread safety:</b> thread-safe; the counts are read live.
 */
public final class RunlaneHealthIndicator implements HealthIndicator {

  private final Runlane runlane;
  private final RunlaneLifecycle lifecycle;

  /** Reports on {@code runlane}, paused and resumed by {@code lifecycle}. */
  public RunlaneHealthIndicator(Runlane runlane, RunlaneLifecycle lifecycle) {
    this.runlane = Objects.requireNonNull(runlane, "runlane");
    this.lifecycle = Objects.requireNonNull(lifecycle, "lifecycle");
  }

  @Override
  public Health health() {
    Health.Builder b = lifecycle.isRunning() ? Health.up() : Health.outOfService();
    return b.withDetail("connections", runlane.connectionCount())
        .withDetail("runs", runlane.runCount())
        .withDetail("sessions", runlane.sessionCount())
        .withDetail("serverEpoch", runlane.serverEpoch())
        .build();
  }
}
