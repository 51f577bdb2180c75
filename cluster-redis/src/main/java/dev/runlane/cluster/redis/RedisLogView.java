package dev.runlane.cluster.redis;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.RunLogView;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A run's log as Redis holds it, whichever node wrote it: head and oldest from the run's record
 * hash, ranges by {@code XRANGE} (signals filtered out), pending approvals from the run's approvals
 * hash in the order raised. The run's session is resolved once, on first use.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; every call reads Redis as it is now.
 */
final class RedisLogView implements RunLogView {
  private final RedisLink link;
  private final Keys keys;
  private final RedisDirectory directory;
  private final String runId;
  private volatile @Nullable String sessionId;

  RedisLogView(RedisLink link, Keys keys, RedisDirectory directory, String runId) {
    this.link = link;
    this.keys = keys;
    this.directory = directory;
    this.runId = runId;
  }

  private @Nullable String session() {
    String s = sessionId;
    if (s == null) {
      s = directory.sessionOf(runId);
      sessionId = s;
    }
    return s;
  }

  private long field(String name, long otherwise) {
    String s = session();
    if (s == null) {
      return otherwise;
    }
    byte @Nullable [] v = link.await(link.async().hget(keys.run(s, runId), name), "HGET " + name + " of " + runId);
    return v == null ? otherwise : Long.parseLong(RedisLink.string(v));
  }

  @Override
  public long head() {
    return field("head", 0);
  }

  @Override
  public long oldest() {
    String s = session();
    if (s == null) {
      return 1;
    }
    List<byte[]> v =
        link.await(link.async().hmget(keys.run(s, runId), "head", "oldest")
            .thenApply(kvs -> {
              List<byte[]> out = new ArrayList<>();
              kvs.forEach(kv -> out.add(kv.getValueOrElse(null)));
              return out;
            }).toCompletableFuture(), "oldest of " + runId);
    if (v.get(0) == null) {
      return 1;
    }
    long head = Long.parseLong(RedisLink.string(v.get(0)));
    long oldest = v.get(1) == null ? 1 : Long.parseLong(RedisLink.string(v.get(1)));
    return Math.min(oldest, head + 1);
  }

  @Override
  public void read(long from, long to, Consumer<EncodedFrame> sink) {
    String s = session();
    long start = Math.max(1, from);
    if (s == null || start > to) {
      return;
    }
    StreamRunLog.readRange(link, keys.log(s, runId), start, to, sink, false);
  }

  @Override
  public List<EncodedFrame> pendingApprovals() {
    String s = session();
    if (s == null) {
      return List.of();
    }
    Map<String, byte[]> all = link.await(link.async().hgetall(keys.approvals(s, runId)), "approvals of " + runId);
    List<long[]> order = new ArrayList<>();
    List<EncodedFrame> frames = new ArrayList<>();
    for (byte[] v : all.values()) {
      int space = 0;
      while (space < v.length && v[space] != ' ') {
        space++;
      }
      String id = new String(v, 0, space, java.nio.charset.StandardCharsets.US_ASCII);
      order.add(new long[] {FrameFields.seq(id), FrameFields.sub(id), frames.size()});
      frames.add(FrameFields.fromBlob(v, space + 1));
    }
    order.sort(Comparator.<long[]>comparingLong(a -> a[0]).thenComparingLong(a -> a[1]));
    List<EncodedFrame> out = new ArrayList<>(frames.size());
    for (long[] o : order) {
      out.add(frames.get((int) o[2]));
    }
    return out;
  }
}
