package dev.runlane;

import java.time.Duration;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * One run instance: the runtime's (and the host's) handle to publish its events and end it.
 *
 * <pre>{@code
 * RunHandle run = runlane.startRun(start).orElseThrow();
 * run.publish("delta", "Hel");
 * run.publish("delta", "lo");
 * run.complete(null);            // exactly one end; a later end is refused with RUN_ENDED
 * }</pre>
 *
 * <p><b>Thread safety:</b> safe for concurrent use. Calls are serialized by the run's single
 * writer lock: the seq order is the order in which calls acquired it. {@link #publish} never
 * blocks on a socket.
 */
public interface RunHandle {

  /** The run id; never reused within a Runlane instance, unguessable across instances. */
  String runId();

  /** The session the run belongs to. */
  String sessionId();

  /** This run instance's epoch: clients store it beside their lastSeq. */
  String epoch();

  /** The principal that started the run. */
  String owner();

  /** The current state. */
  RunState state();

  /** The newest seq (0 before the first event). */
  long headSeq();

  /** How the run ended, once it has. */
  Optional<RunOutcome> outcome();

  /**
   * The deepest outbox among the run's current recipients, in frames: a publisher that wants to
   * pace itself to its slowest reader (rather than let it be closed as slow) waits while this is
   * high. Read without blocking; a snapshot.
   */
  int recipientBacklog();

  /**
   * Completes once {@link #recipientBacklog()} is at most {@code frames} — at once if it already
   * is — or when the run ends: a producer paces itself to its slowest reader instead of letting it
   * be closed as slow. Completed on the thread whose send progress (or end) made it true, often a
   * transport thread: do not block in dependent stages (use the {@code *Async} variants).
   */
  java.util.concurrent.CompletionStage<Void> whenBacklogBelow(int frames);

  /**
   * Records an event under the next seq and hands the same encoded bytes to every recipient. After
   * the run's end (or once an abort began) the event is dropped and takes no seq.
   *
   * @param kind the event's kind (e.g. {@code "delta"}, {@code "tool_call"})
   * @param data the host's payload, encoded by the codec
   * @return the event's seq, or a refusal: {@link ErrorCode#RUN_ENDED} (ended or being
   *     cancelled), {@link ErrorCode#ENCODE_FAILED} (the codec threw; logged with the run id),
   *     {@link ErrorCode#EVENT_TOO_LARGE} (over {@code maxEventBytes})
   */
  Result<Long> publish(String kind, @Nullable Object data);

  /**
   * Sends an unsequenced, coalescable status (latest wins per key while queued) to the current
   * recipients; never recorded. Dropped after the end.
   *
   * @return whether it was sent to the recipients' outboxes
   */
  boolean publishStatus(String key, @Nullable Object data);

  /**
   * Ends the run as completed. The first end wins and gets the outcome; a later one is refused
   * with {@link ErrorCode#RUN_ENDED} and changes nothing.
   */
  Result<RunOutcome> complete(@Nullable Object result);

  /**
   * Ends the run as failed (see {@link ExitCode}). The first end wins and gets the outcome; a
   * later one is refused with {@link ErrorCode#RUN_ENDED} and changes nothing.
   */
  Result<RunOutcome> fail(FailureReason reason, int exitCode, @Nullable String message);

  /**
   * Raises a tool approval: sent on the control lane to the recipients, included in every later
   * subscribe's acknowledgement until resolved, resolved exactly once (answer, expiry or the run's
   * end) and reported to {@code callback}.
   *
   * @param payload what the user must decide on, encoded by the codec
   * @param expiresIn how long it stays pending, or null for until the run ends
   * @return the approval, or null if the run has already ended
   */
  @Nullable Approval requestApproval(
      @Nullable Object payload, @Nullable Duration expiresIn, Approval.Callback callback);

  /** Whether the run has ended. */
  default boolean isEnded() {
    return state().isTerminal();
  }
}
