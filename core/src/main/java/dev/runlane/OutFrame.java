package dev.runlane;

import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import org.jspecify.annotations.Nullable;

/**
 * An encoded frame plus what delivery needs to know about it, created once per message and shared
 * by every recipient's outbox (and, for sequenced events, the replay ring).
 */
final class OutFrame {
  final Frame frame;
  final int bytes;
  /** Non-null for coalescable status frames: the key under which a newer one replaces it. */
  final @Nullable String coalesceKey;

  OutFrame(Frame frame, @Nullable String coalesceKey) {
    this.frame = frame;
    this.bytes = frame.payload().sizeInBytes();
    this.coalesceKey = coalesceKey;
  }

  Lane lane() {
    return frame.lane();
  }
}
