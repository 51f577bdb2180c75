package dev.runlane.codec;

import dev.runlane.Approval;
import dev.runlane.ErrorCode;
import dev.runlane.RunOutcome;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Everything Runlane sends, before encoding by the {@link WireCodec}. {@link RunEvent} travels on
 * the stream lane and is sequenced; everything else is unsequenced and travels on the control lane,
 * except {@link RunStatus}, which is stream-lane and coalescable.
 *
 * <p><b>Thread safety:</b> immutable records (payload objects are the host's).
 */
public sealed interface Outbound
    permits Outbound.RunEvent,
        Outbound.RunStatus,
        Outbound.Subscribed,
        Outbound.ProtocolError,
        Outbound.Notice,
        Outbound.ApprovalRequested,
        Outbound.ApprovalResolved,
        Outbound.Heartbeat,
        Outbound.Welcome,
        Outbound.StreamPaired,
        Outbound.Hello {

  /** Kind of the first event of every run (seq 1). */
  String KIND_STARTED = "run.started";
  /** Kind of the terminal event of a completed run. */
  String KIND_COMPLETED = "run.completed";
  /** Kind of the terminal event of an aborted run. */
  String KIND_ABORTED = "run.aborted";
  /** Kind of the terminal event of a failed run. */
  String KIND_FAILED = "run.failed";

  /**
   * One sequenced event of a run. The live frame and the replayed frame of an event are the same
   * bytes. For the {@code run.*} kinds Runlane sets {@code data}: the start's input for {@code
   * run.started}, the {@link RunOutcome} for the terminal kinds.
   */
  record RunEvent(
      String runId, String sessionId, String epoch, long seq, String kind, @Nullable Object data)
      implements Outbound {
    public RunEvent {
      Objects.requireNonNull(runId, "runId");
      Objects.requireNonNull(sessionId, "sessionId");
      Objects.requireNonNull(epoch, "epoch");
      Objects.requireNonNull(kind, "kind");
    }

    /** Whether this is a run's terminal event. */
    public boolean terminal() {
      return KIND_COMPLETED.equals(kind) || KIND_ABORTED.equals(kind) || KIND_FAILED.equals(kind);
    }
  }

  /**
   * An optional, unsequenced status of a run (progress, "thinking…"): while queued for a
   * connection, a newer status with the same run and key replaces it in place. Never recorded.
   */
  record RunStatus(String runId, String sessionId, String key, @Nullable Object data)
      implements Outbound {
    public RunStatus {
      Objects.requireNonNull(runId, "runId");
      Objects.requireNonNull(sessionId, "sessionId");
      Objects.requireNonNull(key, "key");
    }
  }

  /** The acknowledgement of a subscribe. */
  record Subscribed(SubscribeAck ack, @Nullable String ref) implements Outbound {
    public Subscribed {
      Objects.requireNonNull(ack, "ack");
    }
  }

  /**
   * A protocol error on this connection; the connection stays usable.
   *
   * @param ref the client's correlation id of the offending command, if it had one
   */
  record ProtocolError(
      ErrorCode code, String message, @Nullable String sessionId, @Nullable String ref)
      implements Outbound {
    public ProtocolError {
      Objects.requireNonNull(code, "code");
      Objects.requireNonNull(message, "message");
    }
  }

  /**
   * A notice: system-wide (sessionId null, sent to every connection) or to one session's
   * subscribers.
   */
  record Notice(@Nullable String sessionId, String kind, @Nullable Object data) implements Outbound {
    public Notice {
      Objects.requireNonNull(kind, "kind");
    }
  }

  /** A run asks for a tool approval. */
  record ApprovalRequested(Approval approval) implements Outbound {
    public ApprovalRequested {
      Objects.requireNonNull(approval, "approval");
    }
  }

  /** A pending approval was resolved; clients close its prompt. */
  record ApprovalResolved(
      Approval approval, Approval.Resolution resolution, @Nullable Object decision, @Nullable String by)
      implements Outbound {
    public ApprovalResolved {
      Objects.requireNonNull(approval, "approval");
      Objects.requireNonNull(resolution, "resolution");
    }
  }

  /** An unsequenced keepalive, also the answer to a ping. */
  record Heartbeat(long epochMillis) implements Outbound {}

  /**
   * The first frame of every connection: its id and generation (a client declaring {@code
   * STREAM_TRANSPORT} presents both when it opens the stream transport) and the server's epoch.
   */
  record Welcome(String connectionId, long generation, String serverEpoch, boolean streamTransport)
      implements Outbound {
    public Welcome {
      Objects.requireNonNull(connectionId, "connectionId");
      Objects.requireNonNull(serverEpoch, "serverEpoch");
    }
  }

  /** The stream transport was paired: stream-lane frames now travel on it. */
  record StreamPaired(String connectionId, long generation) implements Outbound {
    public StreamPaired {
      Objects.requireNonNull(connectionId, "connectionId");
    }
  }

  /**
   * The answer to {@link Inbound.Hello}: the protocol version this connection now speaks. Runlane
   * may send the newer form of run events at any frame after it.
   *
   * @param protocol the version granted, at least 1
   * @param ref the hello's correlation id, if it had one
   */
  record Hello(int protocol, @Nullable String ref) implements Outbound {
    public Hello {
      if (protocol < 1) {
        throw new IllegalArgumentException("protocol must be >= 1: " + protocol);
      }
    }
  }
}
