package dev.runlane.benchmarks;

import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.Frame;
import dev.runlane.transport.SendCallback;
import java.util.Set;

/**
 * A zero-cost in-memory {@link Connection}: every send completes successfully at once, on the
 * calling thread, and is counted. It stands for a socket whose write never waits, so a benchmark
 * measures Runlane and not a transport.
 *
 * <p>Each send hands its frame to a {@link Sink}, so the JIT cannot prove the frame unused and
 * delete its allocation (a real socket reads every frame). One sink is shared by many connections
 * (one per publishing thread): a write into one hot object costs the garbage collector's write
 * barrier almost nothing, whereas a field per connection would dirty a different card per delivery.
 *
 * <p><b>Thread safety:</b> Runlane never sends concurrently on one connection (rule T2.5), so the
 * counters are plain fields; read them after the measured work, from a thread that has a
 * happens-before edge to it (e.g. the same thread, or after joining the publishers). Give each
 * publishing thread its own {@link Sink}.
 */
public final class BenchConnection implements Connection {
  /** Where sent frames go; the last one is kept, the rest are garbage. */
  public static final class Sink {
    /** The process-wide sink, for single-threaded benchmarks. */
    public static final Sink SHARED = new Sink();

    /** The last frame handed over (read it, or the JIT may drop the store). */
    public Object last = "";
  }

  private final String id;
  private final String principal;
  private final Sink sink;
  private volatile boolean open = true;
  /** Frames sent (all lanes). */
  public long sends;

  /** A connection with this id and principal, no optional capabilities, on the shared sink. */
  public BenchConnection(String id, String principal) {
    this(id, principal, Sink.SHARED);
  }

  /** A connection whose frames go to {@code sink}. */
  public BenchConnection(String id, String principal, Sink sink) {
    this.id = id;
    this.principal = principal;
    this.sink = sink;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String principal() {
    return principal;
  }

  @Override
  public void send(Frame frame, SendCallback callback) {
    if (!open) {
      callback.failed(new IllegalStateException("closed"));
      return;
    }
    sends++;
    sink.last = frame;
    callback.succeeded();
  }

  @Override
  public void close(CloseReason reason) {
    open = false;
  }

  @Override
  public void terminate() {
    open = false;
  }

  @Override
  public boolean isOpen() {
    return open;
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of();
  }
}
