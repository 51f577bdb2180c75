package dev.runlane.engine;

import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One message encoded once by the codec, shared by every recipient's outbox and, for sequenced
 * events, by the run's log: the frame, its size, and for coalescable status frames the key under
 * which a newer one replaces it, and, for frames a run writes to its log, the {@link FrameMeta}
 * that lets another node track the run without decoding the payload.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public final class EncodedFrame {
  private final Frame frame;
  private final int bytes;
  private final @Nullable String coalesceKey;
  private final @Nullable FrameMeta meta;

  /** Wraps an encoded frame; {@code coalesceKey} is non-null only for coalescable status frames. */
  public EncodedFrame(Frame frame, @Nullable String coalesceKey) {
    this(frame, coalesceKey, null);
  }

  /**
   * Wraps an encoded frame with its metadata (what a run writes to its log carries it; an engine
   * rebuilds frames read from its store with this constructor).
   */
  public EncodedFrame(Frame frame, @Nullable String coalesceKey, @Nullable FrameMeta meta) {
    this.frame = Objects.requireNonNull(frame, "frame");
    this.bytes = frame.payload().sizeInBytes();
    this.coalesceKey = coalesceKey;
    this.meta = meta;
  }

  /** What a run's frame is (type, seq, outcome, approval); null for frames no run writes. */
  public @Nullable FrameMeta meta() {
    return meta;
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
