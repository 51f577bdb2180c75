package dev.runlane.testkit;

import dev.runlane.Runlane;
import dev.runlane.transport.Capability;
import dev.runlane.transport.InboundHandler;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Opens {@link InMemoryConnection}s against a {@link Runlane}, as a host's socket layer would.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class InMemoryTransport {
  private final Runlane runlane;
  private final AtomicLong ids = new AtomicLong();

  /** A transport for {@code runlane}. */
  public InMemoryTransport(Runlane runlane) {
    this.runlane = Objects.requireNonNull(runlane, "runlane");
  }

  /** Opens and registers a connection for {@code principal} with a generated id. */
  public InMemoryConnection open(String principal) {
    return open(principal, "c" + ids.incrementAndGet(), Set.of());
  }

  /** Opens and registers a connection with the given id and capabilities. */
  public InMemoryConnection open(String principal, String id, Set<Capability> capabilities) {
    return connect(new InMemoryConnection(id, principal, capabilities));
  }

  /**
   * Registers a connection the test set up first, so its {@link InMemoryConnection#mode mode}, its
   * {@link InMemoryConnection#onFrame frame listener} or its close behaviour already apply to the
   * welcome frame: {@code tx.connect(new InMemoryConnection("c1", "alice", Set.of()).mode(MANUAL))}.
   */
  public InMemoryConnection connect(InMemoryConnection c) {
    InboundHandler h = runlane.connect(c);
    c.bind(h);
    return c;
  }

  /** Opens a stream transport for {@code primary}, presenting {@code generation}. */
  public InMemoryConnection openStream(InMemoryConnection primary, long generation) {
    InMemoryConnection s =
        new InMemoryConnection(primary.id() + "-stream-" + ids.incrementAndGet(), primary.principal(), Set.of());
    InboundHandler h = runlane.connectStream(s, primary.id(), generation);
    s.bind(h);
    return s;
  }

  /** The Runlane behind this transport. */
  public Runlane runlane() {
    return runlane;
  }
}
