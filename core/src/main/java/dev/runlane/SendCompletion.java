package dev.runlane;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.transport.Connection;
import dev.runlane.transport.SendCallback;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A send's callback: fires once even if a broken transport calls it twice (rule T2.2). One
 * reference field (16 bytes, where a flag and a target took 24): the target while the send is
 * outstanding, swapped once, atomically, for the target's transport, which the warning about a
 * second call names.
 *
 * <p><b>Thread safety:</b> safe for concurrent calls; only the first counts.
 */
class SendCompletion implements SendCallback {
  private static final Logger LOG = LoggerFactory.getLogger(SendCompletion.class);

  /** What a completion reports to: the outbox pipe that made the send. */
  interface Target {
    /** The transport the send went to. */
    Connection transport();

    /** The send ended: a success drains on, a failure closes the connection. */
    void completed(boolean success, @Nullable Throwable cause);

    /** A send that carried {@code frames} frames joined into one ended (see {@link Joined}). */
    void completed(boolean success, @Nullable Throwable cause, int frames);

    /** A live, stamped frame was written: report its delivery latency. */
    void delivered(EncodedFrame frame);
  }

  @SuppressWarnings("UnusedVariable") // accessed through STATE
  private volatile Object state;

  SendCompletion(Target target) {
    this.state = target;
  }

  @Override
  public void succeeded() {
    Target t = claim();
    if (t != null) {
      t.completed(true, null);
    }
  }

  @Override
  public void failed(Throwable cause) {
    Target t = claim();
    if (t != null) {
      t.completed(false, cause);
    }
  }

  /** The target, for the first call only; null (and a warning) for any later one. */
  final @Nullable Target claim() {
    Object s = state;
    if (s instanceof Target) {
      Target t = (Target) s;
      if (STATE.compareAndSet(this, t, t.transport())) {
        return t;
      }
      s = t.transport(); // another call won the race
    }
    LOG.warn("transport {} completed a send twice (rule T2.2); ignored", ((Connection) s).id());
    return null;
  }

  /** A live, stamped frame's callback in a timed outbox: a success reports the time since publish. */
  static final class Timed extends SendCompletion {
    private final EncodedFrame frame;

    Timed(Target target, EncodedFrame frame) {
      super(target);
      this.frame = frame;
    }

    @Override
    public void succeeded() {
      Target t = claim();
      if (t != null) {
        t.delivered(frame);
        t.completed(true, null);
      }
    }
  }

  /**
   * The callback of one send that carries several frames joined into one: it completes them all at
   * once, and reports the delivery latency of those that were live and stamped.
   */
  static final class Joined extends SendCompletion {
    private final int frames;
    private final EncodedFrame @Nullable [] stamped;

    Joined(Target target, int frames, EncodedFrame @Nullable [] stamped) {
      super(target);
      this.frames = frames;
      this.stamped = stamped;
    }

    @Override
    public void succeeded() {
      Target t = claim();
      if (t != null) {
        EncodedFrame[] s = stamped;
        if (s != null) {
          for (EncodedFrame f : s) {
            t.delivered(f);
          }
        }
        t.completed(true, null, frames);
      }
    }

    @Override
    public void failed(Throwable cause) {
      Target t = claim();
      if (t != null) {
        t.completed(false, cause, frames);
      }
    }
  }

  private static final VarHandle STATE;

  static {
    try {
      STATE = MethodHandles.lookup().findVarHandle(SendCompletion.class, "state", Object.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }
}
