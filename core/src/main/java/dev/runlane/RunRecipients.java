package dev.runlane;

import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A run's edges to connections, and the subset that receives its events as a copy-on-write array
 * for fan-out. An edge is created when a connection first becomes a recipient or gets a cursor,
 * and dropped from both sides as soon as it carries nothing (see {@link RunEdge}).
 *
 * <p><b>Thread safety:</b> not thread-safe: every method is called under the owning run's lock.
 * {@link #array()} may be read and iterated after the lock is released (it is never mutated).
 */
final class RunRecipients {
  private static final RunEdge[] NONE = new RunEdge[0];

  private final RunEdge.Owner run;
  private RunEdge[] recipients = NONE;
  private final Map<ConnectionState, RunEdge> edges = new IdentityHashMap<>();

  RunRecipients(RunEdge.Owner run) {
    this.run = run;
  }

  /** The deepest outbox among {@code recipients}, in frames. */
  static int deepestQueue(RunEdge[] recipients) {
    int max = 0;
    for (RunEdge e : recipients) {
      max = Math.max(max, e.connection.outbox.queuedFrames());
    }
    return max;
  }

  /** The connections of {@code recipients}. */
  static List<ConnectionState> connections(RunEdge[] recipients) {
    ConnectionState[] out = new ConnectionState[recipients.length];
    for (int i = 0; i < recipients.length; i++) {
      out[i] = recipients[i].connection;
    }
    return List.of(out);
  }

  /** The current recipients; an immutable snapshot. */
  RunEdge[] array() {
    return recipients;
  }

  @Nullable RunEdge get(ConnectionState c) {
    return edges.get(c);
  }

  List<RunEdge> all() {
    return List.copyOf(edges.values());
  }

  /** The edge with {@code c}, created (and linked on the connection's side) if absent. */
  RunEdge edge(ConnectionState c) {
    RunEdge e = edges.get(c);
    if (e == null) {
      e = new RunEdge(run, c);
      edges.put(c, e);
      c.runLinks.add(e); // before any closed check: see ConnectionState#closeLocally
    }
    return e;
  }

  /** Drops {@code e} from both sides if it carries nothing. */
  void prune(RunEdge e) {
    if (e.isEmpty() && edges.remove(e.connection, e)) {
      e.connection.runLinks.remove(e);
    }
  }

  /** Where a subscribe's replay starts, and whether what it asked for is partly gone. */
  record Resume(long from, boolean truncated) {}

  /**
   * The replay start of a subscribe of {@code e}'s connection asking for {@code n + 1 ..}, read
   * without consuming the edge's cursors (see {@link #consume}): never behind what the connection
   * was already handed. A recipient has been handed everything up to head; a connection that was
   * one before, up to what it was handed then (those frames are queued or delivered, in order,
   * ahead of this replay). One attached without a replay must be told of the gap below its first
   * handed seq: it cannot be replayed ahead of the later frames already handed.
   */
  static Resume resume(@Nullable RunEdge e, long n, long head, long oldest) {
    boolean attached = e != null && e.recipient;
    long covered = e == null ? 0 : e.coveredFrom;
    long from;
    boolean truncated;
    if (attached) {
      from = head + 1;
      truncated = false;
    } else {
      long handed = e == null ? 0 : e.handedUpTo;
      from = Math.max(n, handed) + 1;
      truncated = from < oldest && from <= head;
    }
    if (covered != 0 && n + 1 < covered) {
      truncated = true;
    }
    return new Resume(from, truncated);
  }

  /** The subscribe of {@link #resume} happened: its cursors are used up. */
  void consume(@Nullable RunEdge e) {
    if (e == null) {
      return;
    }
    e.coveredFrom = 0;
    if (!e.recipient) {
      e.handedUpTo = 0;
    }
    prune(e);
  }

  /** Records that {@code e}'s connection, leaving the recipients but staying open, was handed up to {@code head}. */
  static void rememberHanded(RunEdge e, long head) {
    if (!e.connection.isClosed() && head > 0) {
      e.handedUpTo = head;
    }
  }

  /**
   * Makes {@code c} a recipient, displacing its principal's other connections on a takeover (they
   * keep a cursor at {@code head}).
   *
   * @return its edge, or null if the connection is closed
   */
  @Nullable RunEdge add(ConnectionState c, AttachMode mode, long head) {
    if (mode == AttachMode.TAKEOVER) {
      for (RunEdge r : recipients) {
        if (r.connection != c && r.connection.principal.equals(c.principal)) {
          remove(r);
          rememberHanded(r, head);
          prune(r);
        }
      }
    }
    RunEdge e = edge(c);
    if (e.recipient) {
      return e;
    }
    if (c.isClosed()) {
      prune(e);
      return null;
    }
    e.recipient = true;
    RunEdge[] next = Arrays.copyOf(recipients, recipients.length + 1);
    next[recipients.length] = e;
    recipients = next;
    return e;
  }

  /** Stops {@code e} receiving (its cursors stay). */
  void remove(RunEdge e) {
    if (!e.recipient) {
      return;
    }
    e.recipient = false;
    for (int i = 0; i < recipients.length; i++) {
      if (recipients[i] == e) {
        RunEdge[] next = new RunEdge[recipients.length - 1];
        System.arraycopy(recipients, 0, next, 0, i);
        System.arraycopy(recipients, i + 1, next, i, recipients.length - i - 1);
        recipients = next;
        return;
      }
    }
  }

  /** The run ended: nobody receives any more; each recipient keeps a cursor at {@code head}. */
  RunEdge[] endAll(long head) {
    RunEdge[] was = recipients;
    recipients = NONE;
    for (RunEdge t : was) {
      t.recipient = false;
      rememberHanded(t, head);
      prune(t);
    }
    return was;
  }

  /** Eviction: drop every edge from both sides. */
  void clear() {
    for (RunEdge e : edges.values()) {
      e.connection.runLinks.remove(e);
    }
    edges.clear();
    recipients = NONE;
  }
}
