package dev.runlane.tck;

/** The kit's SPI rules pass against the Jetty 12.1 adapter over real sockets. */
class JettyTransportRulesTest extends TransportRulesKit {
  @Override
  protected TransportFixture createFixture() {
    return new JettyFixture();
  }
}
