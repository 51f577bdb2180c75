package dev.runlane.transport;

import java.util.Objects;

/**
 * One outbound frame: an already-encoded {@link Payload} and the {@link Lane} it travels on.
 *
 * <p>The transport writes the payload as one message (a WebSocket text or binary message, an SSE
 * event, …). It must not inspect or re-encode it; routing and sequencing happened before.
 *
 * <p><b>Thread safety:</b> immutable.
 *
 * @param lane the lane: control or stream
 * @param payload the encoded bytes
 */
public record Frame(Lane lane, Payload payload) {
  public Frame {
    Objects.requireNonNull(lane, "lane");
    Objects.requireNonNull(payload, "payload");
  }

  /** A control-lane text frame. */
  public static Frame control(String text) {
    return new Frame(Lane.CONTROL, Payload.text(text));
  }

  /** A stream-lane text frame. */
  public static Frame stream(String text) {
    return new Frame(Lane.STREAM, Payload.text(text));
  }
}
