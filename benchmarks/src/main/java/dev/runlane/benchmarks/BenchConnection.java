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
 * <p><b>Thread safety:</b> Runlane never sends concurrently on one connection (rule T2.5), so the
 * counters are plain fields; read them after the measured work, from a thread that has a
 * happens-before edge to it (e.g. the same thread, or after joining the publishers).
 */
public final class BenchConnection implements Connection {
  private final String id;
  private final String principal;
  private volatile boolean open = true;
  /**
   * Frames sent (all lanes). The counter is the only state a send writes: storing the frame in this
   * long-lived object would add a garbage-collector write barrier per delivery that a real socket
   * write does not have.
   */
  public long sends;

  /** A connection with this id and principal, no optional capabilities. */
  public BenchConnection(String id, String principal) {
    this.id = id;
    this.principal = principal;
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
