package dev.runlane;

import dev.runlane.engine.CommandRouter;
import dev.runlane.engine.Engine;
import dev.runlane.engine.EngineUnavailableException;
import dev.runlane.engine.RunCommand;
import dev.runlane.engine.RunRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The run lifecycle: start (one running run per session, claimed in the engine's directory), the
 * runtime under the safety net, aborts routed to the run's owner, timeouts, the end and the
 * eviction of ended runs after their retention.
 *
 * <p><b>Thread safety:</b> safe for concurrent use. Lock order: session, then run. The authorizer
 * and the runtime are called under no lock.
 */
final class RunLifecycle implements Run.Owner {
  private static final Logger LOG = LoggerFactory.getLogger(RunLifecycle.class);

  private final HostHooks hooks;
  private final Engine engine;
  private final Sessions sessions;
  private final Runs runs;
  private final Connections connections;
  private final ApprovalRegistry approvals;
  private final Access access;
  private final RemoteRuns remote;
  private final @Nullable RunRuntime runtime;
  private final Executor runtimeExecutor;
  private final BooleanSupplier closed;
  private final String idPrefix;
  private final AtomicLong runCounter = new AtomicLong();
  private final Map<String, CommandRouter.Binding> bindings = new ConcurrentHashMap<>();
  /** Ended runs in the order they ended: the retention budget evicts from the head. */
  private final java.util.concurrent.ConcurrentLinkedQueue<Run> endedInOrder = new java.util.concurrent.ConcurrentLinkedQueue<>();
  private final java.util.concurrent.locks.ReentrantLock enforcing = new java.util.concurrent.locks.ReentrantLock();
  /** The retention timer of each ended run, cancelled when the budget evicts the run first. */
  private final Map<Run, TimeSource.Cancellable> retentionTimers = new ConcurrentHashMap<>();

  RunLifecycle(
      HostHooks hooks,
      Engine engine,
      Sessions sessions,
      Runs runs,
      Connections connections,
      ApprovalRegistry approvals,
      Access access,
      RemoteRuns remote,
      @Nullable RunRuntime runtime,
      Executor runtimeExecutor,
      BooleanSupplier closed,
      String idPrefix) {
    this.hooks = hooks;
    this.engine = engine;
    this.sessions = sessions;
    this.runs = runs;
    this.connections = connections;
    this.approvals = approvals;
    this.access = access;
    this.remote = remote;
    remote.owner(this);
    this.runtime = runtime;
    this.runtimeExecutor = runtimeExecutor;
    this.closed = closed;
    this.idPrefix = idPrefix;
  }

  // ---------------------------------------------------------------- start

  Result<RunHandle> startRun(StartRequest request) {
    Objects.requireNonNull(request, "request");
    if (closed.getAsBoolean()) {
      return Result.refused(ErrorCode.SHUTTING_DOWN, "Runlane is shutting down");
    }
    String sessionId = request.sessionId();
    Result.Refused<RunHandle> bad = Ids.checkSession(sessionId, hooks.config.maxIdLength);
    if (bad != null) {
      return bad;
    }
    SessionState existing = sessions.get(sessionId);
    @Nullable String authorizedOwner = existing == null ? null : existing.owner;
    @Nullable String clusterOwner = null;
    if (authorizedOwner == null && remote.clustered()) {
      try {
        clusterOwner = remote.sessionOwner(sessionId); // the session may be owned on another node
      } catch (EngineUnavailableException e) {
        return unavailable();
      }
      authorizedOwner = clusterOwner;
    }
    Result.Refused<RunHandle> no = authorizeStart(request.principal(), sessionId, authorizedOwner);
    if (no != null) {
      return no;
    }
    String connectionId = request.connectionId();
    ConnectionState starter = connectionId == null ? null : connections.get(connectionId);
    if (starter != null && !starter.principal.equals(request.principal())) {
      // The starting connection becomes a recipient (and a follower) without a subscribe: it must
      // be the starting principal's own, or a run would be routed to another user's socket.
      return Result.refused(ErrorCode.FORBIDDEN, "connection " + starter.id + " belongs to another principal");
    }
    if (starter != null && request.followSession()) {
      SessionState known = sessions.get(sessionId);
      boolean alreadyFollowing = known != null && starter.follows.contains(known);
      if (!alreadyFollowing && starter.follows.size() >= hooks.config.maxSessionsPerConnection) {
        return Result.refused(
            ErrorCode.TOO_MANY_SUBSCRIPTIONS,
            "a connection may follow at most " + hooks.config.maxSessionsPerConnection + " sessions");
      }
    }
    Run run;
    List<ConnectionState> toFlush;
    // Followers of a session nobody owned yet were authorized against no owner. A start that claims
    // the session asks the authorizer again for each of another principal (outside the lock) and
    // drops those it refuses, so following an unclaimed session never leaks the claimant's runs.
    Map<ConnectionState, Authorizer.Decision> vetted = new HashMap<>();
    List<ConnectionState> dropped = new ArrayList<>();
    for (; ; ) {
      SessionState s = sessions.open(sessionId);
      List<ConnectionState> toVet = new ArrayList<>();
      @Nullable String ownerNow;
      synchronized (s) {
        if (s.dead) {
          continue;
        }
        if (s.owner == null && clusterOwner != null && clusterOwner.equals(authorizedOwner)) {
          s.owner = clusterOwner; // adopted from the directory: the session is owned on another node
        }
        ownerNow = s.owner;
        if (!Objects.equals(ownerNow, authorizedOwner)) {
          // Another principal claimed the session after the authorizer was asked: ask again
          // (outside the lock), or this start would join a session its principal may not use.
          sessions.retireIfIdleLocked(s);
        } else {
          boolean claim = ownerNow == null;
          if (claim) {
            for (ConnectionState f : s.followers) {
              if (f != starter && !f.principal.equals(request.principal()) && !vetted.containsKey(f)) {
                toVet.add(f);
              }
            }
          }
          if (toVet.isEmpty()) {
            // The session's current run must have ended here (its terminal state is set under its
            // lock, after the directory released the claim: a start must not slip in between), and
            // the directory must grant the claim (one winner across every node).
            Run cur = s.current;
            String runId = idPrefix + Long.toString(runCounter.incrementAndGet(), 36);
            String epoch = engine.newEpoch();
            String sessionOwner = ownerNow == null ? request.principal() : ownerNow;
            RunRecord rec =
                new RunRecord(runId, sessionId, epoch, engine.nodeId(), request.principal(), sessionOwner,
                    hooks.config.retentionNanos / 1_000_000, null);
            String holder;
            try {
              // a mirror's end may still be on its way: the directory decides for runs of other nodes
              holder = cur != null && !cur.mirror && !cur.state().isTerminal() ? cur.runId()
                  : engine.directory().claim(rec).orElse(null);
            } catch (EngineUnavailableException e) {
              sessions.retireIfIdleLocked(s);
              return unavailable();
            }
            if (holder != null) {
              sessions.retireIfIdleLocked(s);
              return Result.refused(
                  ErrorCode.RUN_IN_PROGRESS, "session " + sessionId + " already has a run in progress");
            }
            if (starter != null && request.followSession()) {
              sessions.followLocked(s, starter);
            }
            try {
              run = newRun(runId, sessionId, epoch, request.principal(), sessionOwner, starter == null ? 0 : starter.generation);
            } catch (EngineUnavailableException e) {
              abandon(s, rec);
              return unavailable();
            }
            toFlush = new ArrayList<>(s.followers.size() + 1);
            if (starter != null) {
              RunResume.attach(run, starter, AttachMode.ADDITIVE);
              toFlush.add(starter);
            }
            for (ConnectionState f : s.followers) {
              if (f != starter) {
                Authorizer.Decision fd = claim ? vetted.get(f) : null;
                if (fd != null && fd != Authorizer.Decision.ALLOW) {
                  dropped.add(f);
                  continue;
                }
                RunResume.attach(run, f, AttachMode.ADDITIVE);
                toFlush.add(f);
              }
            }
            for (ConnectionState f : dropped) {
              s.followers.remove(f);
              f.follows.remove(s);
            }
            Result<Long> first = run.recordStarted(request.input());
            if (first instanceof Result.Refused<Long> no1) {
              run.evict();
              CommandRouter.Binding b = bindings.remove(runId);
              if (b != null) {
                b.close();
              }
              abandon(s, rec);
              return Result.refused(no1.code(), no1.message());
            }
            if (claim) {
              s.owner = request.principal();
            }
            // Published only now, with its recipients attached and run.started recorded as seq 1:
            // nobody can reach the run through run(id), currentRun(session) or an abort before that.
            runs.add(run);
            s.current = run;
            break;
          }
        }
      }
      if (!Objects.equals(ownerNow, authorizedOwner)) {
        authorizedOwner = ownerNow;
        no = authorizeStart(request.principal(), sessionId, authorizedOwner);
        if (no != null) {
          return no;
        }
        continue;
      }
      for (ConnectionState f : toVet) {
        vetted.put(f, hooks.authorize(f.principal, Action.SUBSCRIBE, sessionId, request.principal()));
      }
    }
    for (ConnectionState c : toFlush) {
      c.flush();
    }
    for (ConnectionState f : dropped) {
      boolean denied = vetted.get(f) == Authorizer.Decision.DENY;
      f.sendError(
          denied ? ErrorCode.FORBIDDEN : ErrorCode.SESSION_NOT_FOUND,
          denied ? "may not follow session " + sessionId : "session " + sessionId + " was not found",
          sessionId,
          null);
    }
    scheduleTimeout(run, request);
    LOG.debug("run {} started in session {} by {}", run.runId(), sessionId, request.principal());
    return Result.ok(run);
  }

  private static <T> Result<T> unavailable() {
    return Result.refused(ErrorCode.ENGINE_UNAVAILABLE, "the engine's store is unavailable; retry later");
  }

  /** A claimed start failed on the engine: the claim is released (later, under no lock). Under the session's lock. */
  private void abandon(SessionState s, RunRecord rec) {
    sessions.retireIfIdleLocked(s);
    hooks.schedule(0, () -> remote.endElsewhere(rec, FailureReason.RUNTIME_ERROR, "the engine's store failed at the start", 0));
  }

  private void scheduleTimeout(Run run, StartRequest request) {
    RunlaneConfig config = hooks.config;
    long timeout = request.timeout() != null ? request.timeout().toNanos() : config.defaultRunTimeoutNanos;
    if (timeout > 0) {
      long deadline =
          Math.min(config.maxRunTimeoutNanos, Math.max(config.minRunTimeoutNanos, timeout)) + config.runTimeoutGraceNanos;
      run.setExpiry(
          hooks.schedule(
              deadline,
              () -> run.cancel(RunState.FAILED, FailureReason.TIMEOUT, ExitCode.TIMED_OUT, "run timed out", null)));
    }
  }

  private Result.@Nullable Refused<RunHandle> authorizeStart(String principal, String sessionId, @Nullable String owner) {
    Authorizer.Decision d = hooks.authorize(principal, Action.START, sessionId, owner);
    if (d == Authorizer.Decision.ALLOW) {
      return null;
    }
    return d == Authorizer.Decision.DENY
        ? new Result.Refused<>(ErrorCode.FORBIDDEN, "may not start a run in this session")
        : new Result.Refused<>(ErrorCode.SESSION_NOT_FOUND, "session " + sessionId + " was not found");
  }

  private Run newRun(String runId, String sessionId, String epoch, String owner, String sessionOwner, long starterGeneration) {
    RunlaneConfig config = hooks.config;
    Run run =
        new Run(
            hooks, this, engine.directory(), approvals, runId, sessionId, epoch, owner, sessionOwner,
            starterGeneration,
            new CountedLog(engine.newLog(runId, config.replayCapacity, config.replayByteBudget), hooks.retainedBytes),
            runtime, false);
    bindings.put(runId, engine.commands().bind(runId, cmd -> execute(run, cmd)));
    return run;
  }

  /** Executes a routed command on the node that runs {@code run}; authorization was done by the issuer. */
  private Result<?> execute(Run run, RunCommand command) {
    if (command instanceof RunCommand.Abort a) {
      // The binding exists from inside the start's critical section, and the directory (where
      // another node, or abortSession here, finds the run) has the claim from then too: an abort
      // can arrive before run.started is recorded and the run published. It waits for the start
      // (which holds the session's lock until then), so it never ends a run that is not visible
      // yet, nor takes seq 1 from its run.started; a start that failed meanwhile is no run to abort.
      awaitStart(run);
      if (runs.get(run.runId()) != run) {
        return Result.refused(ErrorCode.NO_ACTIVE_RUN, "run " + run.runId() + " is not running");
      }
      Result<RunOutcome> r =
          run.cancel(RunState.ABORTED, null, ExitCode.ABORTED, "aborted by " + a.principal(), a.principal());
      return r.isOk() ? r : Result.refused(ErrorCode.NO_ACTIVE_RUN, "run " + run.runId() + " is not running");
    }
    RunCommand.ResolveApproval ra = (RunCommand.ResolveApproval) command;
    return run.approvals.resolve(ra.approvalId(), Approval.Resolution.ANSWERED, ra.decision(), ra.principal())
        ? Result.ok(ra.approvalId())
        : Result.refused(ErrorCode.UNKNOWN_APPROVAL, "approval " + ra.approvalId() + " is unknown or already resolved");
  }

  /**
   * Returns once the start of {@code run} has left its critical section: it holds the session's
   * lock from the claim until the run is published (or abandoned), and the run is bound only inside
   * it, so a command handler that gets the lock afterwards sees the start's outcome. Called under
   * no lock (the handler's contract).
   */
  private void awaitStart(Run run) {
    SessionState s = sessions.get(run.sessionId());
    if (s != null) {
      synchronized (s) {
        // acquiring the lock is the wait: nothing else to do under it
      }
    }
  }

  // ---------------------------------------------------------------- runtime and safety net

  Result<RunHandle> startAndRun(StartRequest request) {
    RunRuntime rt = runtime;
    if (rt == null) {
      return Result.refused(ErrorCode.UNSUPPORTED, "no runtime is configured to start runs");
    }
    Result<RunHandle> r = startRun(request);
    if (r instanceof Result.Ok<RunHandle> ok) {
      RunHandle run = ok.value();
      Object input = request.input();
      try {
        runtimeExecutor.execute(() -> runGuarded(run, () -> rt.run(run, input)));
      } catch (RuntimeException e) {
        // rejected, or a host executor that throws anything else: nothing else would end the run
        LOG.warn("runtime executor refused run {} (session {})", run.runId(), run.sessionId(), e);
        run.fail(FailureReason.RUNTIME_ERROR, ExitCode.FAILED, "runtime executor rejected the run");
      }
    }
    return r;
  }

  /** The runtime's work, run under the safety net. */
  @FunctionalInterface
  interface Task {
    void run() throws Exception;
  }

  Result<RunOutcome> runGuarded(RunHandle run, Task task) {
    Objects.requireNonNull(run, "run");
    Objects.requireNonNull(task, "task");
    try {
      task.run();
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.warn("runtime of run {} (session {}) threw", run.runId(), run.sessionId(), e);
      return run.fail(FailureReason.RUNTIME_THREW, ExitCode.FAILED, String.valueOf(e.getMessage()));
    } catch (Error e) {
      // end the run first, then let the JVM-level problem propagate
      run.fail(FailureReason.RUNTIME_THREW, ExitCode.FAILED, String.valueOf(e.getMessage()));
      throw e;
    }
    return run.fail(FailureReason.NO_END_REPORTED, ExitCode.FAILED, "the runtime returned without ending its run");
  }

  Result<RunOutcome> runtimeDied(String runId, @Nullable String message) {
    Run r = runs.get(runId);
    if (r == null) {
      return Result.refused(ErrorCode.UNKNOWN_RUN, "run " + runId + " is not held");
    }
    return r.fail(FailureReason.RUNTIME_DIED, ExitCode.FAILED, message == null ? "runtime died" : message);
  }

  // ---------------------------------------------------------------- end and eviction

  @Override
  public void mirrorIdle(Run mirror) {
    remote.idle(mirror);
  }

  @Override
  public void ended(Run run, RunOutcome outcome) {
    LOG.debug("run {} of session {} ended: {}", run.runId(), run.sessionId(), outcome.state());
    if (run.mirror) {
      remote.ended(run);
    }
    CommandRouter.Binding b = bindings.remove(run.runId());
    if (b != null) {
      b.close();
    }
    if (!closed.getAsBoolean()) {
      endedInOrder.add(run);
      retentionTimers.put(run, hooks.schedule(hooks.config.retentionNanos, () -> evict(run)));
    } else {
      evict(run);
    }
    if (!run.endedElsewhere()) {
      hooks.runEnded(outcome); // once per run across nodes: where it ended
    }
    if (hooks.overBudget()) {
      overBudget();
    }
  }

  /**
   * Keeps the logs within the process-wide retention budget: ended runs first, oldest end first
   * (their late resumes get UNKNOWN_RUN, as after retention), then the oldest events of running
   * runs, oldest run first (their resumes below the trim get TRUNCATED). One enforcer at a time;
   * publishers that find the budget exceeded meanwhile return at once.
   */
  @Override
  public void overBudget() {
    if (!enforcing.tryLock()) {
      return;
    }
    try {
      long max = hooks.config.maxRetainedBytes;
      Run ended;
      while (hooks.overBudget() && (ended = endedInOrder.poll()) != null) {
        if (runs.get(ended.runId()) == ended) {
          evict(ended);
          hooks.budgetEvictedRuns.incrementAndGet();
        }
      }
      if (!hooks.overBudget()) {
        return;
      }
      List<Run> running = new ArrayList<>();
      for (Run r : runs.all()) {
        if (!r.state().isTerminal() && !r.mirror) {
          running.add(r);
        }
      }
      running.sort(java.util.Comparator.comparingLong(r -> Long.parseLong(r.runId().substring(idPrefix.length()), 36)));
      for (Run r : running) {
        long excess = hooks.retainedBytes.get() - max;
        if (excess <= 0) {
          break;
        }
        long held = r.log().retainedBytes();
        if (r.trim(Math.max(0, held - excess)) < held) {
          hooks.budgetTrimmedRuns.incrementAndGet();
        }
      }
    } finally {
      enforcing.unlock();
    }
  }

  /** Evicts exactly this run instance: a newer run of the same session is never touched. */
  private void evict(Run run) {
    TimeSource.Cancellable timer = retentionTimers.remove(run);
    if (timer != null) {
      timer.cancel(); // evicted early for the budget: the timer must not keep the run reachable
    }
    endedInOrder.remove(run);
    if (run.mirror) {
      remote.forget(run);
    }
    runs.remove(run);
    sessions.runEvicted(run.sessionId(), run);
    run.evict();
  }

  /** Shutdown: every held run is cancelled through the cancel path (its runtime is told to stop). */
  void cancelAll() {
    cancelLocalRuns();
    remote.closeAll();
  }

  /** Cancels every run this node writes (not mirrors) and fails it with SHUTDOWN. */
  void cancelLocalRuns() {
    for (Run r : new ArrayList<>(runs.all())) {
      if (!r.mirror) {
        r.cancel(RunState.FAILED, FailureReason.SHUTDOWN, ExitCode.FAILED, "server shutting down", null);
      }
    }
  }

  int boundCommandHandlers() {
    return bindings.size();
  }
}
