package dev.runlane.tck;

import dev.runlane.transport.CloseReason;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Payload;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The kit's inbound handler at the SPI level: records frames and closes, and notes every breach of
 * rules T7.1 (overlapping or reordered frames) and T7.2 (a frame after or during the close, a
 * second close) as it happens.
 */
final class RecordingHandler implements InboundHandler {

  private final AtomicInteger inside = new AtomicInteger();
  private volatile boolean inClose;
  private final List<Payload> frames = new ArrayList<>();
  private final List<CloseReason> closes = new ArrayList<>();
  private final List<Integer> framesAtClose = new ArrayList<>();
  private final List<String> t71 = new ArrayList<>();
  private final List<String> t72 = new ArrayList<>();
  private int activity; // guarded by this
  private final AtomicInteger slowFrames = new AtomicInteger();
  private volatile long slowNanos;

  /** Makes the next {@code count} frames take {@code micros} each, so that overlaps show. */
  void slowDown(int count, long micros) {
    slowNanos = micros * 1000;
    slowFrames.set(count);
  }

  @Override
  public void onFrame(Payload payload) {
    enter("onFrame");
    try {
      synchronized (this) {
        if (!closes.isEmpty()) {
          t72.add("onFrame #" + (frames.size() + 1) + " after onClose(" + closes.get(0) + ")");
        }
        frames.add(payload);
        notifyAll();
      }
      if (slowFrames.getAndDecrement() > 0) {
        LockSupport.parkNanos(slowNanos);
      }
    } finally {
      inside.decrementAndGet();
    }
  }

  @Override
  public void onActivity() {
    enter("onActivity");
    try {
      synchronized (this) {
        activity++;
      }
    } finally {
      inside.decrementAndGet();
    }
  }

  @Override
  public void onClose(CloseReason reason) {
    inClose = true;
    if (inside.incrementAndGet() != 1) {
      note(t72, "onClose(" + reason + ") ran while another handler call was still running");
    }
    try {
      synchronized (this) {
        closes.add(reason);
        framesAtClose.add(frames.size());
        notifyAll();
      }
      LockSupport.parkNanos(200_000); // give a racing onFrame the chance to show
    } finally {
      inClose = false;
      inside.decrementAndGet();
    }
  }

  private void enter(String what) {
    if (inside.incrementAndGet() != 1) {
      if (inClose) {
        note(t72, what + " ran while onClose was running");
      } else {
        note(t71, what + " ran while another call for the same connection was still running");
      }
    }
  }

  private synchronized void note(List<String> list, String violation) {
    list.add(violation);
  }

  synchronized List<Payload> frames() {
    return List.copyOf(frames);
  }

  synchronized int activityCount() {
    return activity;
  }

  synchronized int frameCount() {
    return frames.size();
  }

  synchronized List<CloseReason> closes() {
    return List.copyOf(closes);
  }

  synchronized int closeCount() {
    return closes.size();
  }

  /** Frames received when each onClose arrived. */
  synchronized List<Integer> framesAtClose() {
    return List.copyOf(framesAtClose);
  }

  synchronized List<String> t71Violations() {
    return List.copyOf(t71);
  }

  synchronized List<String> t72Violations() {
    return List.copyOf(t72);
  }
}
