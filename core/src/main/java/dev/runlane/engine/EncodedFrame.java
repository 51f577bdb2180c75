package dev.runlane.engine;

import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One message encoded once by the codec, shared by every recipient's outbox and, for sequenced
 * events, by the run's log: the frame, its size, and for coalescable status frames the key under
 * which a newer one replaces it.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public final class EncodedFrame {
  private final Frame frame;
  private final int bytes;
  private final @Nullable String coalesceKey;

  /** Wraps an encoded frame; {@code coalesceKey} is non-null only for coalescable status frames. */
  public EncodedFrame(Frame frame, @Nullable String coalesceKey) {
    this.frame = Objects.requireNonNull(frame, "frame");
    this.bytes = frame.payload().sizeInBytes();
    this.coalesceKey = coalesceKey;
  }

  /** The frame handed to the transport. */
  public Frame frame() {
    return frame;
  }

  /** Payload size in bytes (counted against outbox and log budgets). */
  public int bytes() {
    return bytes;
  }

  /** The coalescing key of a status frame, else null. */
  public @Nullable String coalesceKey() {
    return coalesceKey;
  }

  /** The lane the frame travels on. */
  public Lane lane() {
    return frame.lane();
  }
}
