package dev.runlane.tck;

/** The kit's end-to-end promises hold with Runlane over the testkit's in-memory transport. */
class InMemoryTransportPromisesTest extends TransportPromisesKit {
  @Override
  protected TransportFixture createFixture() {
    return new InMemoryFixture();
  }
}
