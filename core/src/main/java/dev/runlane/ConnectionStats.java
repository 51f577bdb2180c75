package dev.runlane;

/**
 * A snapshot of one connection's delivery state.
 *
 * <p><b>Thread safety:</b> immutable.
 *
 * @param connectionId the connection
 * @param principal its principal
 * @param queuedFrames frames waiting in its outbox (both lanes)
 * @param queuedBytes their bytes
 * @param inFlight sends handed to the transport whose callback has not fired
 * @param lagNanos how long this connection's sends have been outstanding without any completing,
 *     measured to the housekeeping tick (0 while nothing is in flight)
 * @param delivered frames whose send callback succeeded
 * @param runs runs it currently receives
 * @param sessions sessions it follows
 */
public record ConnectionStats(
    String connectionId,
    String principal,
    int queuedFrames,
    long queuedBytes,
    int inFlight,
    long lagNanos,
    long delivered,
    int runs,
    int sessions) {}
