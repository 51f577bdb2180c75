/**
 * Runlane's JSON wire protocol: {@link dev.runlane.protocol.json.JsonWireCodec}, a {@link
 * dev.runlane.codec.WireCodec} on Jackson that any transport adapter can use. Outbound frames are JSON
 * objects told apart by {@code kind}; inbound commands by {@code type}. The protocol is specified in
 * {@code docs/reference/protocol.md}.
 *
 * <pre>{@code
 * Runlane runlane = Runlane.builder().codec(new JsonWireCodec()).runtime(agent).build();
 * }</pre>
 *
 * <p><b>Thread safety:</b> each type states its own; the codec is safe for concurrent use.
 */
@NullMarked
package dev.runlane.protocol.json;

import org.jspecify.annotations.NullMarked;
