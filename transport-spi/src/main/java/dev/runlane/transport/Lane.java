package dev.runlane.transport;

/**
 * The lane a frame travels on.
 *
 * <p>{@link #CONTROL} frames (acknowledgements, errors, approvals, notices) overtake queued {@link
 * #STREAM} frames (a run's sequenced events) on the same connection. A connection that declares
 * {@link Capability#STREAM_TRANSPORT} may carry the stream lane on a second transport (rule T6).
 *
 * <p><b>Thread safety:</b> immutable.
 */
public enum Lane {
  /** Latency-sensitive frames that are never queued behind stream frames. */
  CONTROL,
  /** A run's sequenced events; bulk, ordered, resumable. */
  STREAM
}
