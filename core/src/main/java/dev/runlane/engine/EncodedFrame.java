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
 * <p>A frame a run publishes may carry its publish time ({@link #publishedAtNanos()}, from the
 * Runlane's {@code TimeSource}), taken only when the metrics listener times deliveries ({@code
 * RunlaneMetrics#timesDeliveries()}). It stays on this node: an engine that crosses a process
 * boundary need not store it, and core stamps a frame it receives from another node's run when the
 * frame arrives here ({@link #stampedAt(long)}), so a remote frame's delivery latency is measured
 * from its arrival on this node, not from its publish on the other.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public final class EncodedFrame {
  private final Frame frame;
  private final int bytes;
  private final @Nullable String coalesceKey;
  private final @Nullable FrameMeta meta;
  private final boolean stamped;
  private final long publishedAtNanos;

  /** Wraps an encoded frame; {@code coalesceKey} is non-null only for coalescable status frames. */
  public EncodedFrame(Frame frame, @Nullable String coalesceKey) {
    this(frame, coalesceKey, null);
  }

  /**
   * Wraps an encoded frame with its metadata (what a run writes to its log carries it; an engine
   * rebuilds frames read from its store with this constructor).
   */
  public EncodedFrame(Frame frame, @Nullable String coalesceKey, @Nullable FrameMeta meta) {
    this(frame, coalesceKey, meta, false, 0);
  }

  /**
   * Wraps a frame a run publishes, with its publish time ({@code TimeSource#nanoTime()} when the
   * run published it).
   */
  public EncodedFrame(Frame frame, @Nullable String coalesceKey, @Nullable FrameMeta meta, long publishedAtNanos) {
    this(frame, coalesceKey, meta, true, publishedAtNanos);
  }

  private EncodedFrame(
      Frame frame, @Nullable String coalesceKey, @Nullable FrameMeta meta, boolean stamped, long publishedAtNanos) {
    this.frame = Objects.requireNonNull(frame, "frame");
    this.bytes = frame.payload().sizeInBytes();
    this.coalesceKey = coalesceKey;
    this.meta = meta;
    this.stamped = stamped;
    this.publishedAtNanos = publishedAtNanos;
  }

  /** This frame with {@code publishedAtNanos} as its publish time (the frame itself is shared). */
  public EncodedFrame stampedAt(long publishedAtNanos) {
    return new EncodedFrame(frame, coalesceKey, meta, true, publishedAtNanos);
  }

  /** Whether the frame carries a publish time; see {@link #publishedAtNanos()}. */
  public boolean isStamped() {
    return stamped;
  }

  /**
   * When the run published the frame, in {@code TimeSource#nanoTime()} nanoseconds (or when this
   * node received it from another node's run); meaningful only if {@link #isStamped()}.
   */
  public long publishedAtNanos() {
    return publishedAtNanos;
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
