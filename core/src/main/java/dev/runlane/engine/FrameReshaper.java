package dev.runlane.engine;

import dev.runlane.transport.Payload;
import org.jspecify.annotations.Nullable;

/**
 * Derives a newer wire protocol's form of an encoded run frame: what {@link EncodedFrame#frameFor}
 * asks for. The codec ({@code dev.runlane.codec.WireCodec}) is one; the engine needs only this, so
 * it does not depend on the codec package.
 *
 * <p><b>Thread safety:</b> implementations must be safe for concurrent use and pure: two threads
 * may derive the same frame's form at once.
 */
@FunctionalInterface
public interface FrameReshaper {

  /**
   * The form of {@code encoded} in {@code protocol}, or null if it travels unchanged.
   *
   * @param encoded the protocol-1 payload
   * @param meta the frame's metadata
   * @param protocol the protocol whose form is asked for, above 1
   */
  @Nullable Payload reshape(Payload encoded, FrameMeta meta, int protocol);
}
