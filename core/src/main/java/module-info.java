import org.jspecify.annotations.NullMarked;

/**
 * Runlane's engine and embedding API.
 *
 * <ul>
 *   <li>{@code dev.runlane}: the embedding API (start at {@code Runlane}); the engine parts in this
 *       package are package-private, and the package is not opened, so no consumer reaches them,
 *       not even by reflection.
 *   <li>{@code dev.runlane.codec}: the wire codec SPI, implemented by {@code dev.runlane.protocol.json}
 *       and the testkit.
 *   <li>{@code dev.runlane.engine}: the engine seam, an incubating SPI for engine implementers (see
 *       {@code docs/design/engine.md}), not for applications.
 * </ul>
 */
@NullMarked
module dev.runlane {
  requires transitive dev.runlane.transport;
  requires static transitive org.jspecify;
  requires org.slf4j;

  exports dev.runlane;
  exports dev.runlane.codec;
  exports dev.runlane.engine;
}
