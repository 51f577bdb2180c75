package dev.runlane;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.transport.Lane;
import org.jspecify.annotations.Nullable;

/**
 * What an {@link Outbox} reports to its connection, and asks of it at send time.
 *
 * <p><b>Thread safety:</b> called from any thread that drains or completes a send of the outbox,
 * under no lock.
 */
interface OutboxOwner {
  /** The outbox overflowed, a send failed or threw: close the connection with {@code reason}. */
  void deliveryFailed(dev.runlane.transport.CloseReason reason, @Nullable Throwable cause);

  /** A drain pass moved frames from this outbox to the transport: its backlog shrank. */
  default void drained() {}

  /**
   * The frame to send for {@code f}, chosen at send time: its form in the connection's wire
   * protocol (see {@link EncodedFrame#frameFor}). Called by the drain loop, under no lock.
   */
  default dev.runlane.transport.Frame wire(EncodedFrame f) {
    return f.frame();
  }

  /** A live frame's send succeeded {@code latencyNanos} after its publish (timed outboxes only). */
  default void deliveryLatency(Lane lane, long latencyNanos) {}

  /**
   * Whether the connection's client accepts joined messages ({@link
   * dev.runlane.codec.WireCodec#joinsFrom()}); read once per drain pass.
   */
  default boolean joins() {
    return false;
  }

  /**
   * One payload for {@code parts} (their wire forms, in order), or null to send them one by one:
   * the codec's {@link dev.runlane.codec.WireCodec#join}. Called by the drain loop, under no lock.
   */
  default dev.runlane.transport.@Nullable Payload join(java.util.List<dev.runlane.transport.Payload> parts) {
    return null;
  }
}
