package dev.runlane.cluster.redis;

import java.time.Duration;

/**
 * The settings of a {@link RedisEngine}, as built by {@link RedisEngineBuilder}.
 *
 * <p><b>Thread safety:</b> immutable.
 *
 * @param redisUri the Redis to share, e.g. {@code redis://10.0.0.5:6379}
 * @param nodeId this node's id (shown in logs and in the members' names)
 * @param keyPrefix the prefix of every key this engine writes; nodes of one cluster share it
 * @param leaseTtl how long a node's lease lives without renewal (renewed every third of it): a
 *     dead node's runs are ended between one and one and a half of it after its death
 * @param commandTimeout the longest any engine call waits for Redis; a publisher never waits
 * @param routeTimeout the longest a routed command waits for the owner's answer
 * @param retention how long an ended run's keys live in Redis (its resume window across nodes)
 * @param feedBlock how long one blocking read of the feed waits for new entries
 * @param maxInFlight the most commands queued on the connection; past it, calls fail at once
 * @param maxPipelined the most appends in flight on the connection; past it a publisher waits
 *     (at most the command timeout) for Redis to catch up
 */
public record RedisEngineConfig(
    String redisUri,
    String nodeId,
    String keyPrefix,
    Duration leaseTtl,
    Duration commandTimeout,
    Duration routeTimeout,
    Duration retention,
    Duration feedBlock,
    int maxInFlight,
    int maxPipelined) {}
