package dev.runlane.engine;

import java.util.List;

/**
 * The engine-to-core callback of a cluster engine: a node stopped renewing its lease (killed,
 * partitioned, frozen). Set once by {@code RunlaneBuilder.build()} through {@link
 * Engine#onNodeLost}. Core ends each listed run once, as {@code FAILED} with reason {@code
 * NODE_LOST}, by winning {@link RunDirectory#end} with the terminal frame attached.
 *
 * <p><b>Thread safety:</b> called on an engine thread, under no lock, possibly on several
 * surviving nodes and more than once for the same node: core's ending is idempotent (one end per
 * run is the directory's).
 */
@FunctionalInterface
public interface NodeLossListener {

  /**
   * Node {@code nodeId} is gone.
   *
   * @param nodeId the lost node's {@link Engine#nodeId()}
   * @param running the records of its runs that had not ended
   */
  void nodeLost(String nodeId, List<RunRecord> running);
}
