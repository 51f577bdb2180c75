package dev.runlane.codec;

import dev.runlane.AttachMode;
import dev.runlane.SubscribeTarget;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Every command a client can send, after decoding by the {@link WireCodec}. Runlane executes them
 * and answers on the control lane.
 *
 * <p><b>Thread safety:</b> immutable records (payload objects are the codec's).
 */
public sealed interface Inbound
    permits Inbound.StartRun,
        Inbound.AbortRun,
        Inbound.Subscribe,
        Inbound.Unsubscribe,
        Inbound.ResolveApproval,
        Inbound.Ping,
        Inbound.Hello {

  /** The client's correlation id, echoed in errors and acks; null if none. */
  @Nullable String ref();

  /** Start a run in a session with an input for the runtime; the sender follows the session. */
  record StartRun(String sessionId, @Nullable Object input, @Nullable String ref) implements Inbound {
    public StartRun {
      Objects.requireNonNull(sessionId, "sessionId");
    }
  }

  /** Abort the session's running run (or the given run of it). */
  record AbortRun(String sessionId, @Nullable String runId, @Nullable String ref) implements Inbound {
    public AbortRun {
      Objects.requireNonNull(sessionId, "sessionId");
    }
  }

  /**
   * Subscribe to one or more sessions or runs, each with its resume position. With {@link
   * AttachMode#TAKEOVER} the sender replaces its principal's other connections as recipients of the
   * runs it resumes (a reloaded page retiring its stale socket); the default is {@link
   * AttachMode#ADDITIVE}.
   */
  record Subscribe(List<SubscribeTarget> targets, AttachMode mode, @Nullable String ref)
      implements Inbound {
    public Subscribe {
      targets = List.copyOf(targets);
      java.util.Objects.requireNonNull(mode, "mode");
    }

    /** An additive subscribe. */
    public Subscribe(List<SubscribeTarget> targets, @Nullable String ref) {
      this(targets, AttachMode.ADDITIVE, ref);
    }
  }

  /** Stop following a session and stop receiving its runs' events. */
  record Unsubscribe(String sessionId, @Nullable String ref) implements Inbound {
    public Unsubscribe {
      Objects.requireNonNull(sessionId, "sessionId");
    }
  }

  /** Answer a pending tool approval. */
  record ResolveApproval(String approvalId, @Nullable Object decision, @Nullable String ref)
      implements Inbound {
    public ResolveApproval {
      Objects.requireNonNull(approvalId, "approvalId");
    }
  }

  /** Keepalive from the client; answered with a {@link Outbound.Heartbeat}. */
  record Ping(@Nullable String ref) implements Inbound {}

  /**
   * Asks for a wire protocol version for the rest of this connection; answered with {@link
   * Outbound.Hello} carrying the version granted (the lower of {@code protocol} and the codec's
   * {@link WireCodec#maxProtocol()}). A client that asked for a version above 1 must accept both
   * forms of a run event from then on, at any frame (see {@code docs/reference/protocol.md}).
   *
   * @param protocol the newest version the client speaks; at least 1
   */
  record Hello(int protocol, @Nullable String ref) implements Inbound {
    public Hello {
      if (protocol < 1) {
        throw new IllegalArgumentException("protocol must be >= 1: " + protocol);
      }
    }
  }
}
