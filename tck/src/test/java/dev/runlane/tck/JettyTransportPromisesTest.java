package dev.runlane.tck;

/** The kit's end-to-end promises hold with Runlane over the Jetty 12.1 adapter and real sockets. */
class JettyTransportPromisesTest extends TransportPromisesKit {
  @Override
  protected TransportFixture createFixture() {
    return new JettyFixture();
  }
}
