/**
 * The Runlane engine on Redis Streams: {@link dev.runlane.cluster.redis.RedisEngine}. N Runlane
 * nodes sharing one Redis behave, for every client, like one Runlane (see {@code
 * docs/concepts/cluster.md}).
 */
@NullMarked
package dev.runlane.cluster.redis;

import org.jspecify.annotations.NullMarked;
