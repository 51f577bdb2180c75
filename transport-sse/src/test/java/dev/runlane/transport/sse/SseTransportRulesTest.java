package dev.runlane.transport.sse;

import dev.runlane.tck.TransportFixture;
import dev.runlane.tck.TransportRulesKit;

/**
 * The kit's SPI rules against the SSE transport on embedded Tomcat. Skipped by the kit, with its
 * reason: the binary tests (SSE carries text; {@code BINARY} is not declared) and the stream
 * transport tests (the SSE stream is the only downstream; {@code STREAM_TRANSPORT} is not declared).
 */
class SseTransportRulesTest extends TransportRulesKit {
  @Override
  protected TransportFixture createFixture() {
    return new SseFixture();
  }
}
