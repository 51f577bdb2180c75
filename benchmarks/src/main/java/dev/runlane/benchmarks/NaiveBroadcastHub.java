package dev.runlane.benchmarks;

import dev.runlane.codec.Outbound;
import dev.runlane.codec.WireCodec;
import dev.runlane.transport.Connection;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.SendCallback;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The baseline for targeted routing: the seeds' "before". Every event is offered to every
 * registered connection, and each connection's set of runs decides whether it is sent (the
 * filter is done server-side, which is kinder to the baseline than sending to every socket and
 * letting clients drop what is not theirs). The event is encoded once, like Runlane does.
 *
 * <p><b>Thread safety:</b> registration is safe for concurrent use; {@link #publish} may run
 * concurrently with it but a connection's subscription set is written before it is registered.
 */
public final class NaiveBroadcastHub {
  private static final SendCallback IGNORE =
      new SendCallback() {
        @Override
        public void succeeded() {}

        @Override
        public void failed(Throwable cause) {}
      };

  private static final class Entry {
    final Connection connection;
    final Set<String> runs = new HashSet<>();

    Entry(Connection connection) {
      this.connection = connection;
    }
  }

  private final ConcurrentHashMap<String, Entry> connections = new ConcurrentHashMap<>();
  private final WireCodec codec;
  private long seq;

  /** A hub that encodes with {@code codec}. */
  public NaiveBroadcastHub(WireCodec codec) {
    this.codec = codec;
  }

  /** Registers a connection receiving {@code runIds}. */
  public void register(Connection c, String... runIds) {
    Entry e = new Entry(c);
    e.runs.addAll(java.util.List.of(runIds));
    connections.put(c.id(), e);
  }

  /** Removes a connection. */
  public void unregister(String connectionId) {
    connections.remove(connectionId);
  }

  /** Broadcasts one event of {@code runId} to every connection; returns how many got it. */
  public int publish(String runId, String sessionId, String kind, Object data) {
    Frame f =
        new Frame(
            Lane.STREAM,
            codec.encode(new Outbound.RunEvent(runId, sessionId, "e", ++seq, kind, data)));
    int sent = 0;
    for (Entry e : connections.values()) {
      if (e.runs.contains(runId)) {
        e.connection.send(f, IGNORE);
        sent++;
      }
    }
    return sent;
  }

  /** Connections registered. */
  public int size() {
    return connections.size();
  }
}
