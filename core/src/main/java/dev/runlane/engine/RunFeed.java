package dev.runlane.engine;

import java.util.function.Consumer;

/**
 * Delivery across nodes: a node that holds recipients of a run written on another node tails that
 * run's log from a seq, receiving each later frame once, in seq order. On one node every run is
 * local and its frames reach recipients straight from the run's lock, so core only tails runs
 * whose writer lives elsewhere; a cluster engine implements it with {@code XREAD BLOCK} on the
 * runs a node's connections follow (never every stream).
 *
 * <p><b>Thread safety:</b> must be safe for concurrent use. {@code sink} is called from one thread
 * at a time per tail, never concurrently with itself.
 */
public interface RunFeed {

  /**
   * Hands every frame of {@code runId} with a seq above {@code afterSeq} to {@code sink}, in seq
   * order, once each: those already in the log first, then each new one as it is appended, until
   * the tail is closed or the run's terminal frame was handed.
   *
   * @return the tail; closing it stops delivery (idempotent)
   */
  Tail tail(String runId, long afterSeq, Consumer<EncodedFrame> sink);

  /** A running tail. */
  interface Tail extends AutoCloseable {
    /** Stops delivery; idempotent, never throws. */
    @Override
    void close();
  }
}
