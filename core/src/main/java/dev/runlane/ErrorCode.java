package dev.runlane;

/**
 * Stable protocol error codes, sent to a connection in a {@link dev.runlane.codec.Outbound.ProtocolError}
 * and carried by every {@link Result.Refused}. Clients
 * switch on the code, never on the message. Each code has an anchor in {@code
 * docs/reference/error-codes.md}.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public enum ErrorCode {
  /** A command that needs a session id came without one. */
  SESSION_ID_REQUIRED,
  /** The session does not exist (or the authorizer says it does not, for this principal). */
  SESSION_NOT_FOUND,
  /** The session already has a running run; wait for its end or abort it. */
  RUN_IN_PROGRESS,
  /** There is no running run to abort (or to attach to). */
  NO_ACTIVE_RUN,
  /** The principal may not do this to this session or run. */
  FORBIDDEN,
  /** The inbound message's type is not one the protocol knows. */
  UNKNOWN_MESSAGE_TYPE,
  /** The inbound message is malformed or a field has a wrong type or value. */
  INVALID_PAYLOAD,
  /** The inbound message is larger than the configured maximum. */
  PAYLOAD_TOO_LARGE,
  /** The approval id is unknown, or the approval was already resolved. */
  UNKNOWN_APPROVAL,
  /** The connection follows the maximum number of sessions already. */
  TOO_MANY_SUBSCRIPTIONS,
  /** The server does not support this command (e.g. no runtime is configured to start runs). */
  UNSUPPORTED,
  /** No live connection has this id (a host call naming a closed or unknown connection). */
  UNKNOWN_CONNECTION,
  /** No such run is held: it never existed here, or it was evicted after its retention. */
  UNKNOWN_RUN,
  /** The run has ended (or an abort or expiry is ending it): the call lost the race and did nothing. */
  RUN_ENDED,
  /** The codec could not encode the event; it was dropped and took no seq. */
  ENCODE_FAILED,
  /** The encoded event is larger than the configured maximum; it was dropped and took no seq. */
  EVENT_TOO_LARGE,
  /** The connection sent commands faster than its budget allows; the command was not executed. */
  RATE_LIMITED,
  /** Runlane is shutting down; reconnect (to another node) and resume. */
  SHUTTING_DOWN,
  /**
   * The engine's store (a cluster engine's Redis) cannot be reached: the start or publish did
   * nothing; retry later. The node recovers by itself when the store returns.
   */
  ENGINE_UNAVAILABLE,
  /** Something failed on the server; the connection stays usable. */
  INTERNAL_ERROR;

  /** The anchor of this code in {@code docs/reference/error-codes.md}, e.g. {@code #run_in_progress}. */
  public String docsAnchor() {
    return "#" + name().toLowerCase(java.util.Locale.ROOT);
  }
}
