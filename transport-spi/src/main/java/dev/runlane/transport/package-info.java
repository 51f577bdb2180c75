/**
 * The transport SPI: the contract a host implements for its sockets, so Runlane can route, sequence
 * and deliver a run's events over WebSocket, SSE or anything else.
 *
 * <p>A host implements {@link dev.runlane.transport.Connection} for each accepted socket, registers
 * it with Runlane (which returns an {@link dev.runlane.transport.InboundHandler}) and forwards
 * inbound frames and the close to that handler. Every obligation is a numbered rule below; the
 * conformance kit ({@code runlane-tck}) has one test per rule, named by its id, and {@code
 * docs/reference/transport-spi.md} mirrors this list.
 *
 * <h2>T1 Identity</h2>
 *
 * <ul>
 *   <li><b>T1.1</b> {@code id()} is stable for the connection's life and unique among live
 *       connections of one Runlane instance.
 *   <li><b>T1.2</b> {@code principal()} is the principal the host authenticated before
 *       registering the connection; it never changes.
 * </ul>
 *
 * <h2>T2 Sending</h2>
 *
 * <ul>
 *   <li><b>T2.1</b> {@code send} must not block: it queues the write and returns. (A blocking write
 *       in one slow client's send stalls everyone who shares the calling thread.)
 *   <li><b>T2.2</b> The callback fires exactly once per send: {@code succeeded()} or {@code
 *       failed(cause)}, never both, never twice, never neither.
 *   <li><b>T2.3</b> The callback must not run while the transport holds a lock that its own {@code
 *       send}, {@code close} or {@code isOpen} needs; it may run on the calling thread (a
 *       synchronous completion) or on any other.
 *   <li><b>T2.4</b> The payload is shared by all recipients of an event: the transport must not
 *       mutate it.
 *   <li><b>T2.5</b> Runlane never calls {@code send} concurrently for one connection, and keeps at
 *       most a configured number of sends in flight; the transport need not be thread-safe for
 *       concurrent sends.
 *   <li><b>T2.6</b> Frames reach the peer in the order of their {@code send} calls, each intact.
 *       {@code succeeded()} is reported only after the frame was handed to the socket.
 *   <li><b>T2.7</b> With capability {@code BATCHING}, the frames sent before a {@code flush()} may
 *       go out in fewer writes: {@code flush()} writes every one of them, does not block and never
 *       throws, also once closed, and a close writes them before the close frame. A send may
 *       report success once its frame is in the batch; rules T2.2 and T2.6 hold as without
 *       batching.
 * </ul>
 *
 * <h2>T3 Open state</h2>
 *
 * <ul>
 *   <li><b>T3.1</b> {@code isOpen()} turns false once, when the connection can no longer send, and
 *       never back.
 *   <li><b>T3.2</b> A {@code send} after close writes nothing and completes with {@code failed}.
 * </ul>
 *
 * <h2>T4 Closing</h2>
 *
 * <ul>
 *   <li><b>T4.1</b> {@code close(reason)} delivers the code and reason to the peer after the frames
 *       already handed to the socket.
 *   <li><b>T4.2</b> {@code close} and {@code terminate} must not block.
 *   <li><b>T4.3</b> {@code close} and {@code terminate} are idempotent; a second call is a no-op.
 *   <li><b>T4.4</b> {@code terminate()} drops the socket at once, without waiting for the peer.
 *   <li><b>T4.5</b> Whoever closes, the host reports the close once to the {@code InboundHandler}.
 * </ul>
 *
 * <h2>T5 Capabilities and payloads</h2>
 *
 * <ul>
 *   <li><b>T5.1</b> A connection declares only capabilities it honours. One that declares {@code
 *       JOINED_MESSAGES} reads nothing in a text frame's payload (an SSE adapter that derives event
 *       ids from it must not declare it).
 *   <li><b>T5.2</b> Text payloads arrive as text messages and binary payloads as binary messages,
 *       byte for byte; a transport without {@code BINARY} is never sent binary payloads. A text
 *       payload is written from its UTF-8 bytes ({@code Payload.Text#utf8()}, computed once for all
 *       recipients), never encoded again per send.
 * </ul>
 *
 * <h2>T6 Stream transport (capability {@code STREAM_TRANSPORT})</h2>
 *
 * <ul>
 *   <li><b>T6.1</b> A second transport for the stream lane is registered with the primary
 *       connection's id and generation; the host passes them through as the client sent them.
 *   <li><b>T6.2</b> If either transport of a pair closes, the host reports that close; Runlane
 *       tears down the pair so that a run's frames never travel over two transports at once.
 * </ul>
 *
 * <h2>T7 Inbound</h2>
 *
 * <ul>
 *   <li><b>T7.1</b> Inbound frames of one connection are delivered to its {@code InboundHandler} in
 *       arrival order and never concurrently.
 *   <li><b>T7.2</b> {@code onClose} is called exactly once per connection, after its last {@code
 *       onFrame}.
 *   <li><b>T7.3</b> (Runlane's side) {@code InboundHandler} methods never throw into the host.
 * </ul>
 *
 * <h2>T8 Liveness</h2>
 *
 * <ul>
 *   <li><b>T8.1</b> A transport with an idle timeout of its own keeps it above {@code
 *       InboundHandler.idleTimeout()}, so that Runlane closes a quiet connection first, with its
 *       resumable 4001.
 *   <li><b>T8.2</b> With capability {@code TRANSPORT_PING}, {@code ping()} sends a transport-level
 *       ping that the peer answers without application code, without blocking and never throwing;
 *       the host reports every pong through {@code InboundHandler.onActivity()}, on the connection's
 *       serial inbound path.
 * </ul>
 *
 * <p><b>Thread safety:</b> every type here states its own contract; records and enums are
 * immutable.
 */
@NullMarked
package dev.runlane.transport;

import org.jspecify.annotations.NullMarked;
