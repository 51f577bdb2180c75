package dev.runlane.transport;

/**
 * An optional ability a connection declares through {@link Connection#capabilities()}. Runlane uses
 * a capability only when declared; the TCK reports tests of undeclared capabilities as skipped.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public enum Capability {
  /** The transport can carry {@link Payload.Binary} payloads (rule T5.2). */
  BINARY,
  /**
   * The peer can open a second transport dedicated to the {@link Lane#STREAM} lane, paired with
   * this one by a connection generation (rule T6).
   */
  STREAM_TRANSPORT
}
