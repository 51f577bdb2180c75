package dev.runlane;

import java.util.Collection;

/**
 * A point-in-time count of what the engine holds: for health endpoints, dashboards, and leak checks
 * in tests ("after every client left, nothing is held"). Counts are read without stopping the
 * engine, so under load they are each exact but not mutually consistent.
 *
 * <p><b>Thread safety:</b> immutable.
 *
 * @param connections live connections
 * @param sessions sessions held (with a retained run or followers)
 * @param followers session follows, summed over sessions
 * @param runningRuns runs running (or being cancelled)
 * @param retainedRuns ended runs kept for resume until their retention passes
 * @param retainedEvents events held in run logs
 * @param retainedBytes payload bytes held in run logs
 * @param queuedFrames frames waiting in outboxes
 * @param pendingApprovals approvals raised and not resolved
 * @param budgetEvictedRuns ended runs evicted before their retention to keep within {@code
 *     maxRetainedBytes}, since start
 * @param budgetTrimmedRuns times a running run's oldest events were trimmed for it, since start
 */
public record EngineSnapshot(
    int connections,
    int sessions,
    int followers,
    int runningRuns,
    int retainedRuns,
    long retainedEvents,
    long retainedBytes,
    long queuedFrames,
    int pendingApprovals,
    long budgetEvictedRuns,
    long budgetTrimmedRuns) {

  static EngineSnapshot of(
      Collection<ConnectionState> connections,
      Collection<SessionState> sessions,
      Collection<Run> runs,
      int pendingApprovals,
      HostHooks hooks) {
    long queued = 0;
    for (ConnectionState c : connections) {
      queued += c.outbox.queuedFrames();
    }
    int followers = 0;
    for (SessionState s : sessions) {
      synchronized (s) {
        followers += s.followers.size();
      }
    }
    int running = 0;
    int retained = 0;
    long events = 0;
    long bytes = 0;
    for (Run r : runs) {
      if (r.state().isTerminal()) {
        retained++;
      } else {
        running++;
      }
      synchronized (r) {
        events += r.log().retainedFrames();
        bytes += r.log().retainedBytes();
      }
    }
    return new EngineSnapshot(
        connections.size(), sessions.size(), followers, running, retained, events, bytes, queued, pendingApprovals,
        hooks.budgetEvictedRuns.get(), hooks.budgetTrimmedRuns.get());
  }
}
