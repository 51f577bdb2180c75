package dev.runlane.transport;

/**
 * An optional ability a connection declares through {@link Connection#capabilities()}. Runlane uses
 * a capability only when declared; the TCK reports tests of undeclared capabilities as skipped.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public enum Capability {
  /** The transport can carry {@link Payload.Binary} payloads (rule T5.2). */
  BINARY,
  /**
   * The peer can open a second transport dedicated to the {@link Lane#STREAM} lane, paired with
   * this one by a connection generation (rule T6).
   */
  STREAM_TRANSPORT,
  /**
   * The transport can send a transport-level ping ({@link Connection#ping()}) that the peer answers
   * by itself, without application code: a WebSocket ping, which every browser answers with a
   * pong. The host reports pongs through {@link InboundHandler#onActivity()} (rule T8.2). Runlane
   * then checks a quiet connection's liveness with transport pings instead of app-level
   * heartbeats the client must answer.
   */
  TRANSPORT_PING,
  /**
   * The transport may gather the frames of several sends into fewer socket writes, holding them
   * until {@link Connection#flush()} (rule T2.7). Runlane calls {@code flush()} after the last send
   * of each drain of a connection's outbox, so a lone frame goes out at once and a backlog goes out
   * in as few writes as the transport allows.
   */
  BATCHING,
  /**
   * The transport hands every text frame to its peer as one opaque message and reads nothing in it,
   * so Runlane may send one text frame that joins several messages queued at the same moment, for
   * a connection whose client negotiated a protocol that joins (see {@code WireCodec.joinsFrom()}
   * in core; the JSON codec's protocol 3). A WebSocket adapter qualifies; the SSE adapter does not,
   * because it derives each event's id from the one message it carries. Byte integrity, line feeds
   * included, is rule T5.2 for every transport; nothing else changes for the transport.
   */
  JOINED_MESSAGES
}
