package dev.runlane;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.RunLog;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A run's log as the engine made it, with every change of the bytes it holds added to the node's
 * total: the measure of the process-wide retention budget, counted once per retained frame however
 * many outboxes also reference it.
 *
 * <p><b>Thread safety:</b> as the wrapped log: a single writer under the owning run's lock; the
 * total is atomic.
 */
final class CountedLog implements RunLog {
  private final RunLog log;
  private final AtomicLong total;

  CountedLog(RunLog log, AtomicLong total) {
    this.log = log;
    this.total = total;
  }

  @Override
  public void append(long seq, EncodedFrame frame) {
    long before = log.retainedBytes();
    log.append(seq, frame);
    total.addAndGet(log.retainedBytes() - before);
  }

  @Override
  public void signal(EncodedFrame frame) {
    log.signal(frame);
  }

  @Override
  public void trim(long maxBytes) {
    long before = log.retainedBytes();
    log.trim(maxBytes);
    total.addAndGet(log.retainedBytes() - before);
  }

  @Override
  public void clear() {
    long before = log.retainedBytes();
    log.clear();
    total.addAndGet(log.retainedBytes() - before);
  }

  @Override
  public long head() {
    return log.head();
  }

  @Override
  public long oldest() {
    return log.oldest();
  }

  @Override
  public void read(long from, long to, Consumer<EncodedFrame> sink) {
    log.read(from, to, sink);
  }

  @Override
  public long retainedBytes() {
    return log.retainedBytes();
  }

  @Override
  public long retainedFrames() {
    return log.retainedFrames();
  }
}
