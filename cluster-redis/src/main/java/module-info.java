import org.jspecify.annotations.NullMarked;

/**
 * The Runlane engine on Redis Streams ({@code dev.runlane.cluster.redis.RedisEngine}): N Runlane
 * nodes sharing one Redis behave, for every client, like one Runlane. Only the engine, its builder
 * and its settings are exported.
 */
@NullMarked
module dev.runlane.cluster.redis {
  requires transitive dev.runlane;
  requires static transitive org.jspecify;
  requires lettuce.core;
  requires org.slf4j;

  exports dev.runlane.cluster.redis;
}
