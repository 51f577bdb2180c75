package dev.runlane;

/**
 * How a connection becomes a recipient of a run.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public enum AttachMode {
  /** The connection is added; existing recipients stay (the default: a second tab follows too). */
  ADDITIVE,
  /**
   * The connection replaces the same principal's other connections as recipients of that run
   * (they stay open and keep their other runs). Other principals' recipients stay.
   */
  TAKEOVER
}
