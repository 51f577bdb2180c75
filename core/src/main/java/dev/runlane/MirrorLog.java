package dev.runlane;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.RunLog;
import dev.runlane.engine.RunLogView;
import java.util.function.Consumer;

/**
 * A mirror's log: the head the engine's tail has delivered to the mirror so far, and the store's
 * copy of the frames for replay (read up to that head only, so a replay never overtakes the live
 * frames the tail has still to hand). Nothing is held in this process.
 *
 * <p><b>Thread safety:</b> as {@link RunLog}: called under the mirror's lock; the tail is its only
 * writer.
 */
final class MirrorLog implements RunLog {
  private final RunLogView view;
  private long head;

  MirrorLog(RunLogView view, long head) {
    this.view = view;
    this.head = head;
  }

  /** The tail delivered {@code seq}: the store holds it already. */
  @Override
  public void append(long seq, EncodedFrame frame) {
    head = Math.max(head, seq);
  }

  @Override
  public long head() {
    return head;
  }

  /** The store's oldest seq, never above the mirror's head + 1 (a store round trip). */
  @Override
  public long oldest() {
    return Math.max(1, Math.min(view.oldest(), head + 1));
  }

  @Override
  public void read(long from, long to, Consumer<EncodedFrame> sink) {
    long end = Math.min(to, head);
    if (from <= end) {
      view.read(from, end, sink);
    }
  }

  @Override
  public long retainedBytes() {
    return 0;
  }

  @Override
  public long retainedFrames() {
    return 0;
  }

  @Override
  public void trim(long maxBytes) {}

  @Override
  public void clear() {}
}
