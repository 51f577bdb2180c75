package dev.runlane.cluster.redis;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.FrameMeta;
import dev.runlane.engine.RunFeed;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.UnblockType;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivery across nodes: one poller thread and one connection of its own per node, multiplexing
 * every tail of the node in one {@code XREAD BLOCK ... STREAMS k1 k2 ... id1 id2 ...} over the
 * streams of the runs this node's connections follow (never every stream). Each tail has its own
 * cursor, an entry id: it is handed every entry above it in id order, once, then its cursor moves;
 * sequenced frames ({@code <seq>-0}) must follow each other without a gap, signals ({@code
 * <head>-<n>}) come in between in write order; the tail ends after the terminal entry. A new tail
 * wakes the blocked read ({@code CLIENT UNBLOCK} from the main connection) so its stream joins the
 * next read at once.
 *
 * <p>If Redis is unreachable the poller retries with a short back-off: no frame is skipped, since
 * each tail resumes from its own cursor. About once a second, and after every reconnect, it checks
 * that each tailed run's record still exists: a run whose record is gone (expired, or Redis
 * restarted empty) is {@link Sink#lost() lost}, as is a tail whose next seq was trimmed away.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; every sink is called from the poller thread
 * only, under no lock.
 */
final class StreamFeed implements RunFeed, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StreamFeed.class);
  private static final int BATCH = 512;
  private static final long CHECK_EVERY_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final RedisLink link;
  private final Keys keys;
  private final RedisDirectory directory;
  private final long blockMillis;
  private final ConcurrentHashMap<String, CopyOnWriteArrayList<TailImpl>> byKey = new ConcurrentHashMap<>();
  private final Thread poller;
  private volatile boolean closed;
  private volatile long pollerClientId = -1;
  private volatile boolean blocked;
  private @Nullable StatefulRedisConnection<String, byte[]> conn;
  private long lastCheck = System.nanoTime();
  private boolean checkNow;

  StreamFeed(RedisLink link, Keys keys, RedisDirectory directory, String nodeId, Duration block) {
    this.link = link;
    this.keys = keys;
    this.directory = directory;
    this.blockMillis = Math.max(10, block.toMillis());
    this.poller = new Thread(this::loop, "runlane-redis-feed-" + nodeId);
    poller.setDaemon(true);
    poller.start();
  }

  @Override
  public Tail tail(String runId, long afterSeq, Sink sink) {
    if (closed) {
      throw new IllegalStateException("the feed is closed");
    }
    String sessionId = directory.sessionOf(runId);
    if (sessionId == null) {
      // Redis does not know the run: nothing will ever come
      TailImpl t = new TailImpl("", keys.log("", runId), afterSeq, sink);
      t.closed = true;
      sink.lost();
      return t;
    }
    TailImpl t = new TailImpl(keys.run(sessionId, runId), keys.log(sessionId, runId), afterSeq, sink);
    byKey.computeIfAbsent(t.key, k -> new CopyOnWriteArrayList<>()).add(t);
    wake();
    return t;
  }

  /** Number of streams currently tailed (for tests). */
  int tailedStreams() {
    return byKey.size();
  }

  private void wake() {
    LockSupport.unpark(poller);
    long id = pollerClientId;
    if (blocked && id >= 0) {
      try {
        link.async().clientUnblock(id, UnblockType.TIMEOUT);
      } catch (RuntimeException e) {
        // Redis unreachable: the poller's read ends by itself
      }
    }
  }

  private void remove(TailImpl t) {
    byKey.computeIfPresent(
        t.key,
        (k, list) -> {
          list.remove(t);
          return list.isEmpty() ? null : list;
        });
  }

  private void loop() {
    long backoff = 0;
    while (!closed) {
      try {
        if (backoff > 0) {
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(backoff));
        }
        StatefulRedisConnection<String, byte[]> c = conn;
        if (c == null || !c.isOpen()) {
          c = link.connect(Duration.ofMillis(blockMillis).plus(link.timeout));
          conn = c;
          pollerClientId = c.sync().clientId();
        }
        if (checkNow || System.nanoTime() - lastCheck > CHECK_EVERY_NANOS) {
          checkRecords();
        }
        pollOnce(c);
        backoff = 0;
      } catch (RuntimeException e) {
        if (closed) {
          break;
        }
        checkNow = true; // Redis may have restarted empty meanwhile
        backoff = backoff == 0 ? 50 : Math.min(1000, backoff * 2);
        LOG.debug("feed poll failed; retrying in {} ms: {}", backoff, e.toString());
      }
    }
    StatefulRedisConnection<String, byte[]> c = conn;
    if (c != null) {
      c.closeAsync();
    }
  }

  /** Tails whose run record is gone are lost: the run expired, or Redis restarted empty. */
  private void checkRecords() {
    List<String> ks = new ArrayList<>(byKey.keySet());
    List<RedisFuture<Long>> exists = new ArrayList<>(ks.size());
    for (String k : ks) {
      CopyOnWriteArrayList<TailImpl> l = byKey.get(k);
      exists.add(link.async().exists(l == null || l.isEmpty() ? k : l.get(0).record));
    }
    for (int i = 0; i < ks.size(); i++) {
      long n = link.await(exists.get(i), "EXISTS run record");
      if (n == 0) {
        CopyOnWriteArrayList<TailImpl> l = byKey.get(ks.get(i));
        if (l != null) {
          for (TailImpl t : l) {
            lose(t, "its record is gone from Redis (expired, or Redis restarted empty)");
          }
        }
      }
    }
    lastCheck = System.nanoTime();
    checkNow = false;
  }

  private void lose(TailImpl t, String why) {
    if (t.closed) {
      return;
    }
    LOG.warn("the tail of {} cannot continue: {}", t.key, why);
    t.close();
    try {
      t.sink.lost();
    } catch (RuntimeException e) {
      LOG.error("a tail's sink threw on lost()", e);
    }
  }

  @SuppressWarnings("unchecked")
  private void pollOnce(StatefulRedisConnection<String, byte[]> c) {
    List<XReadArgs.StreamOffset<String>> offsets = new ArrayList<>();
    for (Map.Entry<String, CopyOnWriteArrayList<TailImpl>> e : byKey.entrySet()) {
      long[] min = null;
      for (TailImpl t : e.getValue()) {
        if (min == null || t.seq < min[0] || (t.seq == min[0] && t.sub < min[1])) {
          min = new long[] {t.seq, t.sub};
        }
      }
      if (min != null) {
        offsets.add(XReadArgs.StreamOffset.from(e.getKey(), min[0] + "-" + min[1]));
      }
    }
    if (offsets.isEmpty()) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(blockMillis));
      return;
    }
    List<StreamMessage<String, byte[]>> got;
    blocked = true;
    try {
      got =
          c.sync()
              .xread(
                  XReadArgs.Builder.block(blockMillis).count(BATCH),
                  offsets.toArray(new XReadArgs.StreamOffset[0]));
    } finally {
      blocked = false;
    }
    if (got == null) {
      return;
    }
    for (StreamMessage<String, byte[]> m : got) {
      CopyOnWriteArrayList<TailImpl> tails = byKey.get(m.getStream());
      if (tails == null) {
        continue;
      }
      String id = m.getId();
      long seq = FrameFields.seq(id);
      long sub = FrameFields.sub(id);
      EncodedFrame frame = null;
      for (TailImpl t : tails) {
        if (t.closed || seq < t.seq || (seq == t.seq && sub <= t.sub)) {
          continue; // handed already
        }
        if (sub == 0 && seq != t.seq + 1) {
          lose(t, "the stream was trimmed past it (wanted seq " + (t.seq + 1) + ", oldest held " + seq + ")");
          continue;
        }
        if (frame == null) {
          frame = FrameFields.decode(m.getBody());
        }
        t.seq = seq;
        t.sub = sub;
        try {
          t.sink.frame(frame);
        } catch (RuntimeException ex) {
          LOG.error("a tail's sink of {} threw; closing the tail", t.key, ex);
          t.close();
          continue;
        }
        FrameMeta meta = frame.meta();
        if (meta != null && meta.type() == FrameMeta.Type.TERMINAL) {
          t.close();
        }
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    wake();
    try {
      poller.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops the poller at once, with no goodbye (a node killed in tests). */
  void kill() {
    closed = true;
    StatefulRedisConnection<String, byte[]> c = conn;
    if (c != null) {
      c.closeAsync();
    }
    LockSupport.unpark(poller);
  }

  private final class TailImpl implements Tail {
    final String record;
    final String key;
    final Sink sink;
    /** The id of the last entry handed; written by the poller thread only. */
    volatile long seq;

    volatile long sub;
    volatile boolean closed;

    TailImpl(String record, String key, long afterSeq, Sink sink) {
      this.record = record;
      this.key = key;
      this.seq = afterSeq;
      this.sink = sink;
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        remove(this);
      }
    }
  }
}
