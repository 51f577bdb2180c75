/**
 * The codec SPI: the wire format between Runlane and its clients, apart from the embedding API.
 *
 * <p>A {@link dev.runlane.codec.WireCodec} turns every {@link dev.runlane.codec.Outbound} message
 * Runlane sends into one encoded {@link dev.runlane.transport.Payload} (once per event, shared by
 * every recipient and the replay log) and every inbound frame into an {@link
 * dev.runlane.codec.Inbound} command. {@code runlane-protocol-json} implements it with JSON; the
 * testkit ships a small text codec. Hosts pick one on {@link dev.runlane.Runlane#builder()}.
 */
@NullMarked
package dev.runlane.codec;

import org.jspecify.annotations.NullMarked;
