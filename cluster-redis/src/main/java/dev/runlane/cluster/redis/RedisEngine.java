package dev.runlane.cluster.redis;

import dev.runlane.engine.CommandRouter;
import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.NodeLossListener;
import dev.runlane.engine.RunLogView;
import dev.runlane.engine.RunRecord;
import java.util.function.Consumer;
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
        new RedisLink(RedisURI.create(config.redisUri()), config.commandTimeout(), config.maxInFlight(), config.maxPipelined());
    this.directory = new RedisDirectory(link, keys, member, logs::get);
    this.epochs = new Epochs(link, keys);
    this.commandThread = Executors.newSingleThreadExecutor(daemon("runlane-redis-commands-" + config.nodeId()));
    this.scheduler = Executors.newSingleThreadScheduledExecutor(daemon("runlane-redis-lease-" + config.nodeId()));
    this.lease = new NodeLease(link, keys, directory, member, config.leaseTtl(), scheduler);
    PubSubCommandRouter r = null;
    StreamFeed f = null;
    boolean ok = false;
    try {
      r = new PubSubCommandRouter(link, keys, directory, member, config.routeTimeout(), commandThread);
      f = new StreamFeed(link, keys, directory, config.nodeId(), config.feedBlock());
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
        commandThread.shutdownNow();
        scheduler.shutdownNow();
        link.close();
      }
    }
    this.router = r;
    this.feed = f;
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


  /** The settings this engine was built with. */
  public RedisEngineConfig config() {
    return config;
  }

  @Override
  public RunLog newLog(String runId, int maxFrames, long maxBytes) {
    String sessionId = directory.sessionOf(runId);
    if (sessionId == null) {
      throw new IllegalStateException("run " + runId + " was not claimed through this engine's directory");
    }
    StreamRunLog log = new StreamRunLog(link, keys, sessionId, runId, maxFrames, maxBytes, lease::fresh);
    logs.put(runId, log);
    return new RunLog() {
      @Override
      public void append(long seq, EncodedFrame frame) {
        log.append(seq, frame);
      }

      @Override
      public void signal(EncodedFrame frame) {
        log.signal(frame);
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
      public void read(long from, long to, Consumer<EncodedFrame> sink) {
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
  public RunLogView view(String runId) {
    return new RedisLogView(link, keys, directory, runId);
  }

  /** This node incarnation's id: the configured node id and a random suffix, new at every start. */
  @Override
  public String nodeId() {
    return member;
  }

  @Override
  public void onNodeLost(NodeLossListener listener) {
    lease.listener(listener);
  }

  @Override
  public RunDirectory directory() {
    return directory;
  }

  @Override
  public Optional<RunFeed> feed() {
    return Optional.of(
        new RunFeed() {
          @Override
          public Tail tail(String runId, long afterSeq, Sink sink) {
            return feed.tail(runId, afterSeq, sink);
          }

          @Override
          public Tail watchSession(String sessionId, Consumer<RunRecord> started) {
            return router.watch(sessionId, started);
          }
        });
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

  NodeLease lease() {
    return lease;
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
