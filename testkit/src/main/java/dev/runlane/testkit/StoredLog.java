package dev.runlane.testkit;

import dev.runlane.Approval;
import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.FrameMeta;
import dev.runlane.engine.RunFencedException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * One run's log in the {@link SharedMemoryCluster}'s store: its sequenced frames and unsequenced
 * signals in write order (like one Redis stream holding both), bounded like a ring, with the
 * pending approvals tracked from the signals and the fence of a recorded end.
 *
 * <p><b>Thread safety:</b> guarded by its own monitor; tails are notified outside it.
 */
final class StoredLog {
  /** One stored entry: a frame and its position; {@code at} is its seq, or the head a signal followed. */
  record Entry(long pos, long at, EncodedFrame frame) {
    boolean sequenced() {
      FrameMeta m = frame.meta();
      return m != null && m.sequenced();
    }
  }

  final String runId;
  private final int maxFrames;
  private final long maxBytes;
  private final ArrayDeque<Entry> entries = new ArrayDeque<>();
  private final Map<String, EncodedFrame> pending = new LinkedHashMap<>();
  final CopyOnWriteArraySet<ClusterTail> tails = new CopyOnWriteArraySet<>();
  private long nextPos = 1;
  private long head;
  private long bytes;
  private int sequencedHeld;
  /** The terminal seq recorded by the directory's end; 0 while running. */
  private long endedAt;
  private boolean terminalWritten;

  StoredLog(String runId, int maxFrames, long maxBytes) {
    this.runId = runId;
    this.maxFrames = Math.max(1, maxFrames);
    this.maxBytes = maxBytes;
  }

  synchronized void append(long seq, EncodedFrame f) {
    FrameMeta m = f.meta();
    boolean terminal = m != null && m.type() == FrameMeta.Type.TERMINAL;
    if (endedAt != 0 && !(terminal && seq == endedAt && !terminalWritten)) {
      throw new RunFencedException(runId);
    }
    if (seq != head + 1) {
      throw new IllegalStateException("append out of order: " + seq + " after " + head + " in run " + runId);
    }
    entries.addLast(new Entry(nextPos++, seq, f));
    head = seq;
    bytes += f.bytes();
    sequencedHeld++;
    if (terminal) {
      terminalWritten = true;
      pending.clear();
    }
    trim();
  }

  synchronized void signal(EncodedFrame f) {
    if (endedAt != 0) {
      throw new RunFencedException(runId);
    }
    FrameMeta m = f.meta();
    Approval a = m == null ? null : m.approval();
    if (m != null && a != null) {
      if (m.type() == FrameMeta.Type.APPROVAL_REQUESTED) {
        pending.put(a.approvalId(), f);
      } else {
        pending.remove(a.approvalId());
      }
    }
    entries.addLast(new Entry(nextPos++, head, f));
    trim();
  }

  private void trim() {
    while (!entries.isEmpty()) {
      Entry first = entries.peekFirst();
      boolean overCount = sequencedHeld > maxFrames || entries.size() > 2 * maxFrames + 64;
      boolean overBytes = maxBytes > 0 && bytes > maxBytes && sequencedHeld > 1;
      boolean leadingSignal = !first.sequenced() && (overCount || overBytes);
      if (!overCount && !overBytes && !leadingSignal) {
        return;
      }
      if (first.sequenced() && first.at() == head) {
        return; // the newest frame is always kept
      }
      entries.pollFirst();
      if (first.sequenced()) {
        sequencedHeld--;
        bytes -= first.frame().bytes();
      }
    }
  }

  /** Records the end at {@code terminalSeq}: only the terminal frame at that seq is accepted after. */
  synchronized boolean end(long terminalSeq, @Nullable EncodedFrame terminal) {
    if (endedAt != 0) {
      return false;
    }
    if (terminal != null && head != terminalSeq - 1) {
      return false;
    }
    endedAt = terminalSeq;
    if (terminal != null) {
      append(terminalSeq, terminal);
    }
    return true;
  }

  synchronized long head() {
    return head;
  }

  synchronized long oldest() {
    for (Entry e : entries) {
      if (e.sequenced()) {
        return e.at();
      }
    }
    return head + 1;
  }

  void read(long from, long to, Consumer<EncodedFrame> sink) {
    List<EncodedFrame> out = new ArrayList<>();
    synchronized (this) {
      for (Entry e : entries) {
        if (e.sequenced() && e.at() >= from && e.at() <= to) {
          out.add(e.frame());
        }
      }
    }
    out.forEach(sink);
  }

  synchronized List<EncodedFrame> pendingApprovals() {
    return new ArrayList<>(pending.values());
  }

  /** The position a tail after {@code afterSeq} starts at. */
  synchronized long startPosition(long afterSeq) {
    for (Entry e : entries) {
      if (e.sequenced() ? e.at() > afterSeq : e.at() >= afterSeq) {
        return e.pos();
      }
    }
    return nextPos;
  }

  /** Entries from {@code pos} on, at most {@code max}. */
  synchronized List<Entry> from(long pos, int max) {
    List<Entry> out = new ArrayList<>();
    for (Entry e : entries) {
      if (e.pos() >= pos) {
        out.add(e);
        if (out.size() == max) {
          break;
        }
      }
    }
    return out;
  }

  synchronized int size() {
    return entries.size();
  }
}
