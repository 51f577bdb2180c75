package dev.runlane.transport;

import java.util.Objects;

/**
 * A close code and a human-readable reason, as sent to the peer (rule T4).
 *
 * <p>Codes follow WebSocket close codes (RFC 6455 §7.4); Runlane's own reasons use the private
 * 4000–4999 range and are stable. A client reacts by code, never by reason text: see {@code
 * docs/concepts/delivery.md} for what each code asks of a client.
 *
 * <p><b>Thread safety:</b> immutable.
 *
 * @param code the close code, 1000–4999
 * @param reason a short reason; at most 123 UTF-8 bytes travel in a WebSocket close frame
 */
public record CloseReason(int code, String reason) {

  /** 1000: normal closure, e.g. the host shut the connection down on purpose. */
  public static final CloseReason NORMAL = new CloseReason(1000, "normal closure");

  /** 1001: the server is shutting down; reconnect to another node (or later) and resume. */
  public static final CloseReason GOING_AWAY = new CloseReason(1001, "server going away");

  /** 1011: an unexpected server error; reconnect and resume. */
  public static final CloseReason INTERNAL_ERROR = new CloseReason(1011, "internal error");

  /**
   * 4000: the connection fell behind (its outbox overflowed or a send stalled). Nothing was
   * skipped: reconnect and subscribe with your last seq to get exactly what you missed.
   */
  public static final CloseReason SLOW_CONSUMER =
      new CloseReason(4000, "slow consumer: reconnect and resume from last seq");

  /**
   * 4001: no inbound traffic (not a frame, not a pong) within the idle timeout, though Runlane
   * probed the connection. Reconnect and resume.
   */
  public static final CloseReason IDLE_TIMEOUT = new CloseReason(4001, "idle timeout");

  /**
   * 4002: the paired stream transport of this connection died, so the pair was torn down to keep
   * a run's frames on one path. Reconnect both and resume.
   */
  public static final CloseReason STREAM_TRANSPORT_LOST =
      new CloseReason(4002, "stream transport lost: reconnect and resume");

  /** 4003: the stream transport's pairing was refused (stale generation or unknown connection). */
  public static final CloseReason STALE_STREAM_TRANSPORT =
      new CloseReason(4003, "stale or unknown stream transport pairing");

  /** 4004: a send to this connection failed or threw; reconnect and resume. */
  public static final CloseReason SEND_FAILED = new CloseReason(4004, "send failed");

  /**
   * Runlane closed a connection that kept sending commands over its budget after being answered
   * {@code RATE_LIMITED}; the client may reconnect and resume after a back-off.
   */
  public static final CloseReason RATE_LIMITED = new CloseReason(4029, "command rate limit exceeded");

  /** 4401: the connection's credentials (e.g. a stream ticket) were refused. Do not retry as is. */
  public static final CloseReason UNAUTHORIZED = new CloseReason(4401, "unauthorized");

  public CloseReason {
    if (code < 1000 || code > 4999) {
      throw new IllegalArgumentException("close code out of range 1000..4999: " + code);
    }
    Objects.requireNonNull(reason, "reason");
  }

  /**
   * Whether a client should reconnect and resume after this close: everything but 1000, 4003 (a
   * refused stream pairing; the primary stays usable) and 4401.
   */
  public boolean resumable() {
    return code != NORMAL.code && code != UNAUTHORIZED.code && code != STALE_STREAM_TRANSPORT.code;
  }
}
