import org.jspecify.annotations.NullMarked;

/**
 * In-memory transport, manual clock, fault injection and scripted clients for tests that drive
 * Runlane without sockets.
 */
@NullMarked
module dev.runlane.testkit {
  requires transitive dev.runlane;
  requires static transitive org.jspecify;

  exports dev.runlane.testkit;
}
