package dev.runlane.transport.sse;

import dev.runlane.transport.Frame;
import dev.runlane.transport.Payload;
import org.jspecify.annotations.Nullable;

/**
 * What the SSE transport needs to know about the wire protocol: the resumable {@code id:} of a run
 * event, and the subscribe command a reconnecting {@code EventSource}'s {@code Last-Event-ID}
 * stands for. {@link JsonSseEvents} implements it for {@code runlane-protocol-json}; {@link
 * #none()} sends no ids (and a reconnect resumes nothing by itself).
 *
 * <p><b>Thread safety:</b> implementations must be thread-safe and fast; {@link #eventId} is called
 * once per frame and recipient, on Runlane's sending thread.
 */
public interface SseEvents {

  /** The {@code id:} of {@code frame}'s event, or {@code null} for none. Must not contain CR or LF. */
  @Nullable String eventId(Frame frame);

  /**
   * The inbound command that resumes from {@code lastEventId} (an id {@link #eventId} produced and
   * the browser sent back), delivered as the connection's first inbound frame; {@code null} if the
   * id is not one of ours.
   */
  @Nullable Payload resumeCommand(String lastEventId);

  /** No ids, no resume on reconnect. */
  static SseEvents none() {
    return new SseEvents() {
      @Override
      public @Nullable String eventId(Frame frame) {
        return null;
      }

      @Override
      public @Nullable Payload resumeCommand(String lastEventId) {
        return null;
      }
    };
  }
}
