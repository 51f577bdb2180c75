package dev.runlane;

import dev.runlane.codec.Inbound;
import dev.runlane.codec.Outbound;
import dev.runlane.codec.ProtocolException;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Payload;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Executes what clients send: size check, decode, the connection's command budget, then one
 * command through the same engine paths a host call takes. Every refusal is a stable code on that
 * connection only; nothing here throws to the host's socket thread.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; one connection's frames arrive serialized (rule
 * T7.1).
 */
final class CommandDispatcher {
  private static final Logger LOG = LoggerFactory.getLogger(CommandDispatcher.class);

  private final HostHooks hooks;
  private final RunLifecycle lifecycle;
  private final RunAborts aborts;
  private final Subscriptions subscriptions;
  private final ApprovalRegistry approvals;

  CommandDispatcher(
      HostHooks hooks, RunLifecycle lifecycle, RunAborts aborts, Subscriptions subscriptions, ApprovalRegistry approvals) {
    this.hooks = hooks;
    this.lifecycle = lifecycle;
    this.aborts = aborts;
    this.subscriptions = subscriptions;
    this.approvals = approvals;
  }

  void inbound(ConnectionState c, Payload payload) {
    int max = hooks.config.maxInboundBytes;
    if (payload.sizeInBytes() > max) {
      c.sendError(ErrorCode.PAYLOAD_TOO_LARGE, "frame exceeds " + max + " bytes", null, null);
      return;
    }
    Inbound cmd;
    try {
      cmd = hooks.codec().decode(payload);
    } catch (ProtocolException e) {
      c.sendError(e.code(), String.valueOf(e.getMessage()), null, e.ref());
      return;
    } catch (RuntimeException e) {
      LOG.debug("codec failed to decode a frame of connection {}", c.id, e);
      c.sendError(ErrorCode.INVALID_PAYLOAD, "malformed frame", null, null);
      return;
    }
    if (cmd == null) {
      c.sendError(ErrorCode.INVALID_PAYLOAD, "malformed frame", null, null);
      return;
    }
    if (cmd instanceof Inbound.Hello h) {
      // the connection's wire protocol, not a command: never charged against the budget
      c.sendControl(new Outbound.Hello(c.negotiate(h.protocol()), h.ref()));
      return;
    }
    if (cmd instanceof Inbound.Ping) {
      // liveness, not a command: never charged against the budget
      c.sendControl(new Outbound.Heartbeat(hooks.time.epochMillis()));
      return;
    }
    switch (c.budget.charge(hooks.time.nanoTime())) {
      case EXECUTE:
        execute(c, cmd);
        break;
      case REFUSE:
        c.sendError(ErrorCode.RATE_LIMITED, "too many commands; slow down", null, cmd.ref());
        break;
      default:
        LOG.info("closing connection {} ({}): it kept sending over its command budget", c.id, c.principal);
        c.closeLocally(CloseReason.RATE_LIMITED, true);
    }
  }

  private void execute(ConnectionState c, Inbound cmd) {
    String ref = cmd.ref();
    if (cmd instanceof Inbound.StartRun s) {
      Result<RunHandle> r = lifecycle.startAndRun(new StartRequest(s.sessionId(), c.principal, c.id, s.input(), null, true));
      refuse(c, r, s.sessionId(), ref);
    } else if (cmd instanceof Inbound.AbortRun a) {
      refuse(c, abort(c, a), a.sessionId(), ref);
    } else if (cmd instanceof Inbound.Subscribe s) {
      if (s.targets().isEmpty()) {
        c.sendError(ErrorCode.INVALID_PAYLOAD, "subscribe needs at least one target", null, ref);
      }
      for (SubscribeTarget t : s.targets()) {
        subscriptions.subscribe(c, t, s.mode(), ref); // sends its own refusal
      }
    } else if (cmd instanceof Inbound.Unsubscribe u) {
      Result.Refused<Object> bad = Ids.checkSession(u.sessionId(), hooks.config.maxIdLength);
      if (bad != null) {
        refuse(c, bad, null, ref);
      } else {
        subscriptions.unsubscribe(c, u.sessionId());
      }
    } else if (cmd instanceof Inbound.ResolveApproval a) {
      refuse(c, approvals.resolve(a.approvalId(), c.principal, a.decision()), null, ref);
    } else {
      c.sendError(ErrorCode.UNKNOWN_MESSAGE_TYPE, "unknown command", null, ref);
    }
  }

  /**
   * A client's abort names its session (and optionally the run): it is authorized on the session
   * first, so a refused principal gets the same answer whether or not the session has a run.
   */
  private Result<RunOutcome> abort(ConnectionState c, Inbound.AbortRun a) {
    String runId = a.runId();
    if (runId == null) {
      return aborts.abortSession(a.sessionId(), c.principal);
    }
    return aborts.abortNamed(a.sessionId(), runId, c.principal);
  }

  private static void refuse(ConnectionState c, Result<?> r, @Nullable String sessionId, @Nullable String ref) {
    if (r instanceof Result.Refused<?> no) {
      c.sendError(no.code(), no.message(), sessionId, ref);
    }
  }
}
