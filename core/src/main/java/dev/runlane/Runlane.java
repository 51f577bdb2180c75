package dev.runlane;

import dev.runlane.codec.SubscribeAck;
import dev.runlane.engine.Engine;
import dev.runlane.engine.InMemoryEngine;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.InboundHandler;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * The entry point: routes each run's events to exactly that run's recipients, numbers and keeps
 * them for resume, ends every run exactly once, and delivers through bounded per-connection
 * outboxes. A facade: it builds the engine parts and delegates to them.
 *
 * <pre>{@code
 * Runlane runlane = Runlane.builder().codec(new JsonWireCodec()).runtime(myAgent).build();
 * // in the host's WebSocket open handler:
 * InboundHandler in = runlane.connect(myConnection);   // forward messages and the close to it
 * RunHandle run = runlane.startRun(StartRequest.of("s-1", "alice")).orElseThrow();
 * }</pre>
 *
 * <p>There is no way to send a run's events to everyone: a run with no live recipient delivers to
 * nobody. System-wide notices are a separate call, {@link #noticeAll}, that cannot take a run.
 *
 * <p>Every operation that can be refused answers a {@link Result}; host calls follow one rule for
 * their arguments: null is misuse ({@link NullPointerException}); an id outside the id grammar is
 * refused ({@code SESSION_ID_REQUIRED} for a blank session id, {@code INVALID_PAYLOAD} otherwise),
 * as the same id would be on the wire (see {@code docs/reference/error-codes.md}).
 *
 * <p><b>Thread safety:</b> safe for concurrent use from any thread. No method blocks on a socket.
 * Host hooks (authorizer, runtime, listeners, metrics) are never called under a Runlane lock.
 */
public final class Runlane implements AutoCloseable {
  private static final AtomicInteger INSTANCES = new AtomicInteger();

  private final HostHooks hooks;
  private final Engine engine;
  private final @Nullable ExecutorService ownedExecutor;
  private final @Nullable SystemTimeSource ownedTime;
  private final StreamTickets tickets;
  private final String serverEpoch;
  private final Connections connections;
  private final Sessions sessions = new Sessions();
  private final Runs runs = new Runs();
  private final ApprovalRegistry approvals;
  private final RemoteRuns remote;
  private final RunLifecycle lifecycle;
  private final RunAborts aborts;
  private final Subscriptions subscriptions;
  private final Housekeeping housekeeping;
  private final @Nullable WriteLoops writeLoops;
  private volatile boolean closed;

  Runlane(RunlaneBuilder b) {
    RunlaneConfig config = b.config.copy();
    TimeSource time;
    if (b.time != null) {
      time = b.time;
      this.ownedTime = null;
    } else {
      SystemTimeSource sts = new SystemTimeSource();
      time = sts;
      this.ownedTime = sts;
    }
    Executor executor;
    if (b.runtimeExecutor != null) {
      executor = b.runtimeExecutor;
      this.ownedExecutor = null;
    } else {
      int n = INSTANCES.incrementAndGet();
      AtomicInteger threads = new AtomicInteger();
      ExecutorService es =
          Executors.newCachedThreadPool(
              r -> {
                Thread t = new Thread(r, "runlane-" + n + "-runtime-" + threads.incrementAndGet());
                t.setDaemon(true);
                return t;
              });
      executor = es;
      this.ownedExecutor = es;
    }
    this.hooks =
        new HostHooks(config, time, Objects.requireNonNull(b.codec, "codec is required"), b.authorizer, b.metrics, b.runListeners);
    this.engine = b.engine != null ? b.engine : new InMemoryEngine();
    this.tickets = new StreamTickets(time, b.ticketTtlNanos, b.maxTickets);
    byte[] e = new byte[9];
    new SecureRandom().nextBytes(e);
    this.serverEpoch = Base64.getUrlEncoder().withoutPadding().encodeToString(e);
    // the dispatcher needs the parts that need the registry: the registry reaches it through a function
    CommandDispatcher[] dispatcher = new CommandDispatcher[1];
    this.writeLoops = config.writeThreads > 0 ? new WriteLoops(config.writeThreads, "runlane-writer-") : null;
    this.connections = new Connections(hooks, serverEpoch, (c, p) -> dispatcher[0].inbound(c, p), writeLoops);
    Access access = new Access(hooks, sessions, engine.commands());
    this.approvals = new ApprovalRegistry(hooks, runs, access);
    this.remote = new RemoteRuns(hooks, engine, runs, sessions, approvals);
    this.lifecycle =
        new RunLifecycle(
            hooks, engine, sessions, runs, connections, approvals, access, remote, b.runtime, executor, () -> closed,
            "run_" + serverEpoch.substring(0, 8) + "_");
    this.subscriptions = new Subscriptions(hooks, connections, sessions, runs, remote);
    engine.onNodeLost(remote::nodeLost);
    this.aborts = new RunAborts(hooks, sessions, runs, access, remote);
    dispatcher[0] = new CommandDispatcher(hooks, lifecycle, aborts, subscriptions, approvals);
    this.housekeeping = new Housekeeping(hooks, connections);
    housekeeping.start();
  }

  /** A new builder. The codec is required; everything else has a documented default. */
  public static RunlaneBuilder builder() {
    return new RunlaneBuilder();
  }

  /** This instance's epoch: random per process start, sent in every welcome frame. */
  public String serverEpoch() {
    return serverEpoch;
  }

  /** The stream tickets of this instance. */
  public StreamTickets tickets() {
    return tickets;
  }

  // ================================================================ connections

  /**
   * Registers an open connection and returns where the host forwards its inbound frames and its
   * close. Sends a welcome frame first.
   *
   * @throws IllegalStateException if a live connection has the same id (rule T1.1), or Runlane is
   *     closed
   */
  public InboundHandler connect(Connection connection) {
    Objects.requireNonNull(connection, "connection");
    if (closed) {
      ConnectionState.safeClose(connection, CloseReason.GOING_AWAY);
      throw new IllegalStateException("Runlane is closed");
    }
    return connections.connect(connection);
  }

  /**
   * Pairs a second transport that carries the stream lane of an existing connection (capability
   * {@code STREAM_TRANSPORT}). The client presents the id and generation from its welcome.
   * Refused (the transport is closed with {@link CloseReason#STALE_STREAM_TRANSPORT}) if the
   * connection is gone, the generation is not its current one, the principal differs, the
   * capability was not declared, or stream frames have already flowed on the primary. If either
   * transport of a pair closes, both are closed and the client resumes. Commands travel on the
   * primary: a frame the client sends on the stream transport counts as activity only.
   */
  public InboundHandler connectStream(Connection streamTransport, String connectionId, long generation) {
    Objects.requireNonNull(streamTransport, "streamTransport");
    Objects.requireNonNull(connectionId, "connectionId");
    return connections.connectStream(streamTransport, connectionId, generation);
  }

  /** Closes a connection from the host's side with {@code reason}; it leaves every registry. */
  public void disconnect(String connectionId, CloseReason reason) {
    ConnectionState c = connections.get(connectionId);
    if (c != null) {
      c.closeLocally(reason, true);
    }
  }

  /** Delivery statistics of a live connection. */
  public Optional<ConnectionStats> connectionStats(String connectionId) {
    ConnectionState c = connections.get(connectionId);
    return c == null ? Optional.empty() : Optional.of(c.stats(hooks.time.nanoTime()));
  }

  /** Number of live connections. */
  public int connectionCount() {
    return connections.size();
  }

  /** Number of runs held (running, and ended but retained for resume). */
  public int runCount() {
    return runs.size();
  }

  /** Number of sessions held (with a retained run or followers). */
  public int sessionCount() {
    return sessions.size();
  }

  /** What the engine holds right now, for health endpoints and leak checks in tests. */
  public EngineSnapshot snapshot() {
    return EngineSnapshot.of(connections.all(), sessions.all(), runs.all(), approvals.size(), hooks);
  }

  // ================================================================ runs

  /**
   * Starts a run. Refused with {@link ErrorCode#RUN_IN_PROGRESS} (and no side effect) if the
   * session has a running run, {@link ErrorCode#FORBIDDEN} or {@link ErrorCode#SESSION_NOT_FOUND}
   * if the authorizer refuses, {@link ErrorCode#FORBIDDEN} if the request's connection belongs to
   * another principal, {@link ErrorCode#TOO_MANY_SUBSCRIPTIONS} if following the session would take
   * the connection past its limit, {@link ErrorCode#SHUTTING_DOWN} after {@link #close()}. The
   * run's first event, {@code run.started} (seq 1), goes to the starting connection and the
   * session's followers; the run becomes visible ({@link #run}, {@link #currentRun}, aborts) only
   * once that event is recorded.
   */
  public Result<RunHandle> startRun(StartRequest request) {
    return lifecycle.startRun(request);
  }

  /** The run with this id, while it is held (running, or ended and retained). */
  public Optional<RunHandle> run(String runId) {
    return Optional.ofNullable(runs.get(runId));
  }

  /** The session's current run (running, or the last one while retained). */
  public Optional<RunHandle> currentRun(String sessionId) {
    SessionState s = sessions.get(sessionId);
    return s == null ? Optional.empty() : Optional.ofNullable(s.current);
  }

  /**
   * Starts a run and executes the configured {@link RunRuntime} on the runtime executor under the
   * safety net. Used for the clients' start commands; hosts may call it too. Refused with {@link
   * ErrorCode#UNSUPPORTED} when no runtime is configured.
   */
  public Result<RunHandle> startAndRun(StartRequest request) {
    return lifecycle.startAndRun(request);
  }

  /** A runtime task run under the safety net. */
  @FunctionalInterface
  public interface RuntimeTask {
    /** Runs the runtime to the end of its run. */
    void run() throws Exception;
  }

  /**
   * The safety net: runs {@code task} on the calling thread and guarantees {@code run} ends. If the
   * task throws, or returns without ending the run, that run instance (and no other run of its
   * session) is failed with {@link FailureReason#RUNTIME_THREW} or {@link
   * FailureReason#NO_END_REPORTED}. An {@link Error} fails the run and is then rethrown.
   *
   * @return the outcome if the safety net had to end the run; {@link ErrorCode#RUN_ENDED} if the
   *     run had ended by itself (the normal case)
   */
  public Result<RunOutcome> runGuarded(RunHandle run, RuntimeTask task) {
    Objects.requireNonNull(task, "task");
    return lifecycle.runGuarded(run, task::run);
  }

  /**
   * The runtime behind {@code runId} died (a crashed process, a lost worker): fails the run if it
   * has not ended. Only that run instance is affected.
   */
  public Result<RunOutcome> runtimeDied(String runId, @Nullable String message) {
    return lifecycle.runtimeDied(runId, message);
  }

  /**
   * Aborts a run on behalf of {@code principal}: its owner, or whom the authorizer allows ({@link
   * Action#ABORT}), and only while it runs. The authorizer is asked first, so a principal it
   * refuses learns nothing of the run's state. Calls the runtime's cancel hook (no lock held),
   * then ends the run as aborted; the runtime's later events are dropped.
   */
  public Result<RunOutcome> abort(String runId, String principal) {
    return aborts.abort(runId, principal);
  }

  /** Aborts the session's running run, through the same path as {@link #abort(String, String)}. */
  public Result<RunOutcome> abortSession(String sessionId, String principal) {
    return aborts.abortSession(sessionId, principal);
  }

  // ================================================================ recipients

  /**
   * Makes a connection a recipient of a run's future events (no replay; use {@link #subscribe} to
   * resume). The authorizer is consulted unless the connection started the run. Refused with
   * {@link ErrorCode#UNKNOWN_CONNECTION}, {@link ErrorCode#UNKNOWN_RUN}, {@link
   * ErrorCode#RUN_ENDED} or {@link ErrorCode#FORBIDDEN}.
   */
  public Result<RunHandle> attach(String runId, String connectionId, AttachMode mode) {
    return subscriptions.attach(runId, connectionId, mode);
  }

  /** Stops delivering a run's events to a connection; returns whether it was a recipient. */
  public boolean detach(String runId, String connectionId) {
    return subscriptions.detach(runId, connectionId);
  }

  /** The connection ids that currently receive a run's events. */
  public Set<String> recipientsOf(String runId) {
    return subscriptions.recipientsOf(runId);
  }

  /**
   * Subscribes a connection: sends the acknowledgement, replays exactly what {@code target} asks
   * for, then the live stream (see {@code docs/concepts/resume.md}). With no run id, the connection
   * also follows the session's later runs. A refusal is also sent to the connection as a protocol
   * error; an unknown connection is refused with {@link ErrorCode#UNKNOWN_CONNECTION}.
   */
  public Result<SubscribeAck> subscribe(String connectionId, SubscribeTarget target, AttachMode mode) {
    return subscriptions.subscribe(connectionId, target, mode);
  }

  /** Stops following a session and detaches from its runs. */
  public void unsubscribe(String connectionId, String sessionId) {
    subscriptions.unsubscribe(connectionId, sessionId);
  }

  // ================================================================ notices

  /**
   * Sends a system-wide notice (e.g. "reload") to every live connection. It cannot carry a run:
   * runs are delivered to their recipients only.
   */
  public void noticeAll(String kind, @Nullable Object data) {
    Objects.requireNonNull(kind, "kind");
    subscriptions.noticeAll(kind, data);
  }

  /**
   * Sends a session-scoped notice (e.g. "model changed") to the session's followers and the
   * recipients of its current run, and nobody else.
   *
   * @return the number of connections it was sent to
   */
  public int noticeSession(String sessionId, String kind, @Nullable Object data) {
    Objects.requireNonNull(sessionId, "sessionId");
    Objects.requireNonNull(kind, "kind");
    return subscriptions.noticeSession(sessionId, kind, data);
  }

  // ================================================================ approvals

  /**
   * Resolves a pending approval on behalf of {@code principal} (the run's owner, or whom the
   * authorizer allows for {@link Action#RESOLVE_APPROVAL}). Refused with {@link
   * ErrorCode#UNKNOWN_APPROVAL} (unknown, already resolved, or not visible to the principal) or
   * {@link ErrorCode#FORBIDDEN}.
   */
  public Result<Approval> resolveApproval(String approvalId, String principal, @Nullable Object decision) {
    return approvals.resolve(approvalId, principal, decision);
  }

  // ================================================================ lifecycle

  /**
   * Sends everyone away and stays open, for a host that pauses and resumes serving (Spring's
   * lifecycle {@code stop()} then {@code start()}): cancels running runs (the runtime's cancel hook
   * is called) and fails them with {@link FailureReason#SHUTDOWN}, and closes every connection with
   * {@link CloseReason#GOING_AWAY} (resume elsewhere or later), exactly as {@link #close()} does,
   * but keeps the timers, the engine and the threads: ended runs stay resumable for their
   * retention, and {@link #connect} and {@link #startRun} work again at once. A host refuses new
   * connections itself while paused. In a cluster, only the runs this node writes are ended. No-op
   * once closed.
   */
  public void drain() {
    if (closed) {
      return;
    }
    if (writeLoops != null) {
      writeLoops.pauseAndSettle(1_000); // the runs' last frames go out before the connections close
    }
    try {
      lifecycle.cancelLocalRuns();
      for (ConnectionState c : new ArrayList<>(connections.all())) {
        c.closeLocally(CloseReason.GOING_AWAY, true);
      }
    } finally {
      if (writeLoops != null) {
        writeLoops.resume();
      }
    }
  }

  /**
   * Shuts down deterministically: stops the timers, cancels running runs (the runtime's cancel hook
   * is called) and fails them with {@link FailureReason#SHUTDOWN} (their listeners are called),
   * closes every connection with {@link CloseReason#GOING_AWAY}, closes the engine and stops the
   * threads Runlane created. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    housekeeping.stop();
    if (writeLoops != null) {
      writeLoops.pauseAndSettle(1_000); // the runs' last frames go out before the connections close
    }
    lifecycle.cancelAll();
    for (ConnectionState c : new ArrayList<>(connections.all())) {
      c.closeLocally(CloseReason.GOING_AWAY, true);
    }
    engine.close();
    if (writeLoops != null) {
      writeLoops.stop();
    }
    if (ownedExecutor != null) {
      ownedExecutor.shutdownNow();
    }
    if (ownedTime != null) {
      ownedTime.close();
    }
  }

  /**
   * Checks the engine's invariants and throws {@link AssertionError} naming the first broken one.
   * For tests: call it when the engine is quiescent (no call in progress).
   */
  void checkInvariants() {
    Invariants.check(connections, sessions, runs, engine, hooks, remote);
  }
}
