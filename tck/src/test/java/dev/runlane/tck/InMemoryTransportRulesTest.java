package dev.runlane.tck;

/** The kit's SPI rules pass against the testkit's in-memory transport. */
class InMemoryTransportRulesTest extends TransportRulesKit {
  @Override
  protected TransportFixture createFixture() {
    return new InMemoryFixture();
  }
}
