package dev.runlane.engine;

import dev.runlane.Approval;
import dev.runlane.RunOutcome;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What core must know of a run's frame without decoding its payload (the payload bytes are the
 * codec's; every node shares one codec): its type, its seq, and for terminal and approval frames
 * the facts a node that only tails the run needs to track its state. Core attaches it to every
 * frame it writes to a {@link RunLog}; an engine stores it beside the payload and hands it back,
 * equal, on every frame it reads or tails.
 *
 * <p>An engine that crosses a process boundary carries every field except the host's objects it
 * cannot serialize: {@link RunOutcome#result()} and {@link Approval#payload()} may come back null
 * (the frame's bytes carry them to clients).
 *
 * <p><b>Thread safety:</b> immutable.
 *
 * @param type what the frame is
 * @param seq the frame's seq for {@link Type#EVENT} and {@link Type#TERMINAL}; 0 for unsequenced
 *     frames
 * @param outcome the run's outcome, for {@link Type#TERMINAL} only
 * @param approval the approval, for the two approval types only
 */
public record FrameMeta(Type type, long seq, @Nullable RunOutcome outcome, @Nullable Approval approval) {

  /** The kinds of frame a run writes. */
  public enum Type {
    /** A sequenced event that is not the terminal one (including {@code run.started}). */
    EVENT,
    /** The run's terminal event; the last seq of the run. */
    TERMINAL,
    /** Unsequenced: a run asks for an approval. */
    APPROVAL_REQUESTED,
    /** Unsequenced: a pending approval was resolved. */
    APPROVAL_RESOLVED,
    /** Unsequenced, coalescable, best effort: a run's status (never replayed). */
    STATUS
  }

  public FrameMeta {
    Objects.requireNonNull(type, "type");
    boolean sequenced = type == Type.EVENT || type == Type.TERMINAL;
    if (sequenced != (seq > 0)) {
      throw new IllegalArgumentException(type + " with seq " + seq);
    }
    if ((type == Type.TERMINAL) != (outcome != null)) {
      throw new IllegalArgumentException(type + (outcome == null ? " without" : " with") + " an outcome");
    }
    boolean isApproval = type == Type.APPROVAL_REQUESTED || type == Type.APPROVAL_RESOLVED;
    if (isApproval != (approval != null)) {
      throw new IllegalArgumentException(type + (approval == null ? " without" : " with") + " an approval");
    }
  }

  /** A sequenced, non-terminal event. */
  public static FrameMeta event(long seq) {
    return new FrameMeta(Type.EVENT, seq, null, null);
  }

  /** The terminal event. */
  public static FrameMeta terminal(long seq, RunOutcome outcome) {
    return new FrameMeta(Type.TERMINAL, seq, outcome, null);
  }

  /** An approval request or resolution. */
  public static FrameMeta approval(Type type, Approval approval) {
    return new FrameMeta(type, 0, null, approval);
  }

  /** A status frame. */
  public static FrameMeta status() {
    return new FrameMeta(Type.STATUS, 0, null, null);
  }

  /** Whether the frame takes a seq (and is kept for replay). */
  public boolean sequenced() {
    return seq > 0;
  }
}
