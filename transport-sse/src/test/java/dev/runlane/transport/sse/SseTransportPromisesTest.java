package dev.runlane.transport.sse;

import dev.runlane.tck.TransportFixture;
import dev.runlane.tck.TransportPromisesKit;

/** Runlane's end-to-end promises hold over the SSE transport on embedded Tomcat. */
class SseTransportPromisesTest extends TransportPromisesKit {
  @Override
  protected TransportFixture createFixture() {
    return new SseFixture();
  }
}
