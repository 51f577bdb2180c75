package dev.runlane.cluster.redis;

import static dev.runlane.cluster.redis.RedisLink.bytes;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.FrameMeta;
import dev.runlane.engine.InMemoryEngine;
import dev.runlane.engine.RunFencedException;
import dev.runlane.engine.RunLog;
import io.lettuce.core.Range;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.StreamMessage;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A run's log as one Redis stream, written by the run's owner node: entry id {@code <seq>-0}, so a
 * resume is one {@code XRANGE key <from>-0 <to>-0}. Appends go through {@link Scripts#APPEND}: a
 * frame is stored only if the stored head is {@code seq - 1} and the run's end is not recorded (or
 * it is that end's terminal), so Redis never holds a hole, a duplicate, or a frame after another
 * node's terminal.
 *
 * <p><b>Pipelined and batched.</b> An append does not wait for Redis: a publisher under the run's
 * lock pays no round trip. Each run has at most one batch in flight; frames appended meanwhile
 * queue and leave together, in one script call, when it is answered (so a busy run costs Redis one
 * call per round trip, not one per frame). If a batch fails (Redis unreachable, a timeout), the
 * queue stops and nothing later is stored out of order; the next append (or read, or end) resends
 * the queue, in order, and waits for it: if that fails it throws {@link StoreUnavailableException}
 * with nothing appended and the head unchanged, as the seam asks, and the queue waits for the next
 * try. At most {@value #MAX_UNCONFIRMED} frames wait per run, and at most the engine's {@code
 * maxPipelined} are in flight; past either, an append waits, at most the command timeout.
 *
 * <p>A node whose lease may have expired (it froze, or lost Redis for a while) appends
 * synchronously: a survivor may have ended the run, and a fenced append then fails at once.
 *
 * <p>The owner keeps the newest frames in memory too (an in-memory ring, bounded the same way), so
 * this node's own resumes never wait for Redis; a read older than that window (trimmed by the
 * process's retention budget) is one {@code XRANGE}. Redis's copy is bounded like the ring: the
 * oldest seq kept follows {@code maxFrames} and the byte budget (tracked here from the frame
 * sizes), and each {@code XADD} trims with {@code MINID <oldest>-0}; the newest frame is always
 * kept. Signals (approvals, status) go into the same stream as {@code <head>-<n>}.
 *
 * <p><b>Thread safety:</b> single writer (the owning run, under its lock), as the seam says; the
 * queue of unconfirmed frames is shared with Redis's answers under this object's monitor.
 */
final class StreamRunLog implements RunLog {
  static final int MAX_UNCONFIRMED = 4096;
  private static final int MAX_BATCH = 256;
  private static final int OK = 0;
  private static final int UNAVAILABLE = 1;
  private static final int FENCED = 2;
  private static final int LOST = 3;
  /** Makes bounded in-memory rings (the in-memory engine's logs) for the owner's window. */
  private static final InMemoryEngine WINDOWS = new InMemoryEngine();

  private final RedisLink link;
  private final String runId;
  private final String[] keys;
  private final int maxFrames;
  private final long maxBytes;
  private final BooleanSupplier leaseFresh;
  private final RunLog window;

  // ---- the owner's (under the run's lock)
  private long head;
  private long oldest = 1;
  private long bytes;
  /** Payload sizes of the frames Redis keeps, a ring indexed by seq. */
  private int[] sizes = new int[8];
  /** This node won the run's end: the next append is the terminal, signals are dropped. */
  private boolean endedHere;
  /** The terminal was appended: nothing more is. */
  private boolean sealed;

  // ---- shared with Redis's answers (under this object's monitor)
  private final ArrayDeque<Pending> unconfirmed = new ArrayDeque<>();
  private long sentThrough;
  private boolean batchInFlight;
  private int trouble = OK;
  private @Nullable Throwable cause;

  private record Pending(long seq, long oldest, boolean terminal, EncodedFrame frame) {}

  StreamRunLog(
      RedisLink link, Keys k, String sessionId, String runId, int maxFrames, long maxBytes, BooleanSupplier leaseFresh) {
    if (maxFrames < 1) {
      throw new IllegalArgumentException("maxFrames < 1: " + maxFrames);
    }
    this.link = link;
    this.runId = runId;
    this.keys = new String[] {k.run(sessionId, runId), k.log(sessionId, runId), k.approvals(sessionId, runId)};
    this.maxFrames = maxFrames;
    this.maxBytes = maxBytes;
    this.leaseFresh = leaseFresh;
    this.window = WINDOWS.newLog(runId, maxFrames, maxBytes);
  }

  /** Called under the run's lock when this node won the run's end: the next append is the terminal. */
  void markEnded() {
    endedHere = true;
  }

  // ------------------------------------------------------------------ batches (monitor held)

  /** Sends the next batch if none is in flight and nothing is wrong. Caller holds the monitor. */
  private void sendNextBatch() {
    if (batchInFlight || trouble != OK) {
      return;
    }
    List<Pending> batch = new ArrayList<>();
    for (Pending p : unconfirmed) {
      if (p.seq() > sentThrough) {
        batch.add(p);
        if (batch.size() == MAX_BATCH) {
          break;
        }
      }
    }
    if (batch.isEmpty()) {
      return;
    }
    batchInFlight = true;
    sentThrough = batch.get(batch.size() - 1).seq();
    byte[][] args = new byte[1 + 7 * batch.size()][];
    args[0] = bytes(Integer.toString(batch.size()));
    int i = 1;
    for (Pending p : batch) {
      EncodedFrame f = p.frame();
      args[i++] = bytes(Long.toString(p.seq()));
      args[i++] = bytes(Long.toString(p.oldest()));
      args[i++] = p.terminal() ? new byte[] {'1'} : new byte[] {'0'};
      args[i++] = FrameFields.payload(f);
      args[i++] = FrameFields.kind(f);
      args[i++] = FrameFields.meta(f);
      args[i++] = FrameFields.coalesce(f);
    }
    int n = batch.size();
    link.inFlight.addAndGet(n);
    CompletableFuture<List<Object>> r;
    try {
      r = Scripts.APPEND.call(link.async(), ScriptOutputType.MULTI, keys, args);
    } catch (RuntimeException e) {
      r = CompletableFuture.failedFuture(e);
    }
    r.whenComplete(
        (result, error) -> {
          link.inFlight.addAndGet(-n);
          answered(result, error);
        });
  }

  private synchronized void answered(@Nullable List<Object> result, @Nullable Throwable error) {
    batchInFlight = false;
    if (error != null || result == null || result.size() < 2) {
      troubled(UNAVAILABLE, error);
    } else {
      long code = (Long) result.get(0);
      long last = (Long) result.get(1);
      while (!unconfirmed.isEmpty() && unconfirmed.peekFirst().seq() <= last) {
        unconfirmed.pollFirst();
      }
      if (code == -1) {
        troubled(FENCED, null);
      } else if (code == -2) {
        troubled(LOST, null);
      } else if (code != 1) {
        troubled(UNAVAILABLE, null); // a hole before it: an earlier batch failed
      }
    }
    if (trouble != OK) {
      sentThrough = unconfirmed.isEmpty() ? sentThrough : unconfirmed.peekFirst().seq() - 1;
    }
    sendNextBatch();
    notifyAll();
  }

  private void troubled(int t, @Nullable Throwable e) {
    if (trouble == OK || t > trouble) {
      trouble = t;
      cause = e;
    }
  }

  /**
   * Waits (monitor held) until {@code done} holds, at most the command timeout; uninterruptibly,
   * since the wait is bounded (an interrupt is kept for the caller).
   */
  private boolean waitFor(BooleanSupplier done) {
    long deadline = System.nanoTime() + link.timeout.toNanos();
    boolean interrupted = false;
    try {
      while (!done.getAsBoolean()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(this, left);
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      return true;
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Makes every accepted frame stored, or throws: resends the queue after a failure, and waits
   * (at most the command timeout) for Redis's answers. Caller holds the monitor.
   */
  private void settleAll(String what) {
    if (trouble == FENCED || trouble == LOST) {
      throwTrouble();
    }
    if (trouble != OK) {
      if (!waitFor(() -> !batchInFlight)) {
        throw new StoreUnavailableException(what + ": Redis did not answer within " + link.timeout.toMillis() + " ms");
      }
      trouble = OK;
      cause = null;
      sentThrough = unconfirmed.isEmpty() ? sentThrough : unconfirmed.peekFirst().seq() - 1;
      sendNextBatch();
    }
    if (!waitFor(() -> unconfirmed.isEmpty() || trouble != OK)) {
      troubled(UNAVAILABLE, null);
      throw new StoreUnavailableException(what + ": Redis did not answer within " + link.timeout.toMillis() + " ms");
    }
    if (trouble != OK) {
      throwTrouble();
    }
  }

  private void throwTrouble() {
    if (trouble == FENCED) {
      throw new RunFencedException(runId);
    }
    Throwable c = cause;
    String what =
        trouble == LOST
            ? "Redis has no record of run " + runId + " (expired, or Redis restarted empty)"
            : "run " + runId + "'s log could not be written to Redis";
    throw c == null ? new StoreUnavailableException(what) : new StoreUnavailableException(what + ": " + c, c);
  }

  // ------------------------------------------------------------------ RunLog (the run's lock held)

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
    boolean fresh = leaseFresh.getAsBoolean();
    boolean lostTerminal;
    synchronized (this) {
      lostTerminal = terminal && trouble == LOST;
      if (!lostTerminal) {
        if (trouble != OK || !fresh) {
          settleAll("append to run " + runId);
        } else if (unconfirmed.size() >= MAX_UNCONFIRMED
            && !waitFor(() -> unconfirmed.size() < MAX_UNCONFIRMED || trouble != OK)) {
          throw new StoreUnavailableException(
              "Redis did not confirm run " + runId + "'s appends within " + link.timeout.toMillis() + " ms");
        }
        if (trouble != OK) {
          settleAll("append to run " + runId);
        }
      }
    }
    if (!lostTerminal && !link.awaitPipelineRoom()) {
      throw new StoreUnavailableException(
          "Redis did not keep up: " + link.inFlight.get() + " appends in flight after " + link.timeout.toMillis() + " ms");
    }
    // accepted: from here on the frame is this run's seq, and reaches Redis in order
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
    if (lostTerminal) {
      sealed = true;
      window.append(seq, frame);
      return; // the store lost the run: the terminal reaches this node's recipients only
    }
    Pending p = new Pending(seq, oldest, terminal, frame);
    synchronized (this) {
      unconfirmed.addLast(p);
      sendNextBatch();
      if (!fresh) {
        // the lease may have expired, so a survivor may have ended the run: wait for Redis's answer
        try {
          settleAll("append to run " + runId);
        } catch (RuntimeException e) {
          if (trouble == FENCED || trouble == LOST) {
            // a definite refusal: the frame is not stored, and the head goes back
            unconfirmed.remove(p);
            sentThrough = seq - 1;
            head = seq - 1;
            oldest = undoOldest;
            bytes = undoBytes;
            sizes[index(seq)] = undoSize;
            throw e;
          }
          // no answer in time: the frame may be stored; it stays queued and is resent (a resend of
          // a stored frame is skipped), like a pipelined one
        }
      }
    }
    sealed = terminal;
    window.append(seq, frame);
  }

  /** Waits until every accepted append is stored (before the run's end is recorded). */
  void flush() {
    synchronized (this) {
      settleAll("flushing run " + runId + "'s appends");
    }
  }

  @Override
  public void signal(EncodedFrame frame) {
    if (endedHere || sealed) {
      return; // the terminal drops every pending approval; nothing is written after the end
    }
    FrameMeta meta = frame.meta();
    FrameMeta.Type type = meta == null ? FrameMeta.Type.STATUS : meta.type();
    String approvalId = "";
    byte t;
    if (type == FrameMeta.Type.APPROVAL_REQUESTED || type == FrameMeta.Type.APPROVAL_RESOLVED) {
      t = (byte) (type == FrameMeta.Type.APPROVAL_REQUESTED ? 'R' : 'S');
      approvalId = Objects.requireNonNull(Objects.requireNonNull(meta).approval()).approvalId();
    } else if (type == FrameMeta.Type.STATUS) {
      t = 'T';
    } else {
      throw new IllegalArgumentException("not a signal: " + type);
    }
    synchronized (this) {
      if (t == 'T' && trouble != OK) {
        return; // best effort
      }
      // after every accepted append, so it lands after them in the stream
      settleAll("signal of run " + runId);
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
    long local = window.oldest();
    if (start < local) {
      // older than this node's window (trimmed by the process's retention budget): from Redis
      flush();
      readRange(link, keys[1], start, Math.min(end, local - 1), sink, true);
    }
    if (end >= local) {
      window.read(Math.max(start, local), end, sink);
    }
  }

  /**
   * One {@code XRANGE} of the sequenced frames {@code start..end}; with {@code exact}, a missing
   * frame anywhere is a {@link StoreUnavailableException}, else only a gap after the first is.
   */
  static void readRange(
      RedisLink link, String key, long start, long end, Consumer<EncodedFrame> sink, boolean exact) {
    List<StreamMessage<String, byte[]>> entries =
        link.await(link.async().xrange(key, Range.create(FrameFields.id(start), FrameFields.id(end))), "XRANGE " + key);
    long expect = exact ? start : -1;
    for (StreamMessage<String, byte[]> m : entries) {
      String id = m.getId();
      if (FrameFields.sub(id) != 0) {
        continue; // a signal: never replayed
      }
      long seq = FrameFields.seq(id);
      if (expect < 0) {
        expect = seq;
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
          "stream " + key + " lost entries: expected up to seq " + end + ", Redis has " + (expect - 1));
    }
  }

  /** The owner's window in this process's memory (Redis holds its own copy). */
  @Override
  public long retainedBytes() {
    return window.retainedBytes();
  }

  /** Trims this node's window only; older reads then come from Redis, bounded by its own bounds. */
  @Override
  public void trim(long maxBytes) {
    window.trim(maxBytes);
  }

  @Override
  public void clear() {
    // This process's memory only: the stream expires by the run record's retention, so other
    // nodes (and this one after a restart) can still serve resumes until then.
    window.clear();
    bytes = 0;
    oldest = head + 1;
    sizes = new int[8];
  }
}
