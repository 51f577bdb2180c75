package dev.runlane.spring.boot.autoconfigure;

import dev.runlane.RunlaneBuilder;
import dev.runlane.Runlane;

/**
 * A bean that adjusts the {@link RunlaneBuilder} after the {@code runlane.*} properties and the
 * discovered beans were applied, before {@code build()}: for settings no property covers (a
 * {@code TimeSource}, a runtime executor).
 *
 * <p><b>Thread safety:</b> called once, on the thread creating the {@code Runlane} bean.
 */
@FunctionalInterface
public interface RunlaneBuilderCustomizer {

  /** Adjusts {@code builder}. */
  void customize(RunlaneBuilder builder);
}
