package dev.runlane.testkit;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.FrameMeta;
import dev.runlane.engine.RunFeed;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One {@link RunFeed} tail of a {@link SharedMemoryCluster} node: a cursor into a stored log,
 * drained on the node's feed thread (one per node, like one blocking read loop), in write order,
 * each entry once.
 *
 * <p><b>Thread safety:</b> {@link #kick} from any thread; the drain runs on the node's feed thread
 * only, so the sink is never called concurrently with itself.
 */
final class ClusterTail implements RunFeed.Tail {
  private static final System.Logger LOG = System.getLogger(ClusterTail.class.getName());

  private final SharedMemoryCluster.Node node;
  private final String runId;
  private final RunFeed.Sink sink;
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private volatile boolean closed;
  private long cursor; // feed thread only (and the constructor)

  ClusterTail(SharedMemoryCluster.Node node, String runId, long start, RunFeed.Sink sink) {
    this.node = node;
    this.runId = runId;
    this.cursor = start;
    this.sink = sink;
  }

  /** New entries may be there: drain them on the node's feed thread. */
  void kick() {
    if (!closed && scheduled.compareAndSet(false, true)) {
      node.onFeedThread(this::drain);
    }
  }

  private void drain() {
    scheduled.set(false);
    for (int rounds = 0; rounds < 64 && !closed; rounds++) {
      if (!node.feedMayRun()) {
        return; // store down or the node cut off: resumed from the cursor by a later kick
      }
      StoredLog log = node.cluster().log(runId);
      if (log == null) {
        if (node.cluster().awaitingLog(runId)) {
          return; // claimed, its log not created yet: newLog kicks the tail
        }
        finish();
        safeLost();
        return;
      }
      List<StoredLog.Entry> batch = log.from(cursor, 256);
      if (batch.isEmpty()) {
        return;
      }
      for (StoredLog.Entry e : batch) {
        if (closed || !node.feedMayRun()) {
          return;
        }
        cursor = e.pos() + 1;
        EncodedFrame f = e.frame();
        try {
          sink.frame(f);
        } catch (RuntimeException ex) {
          LOG.log(System.Logger.Level.WARNING, "a tail's sink threw for run " + runId, ex);
        }
        FrameMeta m = f.meta();
        if (m != null && m.type() == FrameMeta.Type.TERMINAL) {
          finish();
          return;
        }
      }
    }
    kick(); // more than one drain's worth: let other tails of this node run first
  }

  private void safeLost() {
    try {
      sink.lost();
    } catch (RuntimeException ex) {
      LOG.log(System.Logger.Level.WARNING, "a tail's sink threw for run " + runId, ex);
    }
  }

  private void finish() {
    closed = true;
    node.tailGone(this, runId);
  }

  @Override
  public void close() {
    if (!closed) {
      finish();
    }
  }

  boolean isClosed() {
    return closed;
  }
}
