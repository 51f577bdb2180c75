package dev.runlane;

import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * The runs held on this node, running or ended and retained for resume, by id. A run is added only
 * once its {@code run.started} event is recorded, and removed at eviction.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
final class Runs {
  private final ConcurrentHashMap<String, Run> runs = new ConcurrentHashMap<>();

  @Nullable Run get(String runId) {
    return runs.get(runId);
  }

  void add(Run run) {
    runs.put(run.runId(), run);
  }

  /** Adds {@code run} unless a run with its id is held; returns the one held, or null if added. */
  @Nullable Run putIfAbsent(Run run) {
    return runs.putIfAbsent(run.runId(), run);
  }

  /** Removes exactly this instance. */
  void remove(Run run) {
    runs.remove(run.runId(), run);
  }

  int size() {
    return runs.size();
  }

  Collection<Run> all() {
    return runs.values();
  }
}
