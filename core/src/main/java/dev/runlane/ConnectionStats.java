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
 * @param lagNanos how long the oldest in-flight send has waited for its callback (0 if none)
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
