package dev.runlane.engine;

import java.util.List;
import java.util.function.Consumer;

/**
 * A read-only view of a run's log as the store holds it, whichever node wrote it (or before this
 * node restarted). A node that does not run the run reads its replay ranges here. Every call may be
 * a store round trip: each reads the store as it is now.
 *
 * <p><b>Thread safety:</b> must be safe for concurrent use. Called under the calling node's mirror
 * lock of the run (a read sits on that lock's critical section, like {@link RunLog#read}); must not
 * call back into Runlane.
 */
public interface RunLogView {

  /** The newest seq stored, 0 if none (or the log is gone). */
  long head();

  /** The oldest seq still stored; {@link #head()} + 1 when nothing is stored. */
  long oldest();

  /**
   * Hands the stored frames of {@code from..to} (clamped to what is stored) to {@code sink}, in seq
   * order, without gaps, each with its {@link EncodedFrame#meta()}: one range read. If the oldest
   * frames were trimmed meanwhile, the first frame handed has a seq above {@code from}; the caller
   * checks.
   */
  void read(long from, long to, Consumer<EncodedFrame> sink);

  /**
   * The approval-request frames of the run not yet resolved, in the order raised (the engine tracks
   * them from the {@link FrameMeta.Type#APPROVAL_REQUESTED} and {@link
   * FrameMeta.Type#APPROVAL_RESOLVED} signals and drops them all at the terminal).
   */
  List<EncodedFrame> pendingApprovals();
}
