package dev.runlane.cluster.redis;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.RunFeed;
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
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivery across nodes: one poller thread and one connection of its own per node, multiplexing
 * every tail of the node in one {@code XREAD BLOCK ... STREAMS k1 k2 ... id1 id2 ...} over the
 * streams of the runs this node's connections follow (never every stream). Each tail has its own
 * cursor: it is handed every entry above it, in id (= seq) order, once, then its cursor moves; it
 * ends after the terminal entry. A new tail wakes the blocked read ({@code CLIENT UNBLOCK} from the
 * main connection) so its stream joins the next read at once.
 *
 * <p>If Redis is unreachable the poller retries with a short back-off; no frame is skipped, since
 * each tail resumes from its own cursor. If a stream was trimmed past a tail's cursor (the tail fell
 * more than the log's bound behind), the tail cannot continue exactly and is closed, with an error
 * logged.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; every sink is called from the poller thread
 * only.
 */
final class StreamFeed implements RunFeed, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StreamFeed.class);
  private static final int BATCH = 512;

  private final RedisLink link;
  private final Keys keys;
  private final long blockMillis;
  private final ConcurrentHashMap<String, CopyOnWriteArrayList<TailImpl>> byKey = new ConcurrentHashMap<>();
  private final Thread poller;
  private volatile boolean closed;
  private volatile long pollerClientId = -1;
  private volatile boolean blocked;
  private @Nullable StatefulRedisConnection<String, byte[]> conn;

  StreamFeed(RedisLink link, Keys keys, String nodeId, Duration block) {
    this.link = link;
    this.keys = keys;
    this.blockMillis = Math.max(10, block.toMillis());
    this.poller = new Thread(this::loop, "runlane-redis-feed-" + nodeId);
    poller.setDaemon(true);
    poller.start();
  }

  @Override
  public Tail tail(String runId, long afterSeq, Consumer<EncodedFrame> sink) {
    if (closed) {
      throw new IllegalStateException("the feed is closed");
    }
    TailImpl t = new TailImpl(keys.log(runId), afterSeq, sink);
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
      link.async().clientUnblock(id, UnblockType.TIMEOUT);
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
        pollOnce(c);
        backoff = 0;
      } catch (RuntimeException e) {
        if (closed) {
          break;
        }
        backoff = backoff == 0 ? 50 : Math.min(1000, backoff * 2);
        LOG.debug("feed poll failed; retrying in {} ms: {}", backoff, e.toString());
      }
    }
    StatefulRedisConnection<String, byte[]> c = conn;
    if (c != null) {
      c.closeAsync();
    }
  }

  @SuppressWarnings("unchecked")
  private void pollOnce(StatefulRedisConnection<String, byte[]> c) {
    List<XReadArgs.StreamOffset<String>> offsets = new ArrayList<>();
    for (Map.Entry<String, CopyOnWriteArrayList<TailImpl>> e : byKey.entrySet()) {
      long min = Long.MAX_VALUE;
      for (TailImpl t : e.getValue()) {
        min = Math.min(min, t.cursor);
      }
      if (min != Long.MAX_VALUE) {
        offsets.add(XReadArgs.StreamOffset.from(e.getKey(), FrameFields.id(min)));
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
      long seq = FrameFields.seq(m.getId());
      EncodedFrame frame = null;
      boolean terminal = FrameFields.terminal(m.getBody());
      for (TailImpl t : tails) {
        if (t.closed || seq <= t.cursor) {
          continue;
        }
        if (seq != t.cursor + 1) {
          LOG.error(
              "tail of {} cannot continue exactly: the stream was trimmed past it (wanted seq {}, oldest held {})",
              t.key, t.cursor + 1, seq);
          t.close();
          continue;
        }
        if (frame == null) {
          frame = FrameFields.decode(m.getBody());
        }
        t.cursor = seq;
        try {
          t.sink.accept(frame);
        } catch (RuntimeException ex) {
          LOG.error("a tail's sink of {} threw; closing the tail", t.key, ex);
          t.close();
          continue;
        }
        if (terminal) {
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
    final String key;
    final Consumer<EncodedFrame> sink;
    /** The last seq handed; written by the poller thread only. */
    volatile long cursor;
    volatile boolean closed;

    TailImpl(String key, long afterSeq, Consumer<EncodedFrame> sink) {
      this.key = key;
      this.cursor = afterSeq;
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
