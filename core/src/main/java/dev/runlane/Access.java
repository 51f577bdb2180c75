package dev.runlane;

import dev.runlane.engine.CommandRouter;
import dev.runlane.engine.RunCommand;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may act on a run, and how a command reaches the run's node. The authorizer is asked before
 * anything about the run's state is looked at; its {@code NOT_FOUND} answer becomes the same code
 * whether or not anything exists, so a refused principal learns nothing of another's activity.
 *
 * <p><b>Thread safety:</b> stateless beyond its collaborators; safe for concurrent use. Calls the
 * authorizer and routes commands under no lock.
 */
final class Access {
  private static final Logger LOG = LoggerFactory.getLogger(Access.class);

  private final HostHooks hooks;
  private final Sessions sessions;
  private final CommandRouter router;

  Access(HostHooks hooks, Sessions sessions, CommandRouter router) {
    this.hooks = hooks;
    this.sessions = sessions;
    this.router = router;
  }

  /** May {@code principal} do {@code action} on {@code r}? Its owner may; others as the authorizer says. */
  <T> Result.@Nullable Refused<T> onRun(Run r, String principal, Action action) {
    if (r.owner().equals(principal)) {
      return null;
    }
    String sessionOwner = sessions.ownerOf(r.sessionId());
    return refusal(
        hooks.authorize(principal, action, r.sessionId(), sessionOwner == null ? r.sessionOwner : sessionOwner),
        r.sessionId());
  }

  /** The refusal for a decision: none for ALLOW, FORBIDDEN for DENY, SESSION_NOT_FOUND otherwise. */
  static <T> Result.@Nullable Refused<T> refusal(Authorizer.Decision d, String sessionId) {
    switch (d) {
      case ALLOW:
        return null;
      case DENY:
        return new Result.Refused<>(ErrorCode.FORBIDDEN, "may not do this in session " + sessionId);
      default:
        return new Result.Refused<>(ErrorCode.SESSION_NOT_FOUND, "session " + sessionId + " was not found");
    }
  }

  /** Routes a command to the run's node and waits, at most the command timeout, for its answer. */
  Result<?> route(String runId, RunCommand command) {
    try {
      return router.route(runId, command).toCompletableFuture().get(hooks.config.commandTimeoutNanos, TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Result.refused(ErrorCode.INTERNAL_ERROR, "interrupted while routing a command");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof dev.runlane.engine.EngineUnavailableException) {
        LOG.debug("command {} for run {}: the engine is unavailable", command.getClass().getSimpleName(), runId);
        return Result.refused(ErrorCode.ENGINE_UNAVAILABLE, "the engine's store is unavailable; retry later");
      }
      LOG.warn("command {} for run {} failed", command.getClass().getSimpleName(), runId, e);
      return Result.refused(ErrorCode.INTERNAL_ERROR, "the run's node did not answer");
    } catch (TimeoutException e) {
      LOG.warn("command {} for run {}: the run's node did not answer in time", command.getClass().getSimpleName(), runId);
      return Result.refused(ErrorCode.INTERNAL_ERROR, "the run's node did not answer");
    }
  }
}
