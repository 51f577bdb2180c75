/**
 * The engine seam: the run log, the run directory, delivery across nodes and command routing.
 * {@link dev.runlane.engine.InMemoryEngine} is the default; a cluster engine implements the same
 * interfaces. An incubating SPI for engine implementers (see {@code docs/design/engine.md}), not
 * for applications.
 */
@NullMarked
package dev.runlane.engine;

import org.jspecify.annotations.NullMarked;
