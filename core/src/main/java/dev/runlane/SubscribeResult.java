package dev.runlane;

import java.util.Objects;

/**
 * The answer to {@link Runlane#subscribe}: the acknowledgement that was sent, or a refusal (also
 * sent to the connection as a protocol error).
 *
 * <p><b>Thread safety:</b> immutable.
 */
public sealed interface SubscribeResult permits SubscribeResult.Acked, SubscribeResult.Refused {

  /** Acknowledged; the replay and the live stream follow the ack. */
  record Acked(SubscribeAck ack) implements SubscribeResult {
    public Acked {
      Objects.requireNonNull(ack, "ack");
    }
  }

  /** Refused with a stable code; nothing was delivered. */
  record Refused(ErrorCode code, String message) implements SubscribeResult {
    public Refused {
      Objects.requireNonNull(code, "code");
      Objects.requireNonNull(message, "message");
    }
  }
}
