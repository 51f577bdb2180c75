package dev.runlane.cluster.redis;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Builds a {@link RedisEngine}. Only the Redis address is required; every node of one cluster uses
 * the same Redis and key prefix and its own node id.
 *
 * <pre>{@code
 * RedisEngine engine = RedisEngine.builder()
 *     .redis("redis://10.0.0.5:6379")
 *     .nodeId("node-1")
 *     .build();
 * }</pre>
 *
 * <p><b>Thread safety:</b> not thread-safe; {@link #build()} connects to Redis and returns an
 * engine safe for concurrent use.
 */
public final class RedisEngineBuilder {
  private @Nullable String redisUri;
  private @Nullable String nodeId;
  private String keyPrefix = "runlane";
  private Duration leaseTtl = Duration.ofSeconds(10);
  private Duration commandTimeout = Duration.ofSeconds(2);
  private Duration routeTimeout = Duration.ofSeconds(5);
  private Duration retention = Duration.ofMinutes(10);
  private Duration feedBlock = Duration.ofMillis(250);
  private int maxInFlight = 100_000;
  private int maxPipelined = 2_048;

  RedisEngineBuilder() {}

  /** The shared Redis, e.g. {@code redis://127.0.0.1:6379} (required). */
  public RedisEngineBuilder redis(String uri) {
    this.redisUri = Objects.requireNonNull(uri, "uri");
    return this;
  }

  /** This node's id; default a random one. Appears in logs and in this node's keys. */
  public RedisEngineBuilder nodeId(String id) {
    if (id.isEmpty() || id.indexOf('{') >= 0 || id.indexOf('}') >= 0) {
      throw new IllegalArgumentException("node id must be non-empty and free of braces: " + id);
    }
    this.nodeId = id;
    return this;
  }

  /** The prefix of every key; default {@code runlane}. Nodes of one cluster share it. */
  public RedisEngineBuilder keyPrefix(String prefix) {
    new Keys(prefix); // validates
    this.keyPrefix = prefix;
    return this;
  }

  /** A node's lease time to live; default 10 s. A dead node's runs end within 1.5x of it. */
  public RedisEngineBuilder leaseTtl(Duration ttl) {
    this.leaseTtl = positive(ttl, "leaseTtl");
    return this;
  }

  /** The longest an engine call waits for Redis; default 2 s. */
  public RedisEngineBuilder commandTimeout(Duration timeout) {
    this.commandTimeout = positive(timeout, "commandTimeout");
    return this;
  }

  /** The longest a routed command waits for the owner's answer; default 5 s. */
  public RedisEngineBuilder routeTimeout(Duration timeout) {
    this.routeTimeout = positive(timeout, "routeTimeout");
    return this;
  }

  /** How long an ended run's keys live in Redis; default 10 min. Match Runlane's own retention. */
  public RedisEngineBuilder retention(Duration retention) {
    this.retention = positive(retention, "retention");
    return this;
  }

  /** How long one blocking read of the feed waits; default 250 ms. */
  public RedisEngineBuilder feedBlock(Duration block) {
    this.feedBlock = positive(block, "feedBlock");
    return this;
  }

  /** The most commands queued on the main connection; default 100,000. */
  public RedisEngineBuilder maxInFlight(int max) {
    if (max < 1) {
      throw new IllegalArgumentException("maxInFlight < 1: " + max);
    }
    this.maxInFlight = max;
    return this;
  }

  /**
   * The most appends in flight (sent, not yet answered by Redis); default 2,048. A publisher
   * faster than Redis waits, at most the command timeout, instead of queueing without bound.
   */
  public RedisEngineBuilder maxPipelined(int max) {
    if (max < 1) {
      throw new IllegalArgumentException("maxPipelined < 1: " + max);
    }
    this.maxPipelined = max;
    return this;
  }

  private static Duration positive(Duration d, String name) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive: " + d);
    }
    return d;
  }

  /** The settings as they stand. */
  public RedisEngineConfig config() {
    String uri = redisUri;
    if (uri == null) {
      throw new IllegalStateException("redis(uri) is required");
    }
    String id = nodeId;
    if (id == null) {
      byte[] b = new byte[4];
      new SecureRandom().nextBytes(b);
      id = "node-" + HexFormat.of().formatHex(b);
    }
    return new RedisEngineConfig(
        uri, id, keyPrefix, leaseTtl, commandTimeout, routeTimeout, retention, feedBlock, maxInFlight,
        maxPipelined);
  }

  /**
   * Lets approval decisions of record type {@code type} cross nodes (as their components, rebuilt
   * with the canonical constructor on the run's node). Plain data (null, booleans, numbers,
   * strings, lists, maps) and the JSON protocol's {@code ApprovalDecision} always cross; any other
   * decision is refused with {@code INVALID_PAYLOAD}. Process-wide.
   */
  public RedisEngineBuilder crossNodeRecord(Class<? extends Record> type) {
    CommandCodec.RECORDS.add(type.getName());
    return this;
  }

  /**
   * Connects to Redis, takes this node's lease and starts the feed and the command channel.
   *
   * @throws IllegalStateException if no Redis address was given
   * @throws dev.runlane.engine.EngineUnavailableException if Redis cannot be reached
   */
  public RedisEngine build() {
    return new RedisEngine(config());
  }
}
