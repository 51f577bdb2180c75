package dev.runlane.engine;

import java.util.Optional;

/**
 * The run directory: which run holds each session, with one winner per session and one end per
 * run across every node that shares the directory. The in-memory engine keeps a map; a cluster
 * engine keeps the same facts in Redis and decides each call with one compare-and-set (a Lua
 * script), so two nodes starting in one session at the same instant yield one run.
 *
 * <p><b>Thread safety:</b> must be safe for concurrent use. {@link #claim} is called under the
 * session's lock and {@link #end} under the run's lock on the calling node (see {@code
 * docs/design/engine.md}): an implementation must not call back into Runlane.
 */
public interface RunDirectory {

  /**
   * Claims {@code sessionId} for the new run {@code runId} if no run of the session is running.
   *
   * @return empty when claimed; otherwise the id of the running run that holds the session (the
   *     start is refused with {@code RUN_IN_PROGRESS})
   */
  Optional<String> claim(String sessionId, String runId);

  /**
   * Records the one end of {@code runId} and releases its session's claim.
   *
   * @return true for the first end of the run only; false if another end (on any node) won
   */
  boolean end(String sessionId, String runId);

  /** The id of the session's running run, if any. */
  Optional<String> running(String sessionId);
}
