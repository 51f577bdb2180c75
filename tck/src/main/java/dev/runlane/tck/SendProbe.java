package dev.runlane.tck;

import dev.runlane.transport.SendCallback;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/** A send callback that counts its completions and may run a hook inside the callback. */
final class SendProbe implements SendCallback {

  /** Runs inside the callback, on the transport's completing thread. */
  interface Hook {
    void run(SendProbe probe, boolean success);
  }

  final int index;
  private final AtomicInteger successes = new AtomicInteger();
  private final AtomicInteger failures = new AtomicInteger();
  private volatile @Nullable Throwable cause;
  private final @Nullable Hook hook;

  SendProbe(int index, @Nullable Hook hook) {
    this.index = index;
    this.hook = hook;
  }

  SendProbe(int index) {
    this(index, null);
  }

  @Override
  public void succeeded() {
    successes.incrementAndGet();
    Hook h = hook;
    if (h != null) {
      h.run(this, true);
    }
  }

  @Override
  public void failed(Throwable cause) {
    this.cause = cause;
    failures.incrementAndGet();
    Hook h = hook;
    if (h != null) {
      h.run(this, false);
    }
  }

  boolean done() {
    return successes.get() + failures.get() > 0;
  }

  int completions() {
    return successes.get() + failures.get();
  }

  int successes() {
    return successes.get();
  }

  int failures() {
    return failures.get();
  }

  @Nullable Throwable cause() {
    return cause;
  }

  @Override
  public String toString() {
    return "send #" + index + " (succeeded " + successes.get() + "x, failed " + failures.get() + "x)";
  }
}
