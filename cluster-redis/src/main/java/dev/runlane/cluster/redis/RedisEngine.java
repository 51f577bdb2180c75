package dev.runlane.cluster.redis;

import dev.runlane.engine.CommandRouter;
import dev.runlane.engine.Engine;
import dev.runlane.engine.RunDirectory;
import dev.runlane.engine.RunFeed;
import dev.runlane.engine.RunLog;
import io.lettuce.core.RedisURI;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The Runlane engine on Redis Streams: N Runlane nodes, each with its own {@code RedisEngine} on one
 * shared Redis, behave for every client like one Runlane. Each run's log is a Redis stream (entry id
 * = seq), the run directory is a hash per session decided by Lua compare-and-set scripts, frames of
 * runs written on another node arrive through {@code XREAD BLOCK}, commands reach the run's node over
 * Pub/Sub, and each node holds a lease whose expiry gets its running runs ended once by a survivor.
 * See {@code docs/concepts/cluster.md}.
 *
 * <pre>{@code
 * Runlane runlane = Runlane.builder()
 *     .codec(new JsonWireCodec())
 *     .engine(RedisEngine.builder().redis("redis://10.0.0.5:6379").nodeId("node-1").build())
 *     .build();
 * }</pre>
 *
 * <p><b>Thread safety:</b> safe for concurrent use. The engine owns a Redis client (two I/O
 * threads), a feed poller thread, a command thread and a scheduler thread for the lease; {@link
 * #close()} releases them.
 */
public final class RedisEngine implements Engine {
  private final RedisEngineConfig config;
  private final String member;
  private final Keys keys;
  private final RedisLink link;
  private final RedisDirectory directory;
  private final StreamFeed feed;
  private final PubSubCommandRouter router;
  private final Epochs epochs;
  private final NodeLease lease;
  private final ExecutorService commandThread;
  private final ScheduledExecutorService scheduler;
  private final ConcurrentHashMap<String, StreamRunLog> logs = new ConcurrentHashMap<>();
  private volatile boolean closed;

  RedisEngine(RedisEngineConfig config) {
    this.config = config;
    byte[] inc = new byte[4];
    new SecureRandom().nextBytes(inc);
    this.member = config.nodeId() + "." + HexFormat.of().formatHex(inc);
    this.keys = new Keys(config.keyPrefix());
    this.link =
        new RedisLink(RedisURI.create(config.redisUri()), config.commandTimeout(), config.maxInFlight(), config.nodeId());
    boolean ok = false;
    ExecutorService cmd = null;
    ScheduledExecutorService sched = null;
    StreamFeed f = null;
    PubSubCommandRouter r = null;
    try {
      this.directory =
          new RedisDirectory(
              link, keys, member, config.retention().toMillis(),
              runId -> {
                StreamRunLog log = logs.get(runId);
                if (log != null) {
                  log.markEnded();
                }
              });
      this.epochs = new Epochs(link, keys);
      cmd = Executors.newSingleThreadExecutor(daemon("runlane-redis-commands-" + config.nodeId()));
      sched = Executors.newSingleThreadScheduledExecutor(daemon("runlane-redis-lease-" + config.nodeId()));
      r = new PubSubCommandRouter(link, keys, member, config.routeTimeout(), cmd);
      f = new StreamFeed(link, keys, config.nodeId(), config.feedBlock());
      this.lease = new NodeLease(link, keys, member, config.leaseTtl(), sched);
      lease.start();
      ok = true;
    } finally {
      if (!ok) {
        if (f != null) {
          f.close();
        }
        if (r != null) {
          r.close();
        }
        if (cmd != null) {
          cmd.shutdownNow();
        }
        if (sched != null) {
          sched.shutdownNow();
        }
        link.close();
      }
    }
    this.commandThread = cmd;
    this.scheduler = sched;
    this.feed = f;
    this.router = r;
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return task -> {
      Thread t = new Thread(task, name);
      t.setDaemon(true);
      return t;
    };
  }

  /** A builder; {@link RedisEngineBuilder#redis(String)} is required. */
  public static RedisEngineBuilder builder() {
    return new RedisEngineBuilder();
  }

  /** This node's id, as configured. */
  public String nodeId() {
    return config.nodeId();
  }

  /** This node incarnation's id in Redis: the node id and a random suffix, new at every start. */
  public String member() {
    return member;
  }

  /** The settings this engine was built with. */
  public RedisEngineConfig config() {
    return config;
  }

  @Override
  public RunLog newLog(String runId, int maxFrames, long maxBytes) {
    StreamRunLog log = new StreamRunLog(link, keys.log(runId), maxFrames, maxBytes, config.retention().toMillis());
    logs.put(runId, log);
    return new RunLog() {
      @Override
      public void append(long seq, dev.runlane.engine.EncodedFrame frame) {
        log.append(seq, frame);
      }

      @Override
      public long head() {
        return log.head();
      }

      @Override
      public long oldest() {
        return log.oldest();
      }

      @Override
      public void read(long from, long to, java.util.function.Consumer<dev.runlane.engine.EncodedFrame> sink) {
        log.read(from, to, sink);
      }

      @Override
      public long retainedBytes() {
        return log.retainedBytes();
      }

      @Override
      public void trim(long maxBytes) {
        log.trim(maxBytes);
      }

      @Override
      public void clear() {
        log.clear();
        logs.remove(runId, log);
      }
    };
  }

  @Override
  public RunDirectory directory() {
    return directory;
  }

  @Override
  public Optional<RunFeed> feed() {
    return Optional.of(feed);
  }

  @Override
  public CommandRouter commands() {
    return router;
  }

  @Override
  public String newEpoch() {
    return epochs.next();
  }

  /** Sweeps dead nodes now (the scheduler does it every lease TTL / 2); for tests. */
  java.util.List<String> sweepNow() {
    return lease.sweep();
  }

  void onNodeLost(NodeLease.@Nullable Listener l) {
    lease.listener(l);
  }

  RedisLink link() {
    return link;
  }

  Keys keys() {
    return keys;
  }

  StreamFeed streamFeed() {
    return feed;
  }

  PubSubCommandRouter router() {
    return router;
  }

  /** Runs whose logs this node writes (for tests). */
  Map<String, StreamRunLog> localLogs() {
    return logs;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    lease.stop(true);
    feed.close();
    router.close();
    commandThread.shutdown();
    scheduler.shutdownNow();
    try {
      commandThread.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    link.close();
  }

  /**
   * Cuts this node off with no shutdown path, as if its process was killed: threads stop, Redis
   * connections close, the lease is neither renewed nor released (for tests of node death).
   */
  void kill() {
    closed = true;
    lease.stop(false);
    scheduler.shutdownNow();
    commandThread.shutdownNow();
    feed.kill();
    router.kill();
    link.close();
  }
}
