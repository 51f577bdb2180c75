package dev.runlane.cluster.redis;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.RunLog;
import io.lettuce.core.Range;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XAddArgs;
import io.lettuce.core.XTrimArgs;
import java.util.List;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A run's log as one Redis stream: entry id {@code <seq>-0}, so a resume is one {@code XRANGE key
 * <from>-0 <to>-0}. Appends are pipelined: {@code XADD} is sent on the engine's main connection and
 * not waited for, so a publisher under the run's lock pays no round trip; a failed append is
 * surfaced by the next call on this log (which then refuses everything: the stream has a hole).
 * Reads go on the same connection, which executes commands in order, so a read sees every earlier
 * append.
 *
 * <p>Bounded like the ring: {@code XADD ... MAXLEN maxFrames} (exact, so the oldest seq held is known
 * here without asking), plus a byte budget tracked here from the frame sizes, enforced with {@code
 * XTRIM MINID}. The newest frame is always kept. Redis refuses an {@code XADD} whose id is not above
 * the stream's last id: a frozen-then-woken writer cannot overwrite or reorder what another node
 * appended.
 *
 * <p><b>Thread safety:</b> single writer (the owning run, under its lock), as the seam says; the
 * failure of a pipelined append is published through a volatile field.
 */
final class StreamRunLog implements RunLog {
  /** Seals a stream after its terminal: its last id becomes the largest, so every later XADD fails. */
  static final RedisLink.Script SEAL =
      new RedisLink.Script(
          """
          redis.call('XSETID', KEYS[1], '18446744073709551615-18446744073709551615')
          redis.call('PEXPIRE', KEYS[1], ARGV[1])
          return 'OK'
          """);

  private final RedisLink link;
  private final String key;
  private final int maxFrames;
  private final long maxBytes;
  private long head;
  private long oldest = 1;
  private long bytes;
  /** Payload sizes of the held frames, a ring indexed by seq. */
  private int[] sizes = new int[8];

  private volatile @Nullable Throwable failure;
  /** The directory recorded this run's end: the next append is the terminal. */
  private boolean ended;
  private final long retentionMillis;

  StreamRunLog(RedisLink link, String key, int maxFrames, long maxBytes, long retentionMillis) {
    this.retentionMillis = retentionMillis;
    if (maxFrames < 1) {
      throw new IllegalArgumentException("maxFrames < 1: " + maxFrames);
    }
    this.link = link;
    this.key = key;
    this.maxFrames = maxFrames;
    this.maxBytes = maxBytes;
  }

  private void checkHealthy() {
    Throwable f = failure;
    if (f != null) {
      throw RedisLink.unavailable("an earlier append to " + key + " failed", f);
    }
  }

  @Override
  public void append(long seq, EncodedFrame frame) {
    if (seq != head + 1) {
      throw new IllegalStateException("append out of order: " + seq + " after " + head);
    }
    checkHealthy();
    if (head - oldest + 1 == sizes.length && sizes.length < maxFrames) {
      grow();
    }
    if (head - oldest + 1 == maxFrames) {
      evictOldest();
    }
    sizes[index(seq)] = frame.bytes();
    bytes += frame.bytes();
    head = seq;
    long before = oldest;
    if (maxBytes > 0) {
      while (bytes > maxBytes && oldest < head) {
        evictOldest();
      }
    }
    XAddArgs args = new XAddArgs().id(FrameFields.id(seq)).maxlen(maxFrames).exactTrimming();
    link.async().xadd(key, args, FrameFields.encode(frame, ended)).whenComplete(this::onWrite);
    if (ended) {
      // the terminal: seal the stream (no XADD can land after it, whoever sends it) and let it expire
      SEAL.call(link.async(), io.lettuce.core.ScriptOutputType.STATUS, new String[] {key},
              RedisLink.bytes(Long.toString(retentionMillis)))
          .whenComplete(this::onWrite);
    }
    if (oldest > before && oldest > head - maxFrames + 1) {
      trimInRedis();
    }
  }

  /** Called under the run's lock when this node won the run's end: the next append is the terminal. */
  void markEnded() {
    ended = true;
  }

  private void onWrite(@Nullable Object ignored, @Nullable Throwable error) {
    if (error != null && failure == null) {
      failure = error;
    }
  }

  private void trimInRedis() {
    link.async().xtrim(key, XTrimArgs.Builder.minId(FrameFields.id(oldest))).whenComplete(this::onWrite);
  }

  private int index(long seq) {
    return (int) ((seq - 1) % sizes.length);
  }

  private void grow() {
    int[] next = new int[(int) Math.min(maxFrames, (long) sizes.length * 2)];
    for (long s = oldest; s <= head; s++) {
      next[(int) ((s - 1) % next.length)] = sizes[index(s)];
    }
    sizes = next;
  }

  private void evictOldest() {
    bytes -= sizes[index(oldest)];
    oldest++;
  }

  @Override
  public long head() {
    return head;
  }

  @Override
  public long oldest() {
    return oldest;
  }

  @Override
  public void read(long from, long to, Consumer<EncodedFrame> sink) {
    long start = Math.max(from, oldest);
    long end = Math.min(to, head);
    if (start > end) {
      return;
    }
    checkHealthy();
    List<StreamMessage<String, byte[]>> entries =
        link.await(
            link.async().xrange(key, Range.create(FrameFields.id(start), FrameFields.id(end))),
            "XRANGE " + key);
    checkHealthy();
    long expect = start;
    for (StreamMessage<String, byte[]> m : entries) {
      long seq = FrameFields.seq(m.getId());
      if (seq != expect) {
        throw new StoreUnavailableException(
            "stream " + key + " lost entries: expected seq " + expect + ", Redis has " + seq);
      }
      sink.accept(FrameFields.decode(m.getBody()));
      expect++;
    }
    if (expect != end + 1) {
      throw new StoreUnavailableException(
          "stream " + key + " lost entries: expected up to seq " + end + ", Redis has up to " + (expect - 1));
    }
  }

  @Override
  public long retainedBytes() {
    return bytes;
  }

  @Override
  public void trim(long maxBytes) {
    long before = oldest;
    while (bytes > maxBytes && oldest < head) {
      evictOldest();
    }
    if (oldest > before) {
      trimInRedis();
    }
  }

  @Override
  public void clear() {
    // Local bookkeeping only: the stream itself expires by its retention TTL, set when the run ended,
    // so other nodes (and this one after a restart) can still serve resumes until then.
    bytes = 0;
    oldest = head + 1;
    sizes = new int[8];
  }
}
