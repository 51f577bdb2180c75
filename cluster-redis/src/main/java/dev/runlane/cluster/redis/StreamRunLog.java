package dev.runlane.cluster.redis;

import static dev.runlane.cluster.redis.RedisLink.bytes;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.FrameMeta;
import dev.runlane.engine.RunFencedException;
import dev.runlane.engine.RunLog;
import io.lettuce.core.Range;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.StreamMessage;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A run's log as one Redis stream, written by the run's owner node: entry id {@code <seq>-0}, so a
 * resume is one {@code XRANGE key <from>-0 <to>-0}. Each append is one {@link Scripts#APPEND} call:
 * the {@code XADD} happens only if the stored head is {@code seq - 1} and the run's end is not
 * recorded (or this is its terminal), so Redis never holds a hole, a duplicate, or a frame after
 * another node's terminal.
 *
 * <p><b>Pipelined.</b> An append sends its script on the engine's main connection and does not wait:
 * a publisher under the run's lock pays no round trip. Frames not yet confirmed stay in a small
 * queue. If one fails (Redis unreachable, a timeout), the later ones fail too (a hole before them),
 * so nothing out of order is stored; the next append (or read, or end) first resends the whole
 * queue, in order, and waits for it: if that fails it throws {@link StoreUnavailableException} with
 * nothing appended and the head unchanged, as the seam asks, and the queue waits for the next try.
 * Reads go on the same connection, which executes commands in order, so a read sees every earlier
 * append. At most {@value #MAX_UNCONFIRMED} frames are in flight per run; past that an append waits
 * for the oldest, at most the command timeout.
 *
 * <p>Bounded like the ring: the oldest seq kept follows {@code maxFrames} and the byte budget
 * (tracked here from the frame sizes); each {@code XADD} trims with {@code MINID <oldest>-0}. The
 * newest frame is always kept. Signals (approvals, status) go into the same stream as {@code
 * <head>-<n>}.
 *
 * <p><b>Thread safety:</b> single writer (the owning run, under its lock), as the seam says;
 * confirmations arrive on a Redis I/O thread through volatile and atomic fields.
 */
final class StreamRunLog implements RunLog {
  static final int MAX_UNCONFIRMED = 4096;
  private static final int OK = 0;
  private static final int UNAVAILABLE = 1;
  private static final int FENCED = 2;
  private static final int LOST = 3;

  private final RedisLink link;
  private final String runId;
  private final String[] keys;
  private final int maxFrames;
  private final long maxBytes;
  private long head;
  private long oldest = 1;
  private long bytes;
  /** Payload sizes of the held frames, a ring indexed by seq. */
  private int[] sizes = new int[8];

  private final ArrayDeque<Pending> unconfirmed = new ArrayDeque<>();
  private final AtomicLong confirmed = new AtomicLong();
  private volatile int trouble = OK;
  private volatile @Nullable Throwable cause;
  /** This node won the run's end: the next append is the terminal, signals are dropped. */
  private boolean endedHere;
  /** The terminal was appended: nothing more is. */
  private boolean sealed;
  private final java.util.function.BooleanSupplier leaseFresh;

  private record Pending(long seq, long oldest, boolean terminal, EncodedFrame frame) {}

  StreamRunLog(
      RedisLink link, Keys k, String sessionId, String runId, int maxFrames, long maxBytes,
      java.util.function.BooleanSupplier leaseFresh) {
    this.leaseFresh = leaseFresh;
    if (maxFrames < 1) {
      throw new IllegalArgumentException("maxFrames < 1: " + maxFrames);
    }
    this.link = link;
    this.runId = runId;
    this.keys =
        new String[] {k.run(sessionId, runId), k.log(sessionId, runId), k.approvals(sessionId, runId)};
    this.maxFrames = maxFrames;
    this.maxBytes = maxBytes;
  }

  String runId() {
    return runId;
  }

  /** Called under the run's lock when this node won the run's end: the next append is the terminal. */
  void markEnded() {
    endedHere = true;
  }

  private CompletableFuture<Long> send(Pending p) {
    EncodedFrame f = p.frame();
    link.inFlight.incrementAndGet();
    CompletableFuture<Long> r =
        Scripts.APPEND.call(
            link.async(),
            ScriptOutputType.INTEGER,
            keys,
            bytes(Long.toString(p.seq())),
            bytes(Long.toString(p.oldest())),
            p.terminal() ? new byte[] {'1'} : new byte[] {'0'},
            FrameFields.payload(f),
            FrameFields.kind(f),
            FrameFields.meta(f),
            FrameFields.coalesce(f));
    r.whenComplete(
        (code, error) -> {
          link.inFlight.decrementAndGet();
          onResult(p.seq(), code, error);
        });
    return r;
  }

  private void onResult(long seq, @Nullable Long code, @Nullable Throwable error) {
    if (error != null) {
      troubled(UNAVAILABLE, error);
      return;
    }
    long c = code == null ? 0 : code;
    if (c == 1 || c == 2) {
      confirmed.accumulateAndGet(seq, Math::max);
    } else if (c == -1) {
      troubled(FENCED, null);
    } else if (c == -2) {
      troubled(LOST, null);
    } else {
      troubled(UNAVAILABLE, null); // a hole before it: an earlier append failed
    }
  }

  private synchronized void troubled(int t, @Nullable Throwable e) {
    if (trouble == OK || t > trouble) {
      trouble = t;
      cause = e;
    }
  }

  private void settle() {
    long c = confirmed.get();
    while (!unconfirmed.isEmpty() && unconfirmed.peekFirst().seq() <= c) {
      unconfirmed.pollFirst();
    }
  }

  /** Throws for the current trouble, or resends the unconfirmed frames and waits for them. */
  private void recover() {
    int t = trouble;
    if (t == FENCED) {
      throw new RunFencedException(runId);
    }
    if (t == LOST) {
      throw new StoreUnavailableException(
          "Redis has no record of run " + runId + " (expired, or Redis restarted empty)");
    }
    synchronized (this) {
      trouble = OK;
      cause = null;
    }
    CompletableFuture<Long> last = null;
    for (Pending p : unconfirmed) {
      last = send(p);
    }
    if (last != null) {
      try {
        link.await(last, "resending run " + runId + "'s unconfirmed frames");
      } catch (StoreUnavailableException e) {
        troubled(UNAVAILABLE, e);
      }
    }
    settle();
    if (trouble != OK) {
      throwTrouble();
    }
  }

  private void throwTrouble() {
    int t = trouble;
    if (t == FENCED) {
      throw new RunFencedException(runId);
    }
    Throwable c = cause;
    String what =
        t == LOST
            ? "Redis has no record of run " + runId + " (expired, or Redis restarted empty)"
            : "run " + runId + "'s log could not be written to Redis";
    throw c == null ? new StoreUnavailableException(what) : new StoreUnavailableException(what + ": " + c, c);
  }

  @Override
  public void append(long seq, EncodedFrame frame) {
    if (seq != head + 1) {
      throw new IllegalStateException("append out of order: " + seq + " after " + head);
    }
    if (sealed) {
      throw new RunFencedException(runId);
    }
    FrameMeta meta = frame.meta();
    boolean terminal = meta != null && meta.type() == FrameMeta.Type.TERMINAL;
    settle();
    boolean lostTerminal = terminal && trouble == LOST;
    if (trouble != OK && !lostTerminal) {
      recover();
    }
    if (unconfirmed.size() >= MAX_UNCONFIRMED) {
      Pending oldestPending = unconfirmed.peekFirst();
      long deadline = System.nanoTime() + link.timeout.toNanos();
      while (confirmed.get() < oldestPending.seq() && trouble == OK && System.nanoTime() < deadline) {
        Thread.onSpinWait();
        java.util.concurrent.locks.LockSupport.parkNanos(50_000);
      }
      settle();
      if (unconfirmed.size() >= MAX_UNCONFIRMED) {
        if (trouble != OK) {
          recover();
        } else {
          throw new StoreUnavailableException(
              "Redis did not confirm run " + runId + "'s appends within " + link.timeout.toMillis() + " ms");
        }
      }
    }
    if (!lostTerminal && !link.awaitPipelineRoom()) {
      throw new StoreUnavailableException(
          "Redis did not keep up: " + link.inFlight.get() + " appends in flight after " + link.timeout.toMillis() + " ms");
    }
    boolean fresh = leaseFresh.getAsBoolean();
    if (!fresh && !lostTerminal && !unconfirmed.isEmpty()) {
      flush();
    }
    // accepted: from here on the frame is this run's seq, and will reach Redis in order
    long undoOldest = oldest;
    long undoBytes = bytes;
    if (head - oldest + 1 == sizes.length && sizes.length < maxFrames) {
      grow();
    }
    if (head - oldest + 1 == maxFrames) {
      evictOldest();
    }
    int undoSize = sizes[index(seq)];
    sizes[index(seq)] = frame.bytes();
    bytes += frame.bytes();
    head = seq;
    if (maxBytes > 0) {
      while (bytes > maxBytes && oldest < head) {
        evictOldest();
      }
    }
    if (terminal) {
      sealed = true;
    }
    if (lostTerminal) {
      return; // the store lost the run: the terminal reaches this node's recipients only
    }
    Pending p = new Pending(seq, oldest, terminal, frame);
    if (fresh) {
      unconfirmed.addLast(p);
      send(p);
      return;
    }
    // The lease may have expired: a survivor may have ended the run. Wait for Redis's answer.
    try {
      link.await(send(p), "append to run " + runId);
    } catch (StoreUnavailableException e) {
      troubled(UNAVAILABLE, e);
    }
    if (trouble != OK) {
      head = seq - 1;
      oldest = undoOldest;
      bytes = undoBytes;
      sizes[index(seq)] = undoSize;
      sealed = false;
      if (trouble == UNAVAILABLE) {
        synchronized (this) {
          trouble = OK; // nothing is unconfirmed: the next append starts clean
          Throwable c = cause;
          cause = null;
          throw new StoreUnavailableException("append to run " + runId + " failed", c == null ? new IllegalStateException("refused") : c);
        }
      }
      throwTrouble();
    }
  }

  /** Waits until every accepted append is stored (before the run's end is recorded). */
  void flush() {
    settle();
    if (trouble != OK) {
      recover();
      return;
    }
    Pending last = unconfirmed.peekLast();
    if (last == null) {
      return;
    }
    // a no-op on the same connection completes after every earlier append
    link.await(link.async().ping(), "flushing run " + runId + "'s appends");
    settle();
    if (trouble != OK) {
      recover();
    }
  }

  @Override
  public void signal(EncodedFrame frame) {
    if (endedHere) {
      return; // the terminal drops every pending approval; nothing is written after the end
    }
    FrameMeta meta = frame.meta();
    FrameMeta.Type type = meta == null ? FrameMeta.Type.STATUS : meta.type();
    String approvalId = "";
    byte t;
    if (type == FrameMeta.Type.APPROVAL_REQUESTED || type == FrameMeta.Type.APPROVAL_RESOLVED) {
      t = (byte) (type == FrameMeta.Type.APPROVAL_REQUESTED ? 'R' : 'S');
      approvalId = java.util.Objects.requireNonNull(java.util.Objects.requireNonNull(meta).approval()).approvalId();
    } else if (type == FrameMeta.Type.STATUS) {
      t = 'T';
    } else {
      throw new IllegalArgumentException("not a signal: " + type);
    }
    settle();
    if (trouble != OK) {
      if (t == 'T') {
        return; // best effort
      }
      recover();
    }
    CompletableFuture<Long> r =
        Scripts.SIGNAL.call(
            link.async(),
            ScriptOutputType.INTEGER,
            keys,
            new byte[] {t},
            bytes(approvalId),
            FrameFields.payload(frame),
            FrameFields.kind(frame),
            FrameFields.meta(frame),
            FrameFields.coalesce(frame),
            t == 'R' ? FrameFields.blob(frame) : new byte[0]);
    if (t == 'T') {
      return; // pipelined, best effort
    }
    long code = link.await(r, "approval signal of run " + runId);
    if (code == -1) {
      throw new RunFencedException(runId);
    }
    if (code == -2) {
      throw new StoreUnavailableException("Redis has no record of run " + runId);
    }
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
    settle();
    if (trouble != OK) {
      recover();
    }
    readRange(link, keys[1], start, end, sink, true);
  }

  /**
   * One {@code XRANGE} of the sequenced frames {@code start..end}; with {@code exact}, a missing
   * frame anywhere is a {@link StoreUnavailableException}, else only a gap after the first is.
   */
  static void readRange(
      RedisLink link, String key, long start, long end, Consumer<EncodedFrame> sink, boolean exact) {
    List<StreamMessage<String, byte[]>> entries =
        link.await(link.async().xrange(key, Range.create(FrameFields.id(start), FrameFields.id(end))), "XRANGE " + key);
    long expect = -1;
    for (StreamMessage<String, byte[]> m : entries) {
      String id = m.getId();
      if (FrameFields.sub(id) != 0) {
        continue; // a signal: never replayed
      }
      long seq = FrameFields.seq(id);
      if (expect < 0 && !exact) {
        expect = seq;
      } else if (expect < 0) {
        expect = start;
      }
      if (seq != expect) {
        throw new StoreUnavailableException(
            "stream " + key + " lost entries: expected seq " + expect + ", Redis has " + seq);
      }
      sink.accept(FrameFields.decode(m.getBody()));
      expect++;
    }
    if (exact && expect != end + 1) {
      throw new StoreUnavailableException(
          "stream " + key + " lost entries: expected up to seq " + end + ", Redis has " + entries.size() + " entries");
    }
  }

  /** Frames are kept in Redis, not in this process. */
  @Override
  public long retainedBytes() {
    return 0;
  }

  @Override
  public void trim(long maxBytes) {
    // nothing held in this process's memory; the stream is bounded by MINID on each append
  }

  @Override
  public void clear() {
    // Local bookkeeping only: the stream expires by the run record's retention, so other nodes
    // (and this one after a restart) can still serve resumes until then.
    bytes = 0;
    oldest = head + 1;
    sizes = new int[8];
  }
}
