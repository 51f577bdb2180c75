package dev.runlane.spring.boot.autoconfigure;

import dev.runlane.Runlane;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * Registers {@link RunlaneHealthIndicator} as the {@code runlane} health contributor when Spring
 * Boot's health support ({@code spring-boot-health}, part of {@code spring-boot-starter-actuator})
 * is on the class path.
 *
 * <p><b>Thread safety:</b> Spring calls it once, at start-up.
 */
@AutoConfiguration(after = RunlaneAutoConfiguration.class)
@ConditionalOnClass(name = "org.springframework.boot.health.contributor.HealthIndicator")
@ConditionalOnBean({Runlane.class, RunlaneLifecycle.class})
public class RunlaneHealthAutoConfiguration {

  /** The {@code runlane} health contributor. */
  @Bean(name = "runlaneHealthIndicator")
  @ConditionalOnMissingBean(name = "runlaneHealthIndicator")
  public RunlaneHealthIndicator runlaneHealthIndicator(Runlane runlane, RunlaneLifecycle lifecycle) {
    return new RunlaneHealthIndicator(runlane, lifecycle);
  }
}
