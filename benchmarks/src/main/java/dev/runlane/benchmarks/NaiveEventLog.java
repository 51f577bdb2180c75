package dev.runlane.benchmarks;

import dev.runlane.codec.Outbound;
import dev.runlane.codec.WireCodec;
import dev.runlane.transport.Connection;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.SendCallback;
import java.util.ArrayList;
import java.util.List;

/**
 * The baseline for resume: a seed-style capped per-run event log (seed 003) that keeps the event
 * objects in a list, finds the resume point by scanning for {@code seq > lastSeq}, and
 * re-encodes each missed event for the resuming connection, after an acknowledgement.
 *
 * <p><b>Thread safety:</b> guarded by {@code this}; sends happen under the lock (as the seeds did).
 */
public final class NaiveEventLog {
  private static final SendCallback IGNORE =
      new SendCallback() {
        @Override
        public void succeeded() {}

        @Override
        public void failed(Throwable cause) {}
      };

  private final String runId;
  private final String sessionId;
  private final int cap;
  private final WireCodec codec;
  private final List<Outbound.RunEvent> events = new ArrayList<>();
  private long head;

  /** A log of at most {@code cap} events of one run. */
  public NaiveEventLog(String runId, String sessionId, int cap, WireCodec codec) {
    this.runId = runId;
    this.sessionId = sessionId;
    this.cap = cap;
    this.codec = codec;
  }

  /** Appends the next event. */
  public synchronized long append(String kind, Object data) {
    events.add(new Outbound.RunEvent(runId, sessionId, "e", ++head, kind, data));
    if (events.size() > cap) {
      events.remove(0);
    }
    return head;
  }

  /** The newest seq. */
  public synchronized long head() {
    return head;
  }

  /** Sends an ack then every retained event after {@code lastSeq}; returns how many were replayed. */
  public synchronized int resume(Connection c, long lastSeq) {
    c.send(Frame.control("{\"t\":\"subscribed\",\"head\":" + head + "}"), IGNORE);
    int n = 0;
    for (Outbound.RunEvent e : events) {
      if (e.seq() > lastSeq) {
        c.send(new Frame(Lane.STREAM, codec.encode(e)), IGNORE);
        n++;
      }
    }
    return n;
  }
}
