package dev.runlane.cluster.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * The engine's Redis client: one client, one pipelined main connection shared by every part
 * (commands on one connection execute in order, so a read sees every earlier pipelined write), and
 * factories for the feed's and the router's own connections. Commands fail fast: while the
 * connection is down they are rejected at once ({@code REJECT_COMMANDS}), every command has a
 * timeout, and the queue of commands in flight is bounded.
 *
 * <p><b>Thread safety:</b> safe for concurrent use (Lettuce connections are).
 */
final class RedisLink implements AutoCloseable {
  static final RedisCodec<String, byte[]> CODEC = RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);

  final Duration timeout;
  /** Pipelined appends sent and not yet answered, on the main connection. */
  final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
  /** The most pipelined appends in flight before a publisher waits (backpressure). */
  final int maxPipelined;
  private final RedisClient client;
  final StatefulRedisConnection<String, byte[]> main;
  private volatile boolean closed;

  /**
   * One set of Lettuce I/O threads for every engine of the JVM (several nodes in one JVM, a test
   * suite's many engines), started with the first engine and stopped with the last.
   */
  private static @Nullable ClientResources shared;

  private static int users;

  private static synchronized ClientResources acquire() {
    ClientResources r = shared;
    if (r == null) {
      r = DefaultClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(1).build();
      shared = r;
    }
    users++;
    return r;
  }

  private static synchronized void release() {
    users--;
    ClientResources r = shared;
    if (users == 0 && r != null) {
      shared = null;
      r.shutdown(0, 2, TimeUnit.SECONDS);
    }
  }

  RedisLink(RedisURI uri, Duration timeout, int maxInFlight, int maxPipelined) {
    this.timeout = timeout;
    this.maxPipelined = maxPipelined;
    ClientResources resources = acquire();
    RedisClient c = RedisClient.create(resources, uri);
    c.setOptions(
        ClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .requestQueueSize(maxInFlight)
            .timeoutOptions(TimeoutOptions.enabled(timeout))
            .socketOptions(SocketOptions.builder().connectTimeout(timeout).keepAlive(true).build())
            .build());
    this.client = c;
    try {
      this.main = c.connect(CODEC);
    } catch (RedisException e) {
      c.shutdown(Duration.ZERO, Duration.ofSeconds(1));
      release();
      throw new StoreUnavailableException("cannot connect to Redis at " + uri + ": " + e.getMessage(), e);
    }
  }

  RedisAsyncCommands<String, byte[]> async() {
    if (closed) {
      throw new StoreUnavailableException("the Redis engine is closed");
    }
    return main.async();
  }

  /**
   * Waits until fewer than {@link #maxPipelined} appends are in flight, at most the command
   * timeout: a publisher faster than Redis is slowed to Redis's pace instead of queueing without
   * bound (which would only turn into timeouts).
   *
   * @return false if the pipeline did not drain in time
   */
  boolean awaitPipelineRoom() {
    if (inFlight.get() < maxPipelined) {
      return true;
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    while (inFlight.get() >= maxPipelined) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      java.util.concurrent.locks.LockSupport.parkNanos(20_000);
    }
    return true;
  }

  /** A new connection of its own (the feed's blocking reads); its command timeout is {@code timeout}. */
  StatefulRedisConnection<String, byte[]> connect(Duration commandTimeout) {
    StatefulRedisConnection<String, byte[]> conn = client.connect(CODEC);
    conn.setTimeout(commandTimeout);
    return conn;
  }

  /** A new Pub/Sub connection (the command router's). */
  StatefulRedisPubSubConnection<String, byte[]> connectPubSub() {
    return client.connectPubSub(CODEC);
  }

  /** Waits for {@code f} at most the command timeout; any failure becomes a {@link StoreUnavailableException}. */
  <T> T await(RedisFuture<T> f, String what) {
    return await(f.toCompletableFuture(), what);
  }

  /**
   * Waits for {@code f}, at most the command timeout, uninterruptibly (the wait is bounded; an
   * interrupt is kept for the caller): a run's end on an interrupted thread still reaches Redis.
   */
  <T> T await(CompletableFuture<T> f, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
          interrupted = true;
        } catch (ExecutionException e) {
          throw unavailable(what, e.getCause() == null ? e : e.getCause());
        } catch (TimeoutException e) {
          throw new StoreUnavailableException(what + ": Redis did not answer within " + timeout.toMillis() + " ms", e);
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  static StoreUnavailableException unavailable(String what, Throwable t) {
    Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    if (c instanceof StoreUnavailableException s) {
      return s;
    }
    return new StoreUnavailableException(what + ": " + c, c);
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String string(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      main.close();
    } catch (RuntimeException e) {
      // closing anyway
    }
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    release();
  }

  /**
   * A Lua script sent by its SHA-1 ({@code EVALSHA}), and by its body when Redis does not know it
   * (first use, or a Redis restarted empty): one round trip in the common case.
   *
   * <p><b>Thread safety:</b> immutable.
   */
  static final class Script {
    final String body;
    final String sha;

    Script(String body) {
      this.body = body;
      try {
        this.sha =
            HexFormat.of()
                .formatHex(MessageDigest.getInstance("SHA-1").digest(body.getBytes(StandardCharsets.UTF_8)));
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }

    <T> CompletableFuture<T> call(
        RedisAsyncCommands<String, byte[]> cmd, ScriptOutputType type, String[] keys, byte[]... args) {
      RedisFuture<T> first = cmd.evalsha(sha, type, keys, args);
      return first
          .toCompletableFuture()
          .handle(
              (v, e) -> {
                if (e == null) {
                  return CompletableFuture.completedFuture(v);
                }
                Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                String m = c.getMessage();
                if (m != null && m.startsWith("NOSCRIPT")) {
                  RedisFuture<T> again = cmd.eval(body, type, keys, args);
                  return again.toCompletableFuture();
                }
                return CompletableFuture.<T>failedFuture(c);
              })
          .thenCompose(x -> x);
    }
  }
}
