package dev.runlane.codec;

import dev.runlane.ErrorCode;
import dev.runlane.transport.Payload;

/**
 * The wire format: encodes what Runlane sends and decodes what clients send. Core knows no format;
 * {@code runlane-protocol-json} ships a JSON codec, the testkit a tiny text one.
 *
 * <p>{@link #encode} is called <em>once</em> per event; the same payload goes to every recipient
 * and is kept in the replay ring, so the live and the replayed frame are identical. For sequenced
 * events it runs under the run's writer lock (that is what makes seq order and the ring agree), so
 * it must be a pure, fast, non-blocking function of its argument.
 *
 * <p><b>Thread safety:</b> must be safe for concurrent use. An exception from {@link #encode}
 * drops that one message (logged, the event takes no seq); from {@link #decode} other than {@link
 * ProtocolException}, it becomes {@link ErrorCode#INVALID_PAYLOAD} on that connection.
 */
public interface WireCodec {

  /** Encodes one outbound message. */
  Payload encode(Outbound message);

  /**
   * Decodes one inbound frame.
   *
   * @throws ProtocolException with {@link ErrorCode#INVALID_PAYLOAD}, {@link
   *     ErrorCode#UNKNOWN_MESSAGE_TYPE}, {@link ErrorCode#SESSION_ID_REQUIRED}, … for bad input
   */
  Inbound decode(Payload frame) throws ProtocolException;
}
