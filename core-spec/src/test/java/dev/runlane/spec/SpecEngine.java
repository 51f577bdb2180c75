package dev.runlane.spec;

import dev.runlane.Runlane;
import dev.runlane.RunlaneBuilder;
import dev.runlane.engine.Engine;
import dev.runlane.engine.InMemoryEngine;
import dev.runlane.testkit.SharedMemoryCluster;
import java.util.List;
import java.util.ServiceLoader;

/**
 * The engine the behaviour spec runs on. Every spec test that builds a {@link Runlane} builds it
 * through {@link #builder()}, so the same test classes run against another engine: a module that
 * implements the engine seam puts this test-jar on its test class path, registers its factory in
 * {@code META-INF/services/dev.runlane.spec.SpecEngine} (test resources) and runs the spec with
 * surefire's {@code dependenciesToScan} (see {@code core-spec/README.md}).
 *
 * <p>Which engine: {@code -Drunlane.spec.engine=NAME} picks a registered factory (or a built-in:
 * {@code in-memory}, {@code shared-memory}) by {@link #name()}; otherwise the one registered
 * factory; otherwise {@link InMemoryEngine}.
 *
 * <p><b>Thread safety:</b> {@link #newEngine()} may be called from any test thread.
 */
public interface SpecEngine {

  /** A new engine for one Runlane (the Runlane closes it). */
  Engine newEngine();

  /** The name {@code -Drunlane.spec.engine} selects it by. */
  String name();

  /**
   * Whether the engine's store keeps ended runs itself, by its own wall-clock expiry, beyond the
   * node's eviction: a resume after the node evicted a run finds it in the store. Tests that drive
   * retention with a {@code ManualTimeSource} and expect {@code UNKNOWN_RUN} after it opt out.
   */
  default boolean durable() {
    return false;
  }

  /** The default: every run in this JVM. */
  SpecEngine IN_MEMORY =
      new SpecEngine() {
        @Override
        public Engine newEngine() {
          return new InMemoryEngine();
        }

        @Override
        public String name() {
          return "in-memory";
        }
      };

  /** A one-node {@link SharedMemoryCluster}: a durable store, mirrors after local eviction. */
  SpecEngine SHARED_MEMORY =
      new SpecEngine() {
        @Override
        public Engine newEngine() {
          return SharedMemoryCluster.standalone();
        }

        @Override
        public String name() {
          return "shared-memory";
        }

        @Override
        public boolean durable() {
          return true;
        }
      };

  /** The engine this run of the spec uses. */
  static SpecEngine current() {
    return Holder.CURRENT;
  }

  /** {@code Runlane.builder()} on the current engine. */
  static RunlaneBuilder builder() {
    return Runlane.builder().engine(current().newEngine());
  }

  /** The reason a test that needs an in-JVM engine gives when it opts out. */
  String MANUAL_RETENTION = "relies on retention driven by a ManualTimeSource; a durable engine keeps ended runs by wall-clock expiry";

  /** Resolves the engine once per JVM. */
  final class Holder {
    static final SpecEngine CURRENT = resolve();

    private Holder() {}

    private static SpecEngine resolve() {
      String want = System.getProperty("runlane.spec.engine");
      List<SpecEngine> found = ServiceLoader.load(SpecEngine.class).stream().map(ServiceLoader.Provider::get).toList();
      SpecEngine pick;
      if (want != null && !want.isBlank()) {
        pick =
            found.stream().filter(e -> e.name().equals(want)).findFirst()
                .orElseGet(() -> switch (want) {
                  case "in-memory" -> IN_MEMORY;
                  case "shared-memory" -> SHARED_MEMORY;
                  default -> throw new IllegalStateException("no spec engine named " + want + " (found " + found + ")");
                });
      } else if (found.size() == 1) {
        pick = found.get(0);
      } else if (found.isEmpty()) {
        pick = IN_MEMORY;
      } else {
        throw new IllegalStateException("several spec engines registered; pick one with -Drunlane.spec.engine: " + found);
      }
      System.out.println("core-spec runs on engine: " + pick.name());
      return pick;
    }
  }
}
