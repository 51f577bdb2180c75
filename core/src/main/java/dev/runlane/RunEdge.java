package dev.runlane;

import dev.runlane.engine.EncodedFrame;
import org.jspecify.annotations.Nullable;

/**
 * The edge between one run and one connection: whether the connection receives the run's events,
 * and the pair's two resume cursors. It replaces separate recipient sets and cursor maps on both
 * sides: the run holds its edges by connection, the connection holds them as {@link
 * ConnectionState.RunLink}s, and an edge with nothing left to say is dropped from both.
 *
 * <p>Cursors: {@code coveredFrom} is, for a connection attached without a replay after events
 * existed, the first seq it was handed (0: none, it has everything from seq 1). {@code
 * handedUpTo} is, for a connection that stopped receiving while staying open (detach,
 * unsubscribe, takeover, the run's end), the last seq it was handed (0: none). Together they keep
 * a connection's position from moving backwards (no duplicate) and make every gap announced.
 *
 * <p><b>Thread safety:</b> every field but the final ones is guarded by the owning run's lock;
 * {@link #recipient} is also volatile for reads without it.
 */
final class RunEdge implements ConnectionState.RunLink {

  /** What an edge needs from its run. */
  interface Owner {
    String sessionId();

    /** Stops delivering to the edge's connection; see {@link ConnectionState.RunLink#detach()}. */
    boolean detach(ConnectionState c);

    /** The edge's connection closed: drop the edge. */
    void connectionClosed(RunEdge edge);

    /** A recipient's backlog shrank. */
    void backlogShrank();
  }

  final Owner run;
  final ConnectionState connection;
  volatile boolean recipient;
  long coveredFrom;
  long handedUpTo;

  RunEdge(Owner run, ConnectionState connection) {
    this.run = run;
    this.connection = connection;
  }

  /** Queues {@code f} (if encoded) on the connections of {@code edges}; under the run lock. */
  static void enqueue(RunEdge[] edges, @Nullable EncodedFrame f) {
    if (f != null) {
      for (RunEdge e : edges) {
        e.connection.enqueue(f);
      }
    }
  }

  /** Flushes the connections of {@code edges} after a hand-off under a run lock; call under no lock. */
  static void flush(RunEdge[] edges) {
    boolean lone = edges.length == 1;
    for (RunEdge e : edges) {
      e.connection.flushSoon(lone);
    }
  }

  /** Whether the edge carries nothing: it can be dropped from both sides. */
  boolean isEmpty() {
    return !recipient && coveredFrom == 0 && handedUpTo == 0;
  }

  /** Takes the covered-from cursor (0 if none). */
  long takeCoveredFrom() {
    long v = coveredFrom;
    coveredFrom = 0;
    return v;
  }

  /** Takes the handed-up-to cursor (0 if none). */
  long takeHandedUpTo() {
    long v = handedUpTo;
    handedUpTo = 0;
    return v;
  }

  @Override
  public String sessionId() {
    return run.sessionId();
  }

  @Override
  public boolean isRecipient() {
    return recipient;
  }

  @Override
  public void detach() {
    run.detach(connection);
  }

  @Override
  public void connectionClosed() {
    run.connectionClosed(this);
  }

  @Override
  public void backlogShrank() {
    run.backlogShrank();
  }
}
