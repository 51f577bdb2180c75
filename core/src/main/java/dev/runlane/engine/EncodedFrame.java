package dev.runlane.engine;

import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.Payload;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One message encoded once by the codec, shared by every recipient's outbox and, for sequenced
 * events, by the run's log: the frame, its size, and for coalescable status frames the key under
 * which a newer one replaces it, and, for frames a run writes to its log, the {@link FrameMeta}
 * that lets another node track the run without decoding the payload.
 *
 * <p>A frame may also hold its form in a newer wire protocol ({@link #frameFor}), derived from the
 * payload at most once and kept here, so every recipient, the ring and a replay send the same
 * bytes in each protocol.
 *
 * <p>A frame a run publishes may carry its publish time ({@link #publishedAtNanos()}, from the
 * Runlane's {@code TimeSource}), taken only when the metrics listener times deliveries ({@code
 * RunlaneMetrics#timesDeliveries()}). It stays on this node: an engine that crosses a process
 * boundary need not store it, and core stamps a frame it receives from another node's run when the
 * frame arrives here ({@link #stampedAt(long)}), so a remote frame's delivery latency is measured
 * from its arrival on this node, not from its publish on the other.
 *
 * <p><b>Thread safety:</b> immutable in value; the cached protocol form is computed racily but
 * idempotently (two threads may both derive it; either result is the same bytes) and published
 * through a volatile field.
 */
public final class EncodedFrame {
  private static final Logger LOG = LoggerFactory.getLogger(EncodedFrame.class);
  private final Frame frame;
  private final int bytes;
  private final @Nullable String coalesceKey;
  private final @Nullable FrameMeta meta;
  /**
   * The form last asked for by {@link #frameFor} (its protocol and frame, which is {@link #frame}
   * itself when the codec keeps it unchanged); null until asked. Costs one reference per frame,
   * plus the derived payload once a newer-protocol recipient was sent the frame.
   */
  private volatile @Nullable Variant variant;

  /** A derived form: which protocol, and the frame to send in it. */
  private record Variant(int protocol, Frame frame) {}
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

  /** The frame handed to the transport (protocol 1, the codec's {@code WireCodec#encode} form). */
  public Frame frame() {
    return frame;
  }

  /**
   * The frame to hand to a connection that speaks {@code protocol}: {@link #frame()} for protocol
   * 1 and for every frame that is not a run's sequenced, non-terminal event; otherwise the
   * codec's {@code WireCodec#reshape} of the payload, derived on first use and cached (a codec
   * that returns null or throws leaves the protocol-1 frame, also cached). Budgets keep counting
   * {@link #bytes()}, the protocol-1 size.
   */
  public Frame frameFor(int protocol, FrameReshaper codec) {
    FrameMeta m = meta;
    if (protocol <= 1 || m == null || m.type() != FrameMeta.Type.EVENT) {
      return frame;
    }
    Variant v = variant;
    if (v != null && v.protocol() == protocol) {
      return v.frame();
    }
    Frame out = frame;
    try {
      Payload p = codec.reshape(frame.payload(), m, protocol);
      if (p != null) {
        out = new Frame(frame.lane(), p);
      }
    } catch (RuntimeException e) {
      // a codec that cannot reshape this frame: the protocol-1 form is valid in every protocol
      LOG.warn("codec failed to reshape seq {} to protocol {}; sent as protocol 1", m.seq(), protocol, e);
      out = frame;
    }
    variant = new Variant(protocol, out);
    return out;
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
