package dev.runlane.tck;

import java.util.Objects;

/**
 * How a {@link ClientPeer}'s connection ended, as the peer saw it.
 *
 * <p><b>Thread safety:</b> immutable.
 *
 * @param code the close code received, or {@value #ABNORMAL} if the connection ended without a
 *     close frame (dropped, failed, or aborted by the peer itself)
 * @param reason the reason received, or a description of the failure
 * @param messagesBefore how many messages the peer had received when the close arrived
 * @param byPeer whether the peer itself ended it ({@link ClientPeer#abort}), rather than the server
 *     or the network
 */
public record PeerClose(int code, String reason, int messagesBefore, boolean byPeer) {

  /** The code recorded when no close frame arrived (RFC 6455's 1006, never sent on the wire). */
  public static final int ABNORMAL = 1006;

  public PeerClose {
    Objects.requireNonNull(reason, "reason");
  }

  /** Whether the connection ended without a close frame. */
  public boolean abnormal() {
    return code == ABNORMAL;
  }
}
