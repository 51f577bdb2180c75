import org.jspecify.annotations.NullMarked;

/**
 * The transport conformance kit: JUnit 5 test classes an adapter author extends with one fixture.
 * The kit's nested test classes and methods are package-private, so the package is opened to
 * JUnit, which discovers and runs them by reflection.
 */
@NullMarked
module dev.runlane.tck {
  requires transitive dev.runlane;
  requires dev.runlane.testkit;
  requires static transitive org.jspecify;
  requires transitive org.junit.jupiter.api;
  requires java.net.http;

  exports dev.runlane.tck;
  opens dev.runlane.tck to org.junit.platform.commons;
}
