package dev.runlane.codec;

import dev.runlane.ErrorCode;
import dev.runlane.engine.FrameMeta;
import dev.runlane.transport.Payload;
import org.jspecify.annotations.Nullable;

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
 *
 * <p><b>Protocol versions.</b> Protocol 1 is what {@link #encode} writes. A codec that knows a
 * later, more compact protocol says so in {@link #maxProtocol()}; a client asks for it with {@link
 * Inbound.Hello} and Runlane answers with {@link Outbound.Hello}. Frames are still encoded once, in
 * protocol 1; at send time Runlane asks {@link #reshape} for a newer protocol's form of a run's
 * frame, at most once per frame per node (the result is cached on the frame), so the live and the
 * replayed frame stay the same bytes in each protocol.
 */
public interface WireCodec extends dev.runlane.engine.FrameReshaper {

  /** Encodes one outbound message. */
  Payload encode(Outbound message);

  /**
   * Decodes one inbound frame.
   *
   * @throws ProtocolException with {@link ErrorCode#INVALID_PAYLOAD}, {@link
   *     ErrorCode#UNKNOWN_MESSAGE_TYPE}, {@link ErrorCode#SESSION_ID_REQUIRED}, … for bad input
   */
  Inbound decode(Payload frame) throws ProtocolException;

  /**
   * The newest protocol this codec can {@link #reshape} frames to; 1 (the default) means only
   * {@link #encode}'s form. Must be constant.
   */
  default int maxProtocol() {
    return 1;
  }

  /**
   * The form of an encoded run frame in {@code protocol}, or null if it travels as {@code encoded}
   * unchanged (the default, for every frame). Runlane calls it only for frames that carry a {@link
   * FrameMeta} of {@link FrameMeta.Type#EVENT} (including {@code run.started}), only for {@code 1 <
   * protocol <= maxProtocol()}, at send time, outside any lock, and at most once per frame per node
   * in the normal case (the result is cached on the frame; two threads racing may both call it,
   * so it must be a pure function of its arguments). It must work from the bytes alone: a frame
   * rebuilt from a cluster store has only its payload and meta.
   *
   * @param encoded what {@link #encode} wrote for the event
   * @param meta the frame's metadata (its seq)
   * @param protocol the connection's negotiated protocol
   * @return the payload to send instead, or null to send {@code encoded}
   */
  @Override
  default @Nullable Payload reshape(Payload encoded, FrameMeta meta, int protocol) {
    return null;
  }

  /**
   * The oldest protocol whose clients accept several messages joined into one text frame by
   * {@link #join}, or 0 (the default) if no protocol of this codec joins. Must be constant and
   * at most {@link #maxProtocol()}. It takes effect per connection through the client's hello
   * (every connection starts on protocol 1), from the first drain after it.
   */
  default int joinsFrom() {
    return 0;
  }

  /**
   * The protocol whose {@linkplain #reshape frame forms} {@code protocol} uses: protocols that
   * differ only in how messages are framed (a joining protocol and the one before it) share one
   * form, derived once per frame. The default, {@code protocol} itself, gives each its own.
   */
  default int formOf(int protocol) {
    return protocol;
  }

  /**
   * One payload carrying {@code parts} (messages queued for one connection at the same moment,
   * each in the connection's protocol, in order) for a client on protocol {@link #joinsFrom()} or
   * later, or null to send them one by one (the default; also right for a part that cannot be
   * joined, such as a binary one). Called at send time, outside any lock, only for connections
   * whose transport declares {@code JOINED_MESSAGES}, with at least two parts of one lane whose
   * sizes plus one byte between each two stay within Runlane's cap (1,000 bytes): a join that adds
   * more than one byte per part may exceed it. An exception is logged and the parts go one by one.
   *
   * @param parts the messages, in the order they would have been sent
   * @return the joined payload, or null
   */
  default @Nullable Payload join(java.util.List<Payload> parts) {
    return null;
  }
}
