package dev.runlane.engine;

import java.util.Optional;

/**
 * The engine seam: what Runlane needs from where runs live. {@link InMemoryEngine} is the embedded
 * default (one JVM, nothing survives a restart); a cluster engine (Redis Streams) implements the
 * same parts so that a client can reconnect to any node and resume. See {@code
 * docs/design/engine.md} for who calls what under which lock, and the resume linearization
 * argument every engine must preserve.
 *
 * <p>This package is an incubating SPI for engine implementations, not for applications; it may
 * change between 0.x releases.
 *
 * <p><b>Thread safety:</b> implementations must be safe for concurrent use.
 */
public interface Engine extends AutoCloseable {

  /**
   * A new, empty log for one run, bounded to {@code maxFrames} frames and, if positive, {@code
   * maxBytes} payload bytes (the newest frame is always kept).
   */
  RunLog newLog(String runId, int maxFrames, long maxBytes);

  /** The run directory shared by every node of this engine. */
  RunDirectory directory();

  /**
   * Delivery across nodes, or empty for an engine whose runs are all local to this JVM (the
   * in-memory engine): there is no other node to carry frames to.
   */
  default Optional<RunFeed> feed() {
    return Optional.empty();
  }

  /**
   * A read-only view of {@code runId}'s log as the store holds it, for a node that does not hold
   * the run (it replays from here). Cheap to create: nothing is read until a method is called. An
   * engine whose runs are all local returns an empty view (core never asks it).
   */
  RunLogView view(String runId);

  /**
   * This node's id, recorded as the {@link RunRecord#nodeId()} of the runs it starts. Unique among
   * the nodes sharing the store, and new for each process (a restarted node is a new node); {@code
   * "local"} for an engine whose runs are all in one JVM.
   */
  default String nodeId() {
    return "local";
  }

  /**
   * Sets the callback that tells core a node is gone (see {@link NodeLossListener}); called once,
   * by {@code RunlaneBuilder.build()}, before any run starts. An engine whose runs are all local
   * has no other node to lose and ignores it.
   */
  default void onNodeLost(NodeLossListener listener) {}

  /** Command routing to the node running a run's runtime. */
  CommandRouter commands();

  /**
   * An epoch for a new run instance: never reused, so a client's {@code lastSeq} of an earlier
   * instance (or of a server that restarted with an empty store) is recognized as meaningless.
   */
  String newEpoch();

  /** Releases the engine's resources (connections, threads); idempotent. */
  @Override
  void close();
}
