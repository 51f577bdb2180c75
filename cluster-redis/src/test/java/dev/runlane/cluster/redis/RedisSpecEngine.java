package dev.runlane.cluster.redis;

import dev.runlane.testredis.RedisServer;

import dev.runlane.engine.Engine;
import dev.runlane.spec.SpecEngine;
import java.time.Duration;
import java.util.UUID;

/**
 * Runs core's behaviour spec (core-spec's test classes, scanned by surefire) on the Redis engine:
 * each Runlane the spec builds gets a {@link RedisEngine} of its own, on the test JVM's shared
 * redis-server, under a key prefix of its own.
 *
 * <p><b>Thread safety:</b> {@link #newEngine()} may be called from any thread.
 */
public final class RedisSpecEngine implements SpecEngine {
  @Override
  public Engine newEngine() {
    return RedisEngine.builder()
        .redis(RedisServer.shared().uri())
        .keyPrefix("spec" + UUID.randomUUID().toString().substring(0, 8))
        .commandTimeout(Duration.ofSeconds(2))
        .feedBlock(Duration.ofMillis(100))
        .build();
  }

  @Override
  public String name() {
    return "redis";
  }

  @Override
  public boolean durable() {
    return true;
  }

  @Override
  public String toString() {
    return name();
  }
}
