package dev.runlane.transport.spring;

import dev.runlane.tck.TransportFixture;
import dev.runlane.tck.TransportPromisesKit;

/** Runlane's end-to-end promises hold over the Spring WebSocket transport on embedded Tomcat. */
class SpringTransportPromisesTest extends TransportPromisesKit {
  @Override
  protected TransportFixture createFixture() {
    return new TomcatFixture();
  }
}
