package dev.runlane.engine;

/**
 * Delivery across nodes: a node that holds recipients of a run written on another node tails that
 * run's log from a seq, receiving each later frame once, in seq order. On one node every run is
 * local and its frames reach recipients straight from the run's lock, so core only tails runs
 * whose writer lives elsewhere; a cluster engine implements it with {@code XREAD BLOCK} on the
 * runs a node's connections follow (never every stream).
 *
 * <p><b>Thread safety:</b> must be safe for concurrent use. A tail's sink is called from one thread
 * at a time, never concurrently with itself, under no Runlane lock (the sink takes the mirror's
 * lock itself). A sink must not block for long: it may be shared by many tails.
 */
public interface RunFeed {

  /** Receives a tail's frames. */
  interface Sink {
    /**
     * The next frame of the run, with its {@link EncodedFrame#meta()}: sequenced frames in seq
     * order without gap or repeat; unsequenced ones (approvals, status) in write order between
     * them.
     */
    void frame(EncodedFrame frame);

    /**
     * The tail cannot continue and will hand nothing more: the run's log is gone from the store
     * (expired, or the store lost its data) before the terminal was handed. Not called after the
     * terminal, nor after {@link Tail#close()}. A store that is only unreachable for a while is not
     * lost: the engine retries and resumes the tail after the last seq it handed.
     */
    void lost();
  }

  /**
   * Hands every frame of {@code runId} with a seq above {@code afterSeq} to {@code sink}, in seq
   * order, once each: those already in the log first, then each new one as it is written, until
   * the tail is closed, the run's terminal frame was handed, or {@link Sink#lost()}. Unsequenced
   * frames written after the frame {@code afterSeq} are handed too, in write order (a caller that
   * snapshotted {@link RunLogView#pendingApprovals()} after reading the head may see an approval
   * frame it already knows: approvals are idempotent by id).
   *
   * @return the tail; closing it stops delivery (idempotent)
   * @throws EngineUnavailableException if the tail cannot be started
   */
  Tail tail(String runId, long afterSeq, Sink sink);

  /**
   * Tells {@code started} of every run claimed in {@code sessionId} after this call, on any node
   * (its record, as {@link RunDirectory#claim} recorded it), so a node holding followers of the
   * session attaches them to the new run. Best effort across a store outage: a follower that
   * missed a start learns of the run on its next subscribe. The default tells nothing.
   *
   * @return the watch; closing it stops the notices (idempotent)
   */
  default Tail watchSession(String sessionId, java.util.function.Consumer<RunRecord> started) {
    return () -> {};
  }

  /** A running tail. */
  interface Tail extends AutoCloseable {
    /** Stops delivery; idempotent, never throws. */
    @Override
    void close();
  }
}
