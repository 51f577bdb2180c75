package dev.runlane;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.transport.Connection;
import dev.runlane.transport.Lane;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's bounded outbound queue: two lanes (control before stream), a frame and byte
 * bound, and at most {@code maxInFlight} sends outstanding per transport, advanced by the
 * transport's completion callbacks.
 *
 * <p>Enqueueing is cheap, never calls the transport and may run under a run's lock. Flushing
 * ({@link #flush()}) calls the transport and must run under no lock: a drain loop guarded by a
 * work-in-progress counter makes one thread at a time send for a pipe (rule T2.5), and a callback
 * that completes synchronously inside {@code send} does not recurse.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; queue state is guarded by {@code this}.
 */
final class Outbox {
  private static final Logger LOG = LoggerFactory.getLogger(Outbox.class);

  /** One transport with its own in-flight accounting. */
  final class Pipe implements JoinedSends.Pipe {
    final Connection transport;
    final boolean streamOnly;
    /** Whether the transport batches writes until {@link Connection#flush()} (rule T2.7). */
    private final boolean batching;
    /** Whether the transport reads nothing in a text frame (JOINED_MESSAGES): it may carry several. */
    private final boolean joinable;
    /** The drain loop's work-in-progress counter (rule T2.5), through {@link #WIP}. */
    @SuppressWarnings("UnusedVariable") // accessed through WIP
    private volatile int wip;
    /** The drain loop's thread, or null; set and cleared only by it, so reading yourself here is exact. */
    private @Nullable Thread drainer;
    /** Sends started. Guarded by Outbox.this. */
    long sent;
    /** Whether a send of this pipe failed. Guarded by Outbox.this. */
    private boolean failed;
    /** Completions accounted under the lock (asynchronous ones and failures). Guarded by Outbox.this. */
    private long completedLocked;
    /**
     * Successful completions on the drain loop's own thread, counted without a lock by the drain
     * owner (through {@link #wip}); written with release semantics, read under Outbox.this.
     */
    private volatile long syncCompleted;
    volatile boolean sentSinceTick;
    // housekeeping state, touched only by the timer thread
    long lastSeenCompleted;
    long stallSinceNanos;
    long lastSendAtNanos;

    Pipe(Connection transport, boolean streamOnly) {
      this.transport = transport;
      this.streamOnly = streamOnly;
      this.batching = transport.capabilities().contains(dev.runlane.transport.Capability.BATCHING);
      this.joinable = transport.capabilities().contains(dev.runlane.transport.Capability.JOINED_MESSAGES);
    }

    Outbox outbox() {
      return Outbox.this;
    }

    /**
     * Sends completed so far. Read under Outbox.this, {@code sent - completed()} is the number in
     * flight: a synchronous completion it sees belongs to a send counted before the lock was taken.
     */
    long completed() {
      return completedLocked + syncCompleted;
    }

    void drain() {
      if ((int) WIP.getAndAdd(this, 1) != 0) {
        return;
      }
      Thread me = Thread.currentThread();
      int missed = 1;
      for (; ; ) {
        drainer = me;
        boolean sentAny = false;
        // a backlog may leave in joined frames (read once per pass: a hello may switch it on)
        boolean join = joinable && owner.joins();
        for (; ; ) {
          EncodedFrame next;
          boolean more;
          boolean timed;
          EncodedFrame @Nullable [] batch = null;
          boolean @Nullable [] batchTimed = null;
          int n = 1;
          synchronized (Outbox.this) {
            if (closed || sent - completedLocked - syncCompleted >= maxInFlight) {
              break;
            }
            next = poll(this);
            if (next == null) {
              break;
            }
            sent++;
            more = hasQueued(this);
            timed = latencyClock != null && !polledReplay && next.isStamped();
            if (join && more) {
              batch = new EncodedFrame[Math.min(JoinedSends.MAX_JOINED_FRAMES, queuedFrames + 1)];
              batchTimed = latencyClock != null ? new boolean[batch.length] : null;
              batch[0] = next;
              if (batchTimed != null) {
                batchTimed[0] = timed;
              }
              long bytes = next.bytes();
              // the whole backlog, up to the caps, however full the window (see MAX_POLLED_BYTES)
              while (more && n < batch.length && bytes < JoinedSends.MAX_POLLED_BYTES) {
                EncodedFrame f = poll(this);
                if (f == null) {
                  break;
                }
                sent++;
                batch[n] = f;
                if (batchTimed != null) {
                  batchTimed[n] = !polledReplay && f.isStamped();
                }
                n++;
                bytes += f.bytes();
                more = hasQueued(this);
              }
            }
          }
          if (!sentSinceTick) {
            sentSinceTick = true; // a volatile write costs a fence: only once per housekeeping tick
          }
          sentAny = true;
          if (batch != null && n > 1) {
            JoinedSends.send(this, owner, transport, batch, batchTimed, n);
          } else {
            SendCompletion done = timed ? new SendCompletion.Timed(this, next) : new SendCompletion(this);
            try {
              // the form in the connection's negotiated protocol; the budgets counted the protocol-1
              // size, an upper bound for the JSON codec's compact form (always shorter)
              transport.send(owner.wire(next), done);
            } catch (RuntimeException | Error e) {
              done.failed(e);
            }
          }
          if (!more) {
            // Nothing was left behind this frame. A frame queued since comes with a flush, and an
            // asynchronous completion with a drain: both raise wip, so the loop below comes back.
            break;
          }
        }
        // a completion inside flush() (rule T2.3) must raise wip, or a pass stopped at the limit
        drainer = null; // would leave the backlog stranded until the next enqueue
        if (sentAny && batching) {
          // The end of a drain: what the transport batched goes out now, in as few writes as it
          // can; a lone frame goes out at once (rule T2.7).
          try {
            transport.flush();
          } catch (RuntimeException | Error e) {
            owner.deliveryFailed(dev.runlane.transport.CloseReason.SEND_FAILED, e);
          }
        }
        if (sentAny) {
          try {
            owner.drained();
          } catch (RuntimeException e) {
            // a backlog waiter's failure must not leave wip raised: that would wedge this pipe
            LOG.error("backlog notification failed on {}", transport.id(), e);
          }
        }
        missed = (int) WIP.getAndAdd(this, -missed) - missed;
        if (missed == 0) {
          return;
        }
      }
    }

    @Override
    public Connection transport() {
      return transport;
    }

    @Override
    public boolean stopped() {
      synchronized (Outbox.this) {
        return failed || closed;
      }
    }

    @Override
    public void dropped(int frames) {
      synchronized (Outbox.this) {
        completedLocked += frames;
      }
    }

    @Override
    public void delivered(EncodedFrame frame) {
      TimeSource clock = java.util.Objects.requireNonNull(latencyClock);
      owner.deliveryLatency(frame.lane(), clock.nanoTime() - frame.publishedAtNanos());
    }

    @Override
    public void completed(boolean success, @Nullable Throwable cause) {
      completed(success, cause, 1);
    }

    @Override
    public void completed(boolean success, @Nullable Throwable cause, int frames) {
      if (success && drainer == Thread.currentThread()) {
        // Completed inside a send of this pipe's own drain loop, which goes on by itself: count it
        // without a lock and without re-entering the loop.
        SYNC_COMPLETED.setRelease(this, syncCompleted + frames);
        return;
      }
      synchronized (Outbox.this) {
        completedLocked += frames;
        if (success) {
          delivered += frames;
        } else {
          failed = true;
        }
      }
      if (success) {
        drain();
      } else {
        owner.deliveryFailed(dev.runlane.transport.CloseReason.SEND_FAILED, cause);
      }
    }
  }

  private static final VarHandle WIP;
  private static final VarHandle SYNC_COMPLETED;

  static {
    try {
      MethodHandles.Lookup l = MethodHandles.lookup();
      WIP = l.findVarHandle(Pipe.class, "wip", int.class);
      SYNC_COMPLETED = l.findVarHandle(Pipe.class, "syncCompleted", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final OutboxOwner owner;
  private final int maxFrames;
  private final long maxBytes;
  private final int maxInFlight;
  private final int maxReplayFrames;
  /** Non-null if live run frames' deliveries are timed (the metrics listener asks for it). */
  private final @Nullable TimeSource latencyClock;
  final Pipe primary;
  private volatile @Nullable Pipe streamPipe;

  // guarded by this
  // Small at first (3 slots, 32 bytes, where the default 17 take 88): most connections sit idle,
  // and a busy one grows its deque by doubling within a few frames.
  private final ArrayDeque<Object> control = new ArrayDeque<>(2);
  private final ArrayDeque<Object> stream = new ArrayDeque<>(2);
  private final Map<String, QueuedFrame.Coalesced> coalescing = new HashMap<>();
  private int queuedFrames;
  private long queuedBytes;
  private int replayFrames; // of queuedFrames, those replayed
  private long replayBytes; // of queuedBytes, those replayed
  private long delivered; // successful completions accounted under this; see delivered()
  private boolean streamEverQueued;
  private boolean closed;
  /** Whether the frame {@link #poll} returned last was replayed (not live). */
  private boolean polledReplay;

  Outbox(OutboxOwner owner, Connection transport, int maxFrames, long maxBytes, int maxInFlight) {
    this(owner, transport, maxFrames, maxBytes, maxInFlight, maxFrames, null, null);
  }

  /**
   * @param maxReplayFrames replayed frames (references into run rings) queued at most at once,
   *     apart from the live bounds
   * @param latencyClock if non-null, times live stamped frames' sends ({@link OutboxOwner#deliveryLatency})
   * @param loop the write thread that drains this outbox, or null to drain on the flushing thread
   */
  Outbox(OutboxOwner owner, Connection transport, int maxFrames, long maxBytes, int maxInFlight, int maxReplayFrames,
      @Nullable TimeSource latencyClock, WriteLoops.@Nullable Loop loop) {
    this.writeSlot = loop == null ? null : loop.slot(this::drainNow);
    this.owner = owner;
    this.latencyClock = latencyClock;
    this.maxFrames = maxFrames;
    this.maxBytes = maxBytes;
    this.maxInFlight = maxInFlight;
    this.maxReplayFrames = maxReplayFrames;
    this.inlineBacklog = Math.max(1, Math.min(WriteLoops.INLINE_BACKLOG, maxFrames / 2));
    this.primary = new Pipe(transport, false);
  }

  /**
   * Queues a frame. Returns false if the outbox is closed or overflowed; on overflow the owner is
   * told at the next {@link #flush()} (outside any lock).
   */
  boolean enqueue(EncodedFrame f) {
    synchronized (this) {
      if (closed) {
        return false;
      }
      if (f.coalesceKey() != null) {
        QueuedFrame.Coalesced queued = coalescing.get(f.coalesceKey());
        if (queued != null) {
          queuedBytes += f.bytes() - queued.frame.bytes();
          queued.frame = f; // latest wins, keeps its queue position
          return true;
        }
      }
      // one limit for everything the connection holds: frames queued here and frames handed to the
      // transport whose send has not completed (issue 12 item 8)
      if (queuedFrames - replayFrames + inFlightLocked() + 1 > maxFrames
          || queuedBytes - replayBytes + f.bytes() > maxBytes) {
        overflowLocked();
        return false;
      }
      Object item = f;
      if (f.coalesceKey() != null) {
        QueuedFrame.Coalesced c = new QueuedFrame.Coalesced(f);
        coalescing.put(f.coalesceKey(), c);
        item = c;
      }
      if (f.lane() == Lane.CONTROL) {
        control.addLast(item);
      } else {
        stream.addLast(item);
        streamEverQueued = true;
      }
      queuedFrames++;
      queuedFramesRacy = queuedFrames;
      queuedBytes += f.bytes();
      return true;
    }
  }

  /**
   * Queues a frame replayed from a run's ring (a subscribe's catch-up). It counts against {@code
   * maxReplayFrames}, not against the live frame and byte bounds. Returns false if the outbox is
   * closed or overflowed.
   */
  boolean enqueueReplay(EncodedFrame f) {
    synchronized (this) {
      if (closed) {
        return false;
      }
      if (replayFrames + 1 > maxReplayFrames) {
        overflowLocked();
        return false;
      }
      if (f.lane() == Lane.CONTROL) {
        control.addLast(new QueuedFrame.Replayed(f));
      } else {
        stream.addLast(new QueuedFrame.Replayed(f));
        streamEverQueued = true;
      }
      queuedFrames++;
      queuedFramesRacy = queuedFrames;
      queuedBytes += f.bytes();
      replayFrames++;
      replayBytes += f.bytes();
      return true;
    }
  }

  private void overflowLocked() {
    overflowed = true;
    closed = true;
    clearLocked();
  }

  /** Written under this; read without it by {@link #flush()}'s fast path. */
  private volatile boolean overflowed;

  private boolean overflowReported; // guarded by this

  /** Sends what the in-flight limit allows on every pipe, on this thread (a pipe a write thread drains is left to it). */
  void flush() {
    if (!reportOverflow()) {
      drainNow();
    }
  }

  /**
   * Like {@link #flush()}, but hands the drain to this outbox's write thread if it has one (a run's
   * frames pushed to recipients; replies to a command are flushed at once), unless {@code lone} (the
   * run has no other recipient) and the write thread's loop lets this push be written here ({@link
   * WriteLoops.Slot#inlineLone}). Call under no lock.
   */
  void flushSoon(boolean lone) {
    if (reportOverflow()) {
      return;
    }
    WriteLoops.Slot s = writeSlot;
    if (s != null && queuedFramesRacy < inlineBacklog && s.active() && !(lone && s.inlineLone())) {
      s.schedule(); // the write thread drains it, with whatever arrives meanwhile
      return;
    }
    drainNow();
  }

  /** Tells the owner of an overflow, once; true if the outbox overflowed (nothing to drain). */
  private boolean reportOverflow() {
    // The enqueue that overflowed sets the flag before its caller flushes, so that caller's flush
    // sees it (program order); any other flush may see it late, which only delays nothing: the
    // outbox is already closed and drains nothing.
    boolean report = false;
    if (overflowed) {
      synchronized (this) {
        report = !overflowReported;
        overflowReported = true;
      }
    }
    if (report) {
      owner.deliveryFailed(dev.runlane.transport.CloseReason.SLOW_CONSUMER, null);
    }
    return overflowed;
  }

  private void drainNow() {
    primary.drain();
    Pipe s = streamPipe;
    if (s != null) {
      s.drain();
    }
  }

  /**
   * Queued frames from which the pushing thread drains itself: {@link WriteLoops#INLINE_BACKLOG},
   * or half the frame bound if that is lower, so a lagging write thread cannot overflow a small one.
   */
  private final int inlineBacklog;
  /** This outbox's place on its write thread, or null to drain on the flushing thread. */
  private final WriteLoops.@Nullable Slot writeSlot;
  /**
   * {@link #queuedFrames}, read without the lock by {@link #flush()} to choose between the write
   * thread and an inline drain: a stale value only picks the other, equally correct, path.
   */
  private int queuedFramesRacy;

  /** Whether frames for {@code pipe} are queued. Call under this. */
  private boolean hasQueued(Pipe pipe) {
    if (pipe.streamOnly) {
      return !stream.isEmpty();
    }
    return !control.isEmpty() || (streamPipe == null && !stream.isEmpty());
  }

  private @Nullable EncodedFrame poll(Pipe pipe) {
    Object item = null;
    if (!pipe.streamOnly) {
      item = control.pollFirst();
    }
    if (item == null && (pipe.streamOnly || streamPipe == null)) {
      item = stream.pollFirst();
    }
    if (item == null) {
      return null;
    }
    EncodedFrame f;
    polledReplay = item instanceof QueuedFrame.Replayed;
    if (polledReplay) {
      f = ((QueuedFrame.Replayed) item).frame;
      replayFrames--;
      replayBytes -= f.bytes();
    } else if (item instanceof QueuedFrame.Coalesced) {
      f = ((QueuedFrame.Coalesced) item).frame;
      if (f.coalesceKey() != null) {
        coalescing.remove(f.coalesceKey());
      }
    } else {
      f = (EncodedFrame) item;
    }
    queuedFrames--;
    queuedFramesRacy = queuedFrames;
    queuedBytes -= f.bytes();
    return f;
  }

  /**
   * Pairs a stream transport. Refused once any stream-lane frame was queued on the primary: a
   * run's frames never switch transports mid-stream.
   */
  synchronized boolean pairStream(Connection transport) {
    if (closed || streamPipe != null || streamEverQueued) {
      return false;
    }
    streamPipe = new Pipe(transport, true);
    return true;
  }

  @Nullable Pipe streamPipe() {
    return streamPipe;
  }

  /** Stops all sending and drops what is queued (the connection is going away). */
  void close() {
    synchronized (this) {
      closed = true;
      clearLocked();
    }
  }

  private void clearLocked() {
    control.clear();
    stream.clear();
    coalescing.clear();
    queuedFrames = 0;
    queuedFramesRacy = 0;
    queuedBytes = 0;
    replayFrames = 0;
    replayBytes = 0;
  }

  synchronized boolean isClosed() {
    return closed;
  }

  synchronized int queuedFrames() {
    return queuedFrames;
  }

  synchronized long queuedBytes() {
    return queuedBytes;
  }

  /** Sends started and not completed, on every pipe. Under this. */
  private long inFlightLocked() {
    Pipe s = streamPipe;
    long n = primary.sent - primary.completed();
    if (s != null) {
      n += s.sent - s.completed();
    }
    return n;
  }

  synchronized int inFlight() {
    return (int) inFlightLocked();
  }

  synchronized long delivered() {
    // every synchronous completion is a success (failures are accounted under the lock)
    Pipe s = streamPipe;
    return delivered + primary.syncCompleted + (s == null ? 0 : s.syncCompleted);
  }
}
