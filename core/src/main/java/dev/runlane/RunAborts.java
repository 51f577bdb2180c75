package dev.runlane;

import dev.runlane.engine.EngineUnavailableException;
import dev.runlane.engine.RunCommand;
import dev.runlane.engine.RunRecord;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Aborts: authorized first (the authorizer is asked before the run's state is looked at, so a
 * principal it refuses learns nothing of the session's activity), then routed to the node that
 * runs the run's runtime, which may be another node of a cluster engine.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; calls the authorizer and routes under no lock.
 */
final class RunAborts {
  private final HostHooks hooks;
  private final Sessions sessions;
  private final Runs runs;
  private final Access access;
  private final RemoteRuns remote;

  RunAborts(HostHooks hooks, Sessions sessions, Runs runs, Access access, RemoteRuns remote) {
    this.hooks = hooks;
    this.sessions = sessions;
    this.runs = runs;
    this.access = access;
    this.remote = remote;
  }


  /**
   * Aborts a run for {@code principal}: its owner, or whom the authorizer allows. The authorizer is
   * asked before the run's state is looked at, so a principal it refuses learns nothing of the
   * session's activity: it gets the same answer whether or not a run is going.
   */
  Result<RunOutcome> abort(String runId, String principal) {
    Objects.requireNonNull(runId, "runId");
    Objects.requireNonNull(principal, "principal");
    Result.Refused<RunOutcome> bad = Ids.check("run id", runId, hooks.config.maxIdLength);
    if (bad != null) {
      return bad;
    }
    Run r = runs.get(runId);
    if (r == null) {
      RunRecord rec;
      try {
        rec = remote.lookup(runId);
      } catch (EngineUnavailableException e) {
        return unavailable();
      }
      return rec == null || rec.ended()
          ? Result.refused(ErrorCode.NO_ACTIVE_RUN, "no running run " + runId)
          : abortElsewhere(rec, principal);
    }
    Result.Refused<RunOutcome> no = access.onRun(r, principal, Action.ABORT);
    if (no != null) {
      return no;
    }
    return abortAuthorized(r, principal);
  }

  /** Aborts the session's running run, through the same path as {@link #abort}. */
  Result<RunOutcome> abortSession(String sessionId, String principal) {
    Objects.requireNonNull(sessionId, "sessionId");
    Objects.requireNonNull(principal, "principal");
    Result.Refused<RunOutcome> bad = Ids.checkSession(sessionId, hooks.config.maxIdLength);
    if (bad != null) {
      return bad;
    }
    SessionState s = sessions.get(sessionId);
    Run cur = s == null ? null : s.current;
    if ((cur == null || cur.state().isTerminal()) && remote.clustered()) {
      RunRecord rec;
      try {
        rec = remote.latest(sessionId);
      } catch (EngineUnavailableException e) {
        return unavailable();
      }
      if (rec != null && !rec.ended() && (cur == null || !rec.runId().equals(cur.runId()))) {
        return abortElsewhere(rec, principal); // the session's running run is on another node
      }
    }
    Result.Refused<RunOutcome> no = mayAbortInSession(sessionId, principal);
    if (no != null) {
      return no;
    }
    if (cur == null) {
      return Result.refused(ErrorCode.NO_ACTIVE_RUN, "session " + sessionId + " has no active run");
    }
    return abortAuthorized(cur, principal);
  }

  /**
   * Null if {@code principal} may abort in the session: it owns the session's current run, or the
   * authorizer allows. Asked before the run's state is looked at.
   */
  Result.@Nullable Refused<RunOutcome> mayAbortInSession(String sessionId, String principal) {
    SessionState s = sessions.get(sessionId);
    Run cur = s == null ? null : s.current;
    if (cur != null && cur.owner().equals(principal)) {
      return null;
    }
    return Access.refusal(hooks.authorize(principal, Action.ABORT, sessionId, s == null ? null : s.owner), sessionId);
  }

  /** Aborts a run this node does not hold: authorized against its record, routed to its node. */
  private Result<RunOutcome> abortElsewhere(RunRecord rec, String principal) {
    if (!rec.owner().equals(principal)) {
      String owner = sessions.ownerOf(rec.sessionId());
      Result.Refused<RunOutcome> no =
          Access.refusal(hooks.authorize(principal, Action.ABORT, rec.sessionId(), owner == null ? rec.sessionOwner() : owner),
              rec.sessionId());
      if (no != null) {
        return no;
      }
    }
    @SuppressWarnings("unchecked")
    Result<RunOutcome> routed = (Result<RunOutcome>) access.route(rec.runId(), new RunCommand.Abort(principal));
    return routed;
  }

  /**
   * A client's abort naming its session and a run: authorized on the session first, so a stranger
   * cannot tell "no such run" from "not yours"; the run may be held on another node.
   */
  Result<RunOutcome> abortNamed(String sessionId, String runId, String principal) {
    Result.Refused<RunOutcome> bad = Ids.checkSession(sessionId, hooks.config.maxIdLength);
    if (bad != null) {
      return bad;
    }
    Result.Refused<RunOutcome> no = mayAbortInSession(sessionId, principal);
    if (no != null) {
      return no;
    }
    String sessionOfRun;
    Run held = runs.get(runId);
    try {
      RunRecord rec = held == null ? remote.lookup(runId) : null;
      sessionOfRun = held != null ? held.sessionId() : rec == null ? null : rec.sessionId();
    } catch (EngineUnavailableException e) {
      return unavailable();
    }
    if (!sessionId.equals(sessionOfRun)) {
      return Result.refused(ErrorCode.NO_ACTIVE_RUN, "session " + sessionId + " has no active run " + runId);
    }
    return abort(runId, principal);
  }

  private static <T> Result<T> unavailable() {
    return Result.refused(ErrorCode.ENGINE_UNAVAILABLE, "the engine's store is unavailable; retry later");
  }

  private Result<RunOutcome> abortAuthorized(Run r, String principal) {
    if (r.state() != RunState.RUNNING) {
      return Result.refused(ErrorCode.NO_ACTIVE_RUN, "session " + r.sessionId() + " has no active run");
    }
    @SuppressWarnings("unchecked")
    Result<RunOutcome> routed = (Result<RunOutcome>) access.route(r.runId(), new RunCommand.Abort(principal));
    return routed;
  }
}
