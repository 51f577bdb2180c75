package dev.runlane.transport.spring;

import dev.runlane.tck.TransportFixture;
import dev.runlane.tck.TransportRulesKit;

/** The kit's SPI rules pass against the Spring WebSocket transport on embedded Tomcat. */
class SpringTransportRulesTest extends TransportRulesKit {
  @Override
  protected TransportFixture createFixture() {
    return new TomcatFixture();
  }
}
