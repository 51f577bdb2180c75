package dev.runlane.spring.boot.autoconfigure;

import dev.runlane.Runlane;
import dev.runlane.micrometer.MicrometerRunlaneMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * Registers {@link MicrometerRunlaneMetrics} (the {@code runlane.*} meters) when {@code
 * runlane-micrometer} is on the class path and a {@link MeterRegistry} bean exists, e.g. with
 * {@code spring-boot-starter-actuator}.
 *
 * <p><b>Thread safety:</b> Spring calls it once, at start-up.
 */
@AutoConfiguration(
    before = RunlaneAutoConfiguration.class,
    afterName = {
      "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
      "org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration",
      "org.springframework.boot.actuate.autoconfigure.metrics.CompositeMeterRegistryAutoConfiguration",
      "org.springframework.boot.actuate.autoconfigure.metrics.export.simple.SimpleMetricsExportAutoConfiguration"
    })
@ConditionalOnClass({MeterRegistry.class, MicrometerRunlaneMetrics.class, Runlane.class})
@org.springframework.boot.context.properties.EnableConfigurationProperties(RunlaneProperties.class)
public class RunlaneMetricsAutoConfiguration {

  /** The Micrometer bridge, handed to the {@code Runlane} bean as its metrics listener. */
  @Bean
  @ConditionalOnBean(MeterRegistry.class)
  @ConditionalOnMissingBean
  public MicrometerRunlaneMetrics micrometerRunlaneMetrics(MeterRegistry registry, RunlaneProperties properties) {
    return new MicrometerRunlaneMetrics(
        registry, io.micrometer.core.instrument.Tags.empty(), properties.getMetrics().isDeliveryLatency());
  }

  /** Binds the gauges ({@code runlane.connections}, {@code runlane.runs}, …) once Runlane exists. */
  @Bean
  @ConditionalOnBean(MeterRegistry.class)
  public SmartInitializingSingleton runlaneGauges(
      ObjectProvider<MicrometerRunlaneMetrics> metrics, ObjectProvider<Runlane> runlane) {
    return () -> metrics.ifAvailable(m -> runlane.ifAvailable(m::bindTo));
  }
}
