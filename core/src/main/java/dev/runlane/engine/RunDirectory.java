package dev.runlane.engine;

import dev.runlane.RunOutcome;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The run directory: which run holds each session, with one winner per session and one end per
 * run across every node that shares the directory, and the record of each run (running, or ended
 * within its retention) so that any node can find it. The in-memory engine keeps a map; a cluster
 * engine keeps the same facts in its store and decides {@link #claim} and {@link #end} with one
 * compare-and-set each (Redis: a Lua script), so two nodes starting in one session at the same
 * instant yield one run.
 *
 * <p><b>Thread safety:</b> must be safe for concurrent use. {@link #claim} is called under the
 * session's lock and {@link #end} under the run's lock on the calling node (see {@code
 * docs/design/engine.md}); the lookups under a session's or a mirror's lock or none. An
 * implementation must not call back into Runlane. Every method may throw {@link
 * EngineUnavailableException}.
 */
public interface RunDirectory {

  /**
   * Claims {@code run.sessionId()} for the new run if no run of the session is running, and
   * records {@code run} (not ended) so {@link #lookup} and {@link #latest} find it.
   *
   * @return empty when claimed; otherwise the id of the running run that holds the session (the
   *     start is refused with {@code RUN_IN_PROGRESS}; nothing was recorded)
   */
  Optional<String> claim(RunRecord run);

  /**
   * Records the one end of {@code outcome.runId()}: its outcome in the run's record, the session's
   * claim released, and the record (with the run's log) kept for the record's {@code
   * retentionMillis} from now. The winner's terminal frame is then the only append the run's log
   * still accepts (fencing, see {@link RunFencedException}).
   *
   * <p>{@code terminal} is null when the caller holds the run's {@link RunLog} (the owner node: it
   * appends the terminal itself right after, under the same lock). A node that ends a run it does
   * not hold (a lost node's run) passes the encoded terminal frame, whose seq is {@code
   * outcome.terminalSeq()}: the engine appends it atomically with the end, and only if the log's
   * head is {@code terminalSeq - 1} at that instant; otherwise nothing is recorded and false is
   * returned (the caller looks the run up and retries at the new head if it is still running).
   *
   * @return true for the first end of the run only; false if another end (on any node) won, or the
   *     head moved under a given terminal
   */
  boolean end(RunOutcome outcome, @Nullable EncodedFrame terminal);

  /** The record of {@code runId}: running, or ended within its retention. */
  Optional<RunRecord> lookup(String runId);

  /**
   * The session's latest run: its running run if any, else the one that ended last, within its
   * retention. An engine whose runs are all in one JVM may answer only the running run (core holds
   * the ended ones itself).
   */
  Optional<RunRecord> latest(String sessionId);

  /** The id of the session's running run, if any. */
  default Optional<String> running(String sessionId) {
    return latest(sessionId).filter(r -> !r.ended()).map(RunRecord::runId);
  }
}
