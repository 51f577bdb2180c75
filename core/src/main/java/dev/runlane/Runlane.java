package dev.runlane;

import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.Frame;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Lane;
import dev.runlane.transport.Payload;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The entry point: routes each run's events to exactly that run's recipients, numbers and keeps
 * them for resume, ends every run exactly once, and delivers through bounded per-connection
 * outboxes.
 *
 * <pre>{@code
 * Runlane runlane = Runlane.builder().codec(new JsonWireCodec()).runtime(myAgent).build();
 * // in the host's WebSocket open handler:
 * InboundHandler in = runlane.connect(myConnection);   // forward messages and the close to it
 * }</pre>
 *
 * <p>There is no way to send a run's events to everyone: a run with no live recipient delivers to
 * nobody. System-wide notices are a separate call, {@link #notifyAll}, that cannot take a run.
 *
 * <p><b>Thread safety:</b> safe for concurrent use from any thread. No method blocks on a socket.
 * Host hooks (authorizer, runtime, listeners, metrics) are never called under a Runlane lock.
 */
public final class Runlane implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Runlane.class);
  private static final AtomicInteger INSTANCES = new AtomicInteger();

  final RunlaneConfig config;
  final TimeSource time;
  private final WireCodec codec;
  private final Authorizer authorizer;
  private final @Nullable RunRuntime runtime;
  private final Executor runtimeExecutor;
  private final @Nullable ExecutorService ownedExecutor;
  private final @Nullable SystemTimeSource ownedTime;
  private final List<RunListener> runListeners;
  private final RunlaneMetrics metrics;
  private final StreamTickets tickets;

  private final String serverEpoch;
  private final String idPrefix;
  private final AtomicLong runCounter = new AtomicLong();
  private final AtomicLong generations = new AtomicLong();
  private final SecureRandom secureRandom = new SecureRandom();

  private final ConcurrentHashMap<String, ConnectionState> connections = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Run> runs = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, SessionState> sessions = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Run> approvals = new ConcurrentHashMap<>();

  private volatile boolean closed;
  private volatile TimeSource.@Nullable Cancellable housekeeping;

  private Runlane(Builder b) {
    this.config = b.config.copy();
    if (b.time != null) {
      this.time = b.time;
      this.ownedTime = null;
    } else {
      SystemTimeSource sts = new SystemTimeSource();
      this.time = sts;
      this.ownedTime = sts;
    }
    this.codec = Objects.requireNonNull(b.codec, "codec is required");
    this.authorizer = b.authorizer;
    this.runtime = b.runtime;
    if (b.runtimeExecutor != null) {
      this.runtimeExecutor = b.runtimeExecutor;
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
      this.runtimeExecutor = es;
      this.ownedExecutor = es;
    }
    this.runListeners = List.copyOf(b.runListeners);
    this.metrics = b.metrics;
    this.tickets = new StreamTickets(time, b.ticketTtlNanos, b.maxTickets);
    byte[] e = new byte[9];
    secureRandom.nextBytes(e);
    this.serverEpoch = Base64.getUrlEncoder().withoutPadding().encodeToString(e);
    this.idPrefix = "run_" + serverEpoch.substring(0, 8) + "_";
    scheduleHousekeeping();
  }

  /** A new builder. The codec is required; everything else has a documented default. */
  public static Builder builder() {
    return new Builder();
  }

  /** This instance's epoch: random per process start, sent in every {@link Outbound.Welcome}. */
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
   * close. Sends a {@link Outbound.Welcome} first.
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
    ConnectionState c = new ConnectionState(this, connection, generations.incrementAndGet());
    ConnectionState prev = connections.putIfAbsent(c.id, c);
    if (prev != null) {
      throw new IllegalStateException("a live connection already has id " + c.id + " (rule T1.1)");
    }
    LOG.debug("connection {} opened for {}", c.id, c.principal);
    c.sendControl(
        new Outbound.Welcome(
            c.id,
            c.generation,
            serverEpoch,
            connection.capabilities().contains(Capability.STREAM_TRANSPORT)));
    if (!connection.isOpen()) {
      c.closeLocally(CloseReason.NORMAL, false);
    }
    return c;
  }

  /**
   * Pairs a second transport that carries the stream lane of an existing connection (capability
   * {@link Capability#STREAM_TRANSPORT}). The client presents the id and generation from its
   * {@link Outbound.Welcome}. Refused (the transport is closed with {@link
   * CloseReason#STALE_STREAM_TRANSPORT}) if the connection is gone, the generation is not its
   * current one, the principal differs, the capability was not declared, or stream frames have
   * already flowed on the primary. If either transport of a pair closes, both are closed and the
   * client resumes. Commands travel on the primary: a frame the client sends on the stream
   * transport counts as activity and is otherwise ignored.
   */
  public InboundHandler connectStream(Connection streamTransport, String connectionId, long generation) {
    Objects.requireNonNull(streamTransport, "streamTransport");
    Objects.requireNonNull(connectionId, "connectionId");
    ConnectionState c = connections.get(connectionId);
    boolean ok =
        c != null
            && !c.isClosed()
            && c.generation == generation
            && c.principal.equals(streamTransport.principal())
            && c.connection.capabilities().contains(Capability.STREAM_TRANSPORT)
            && c.outbox.pairStream(streamTransport);
    if (!ok || c == null) {
      LOG.info("refused stream transport {} for connection {} generation {}", streamTransport.id(), connectionId, generation);
      ConnectionState.safeClose(streamTransport, CloseReason.STALE_STREAM_TRANSPORT);
      return new InboundHandler() {
        @Override
        public void onFrame(Payload payload) {}

        @Override
        public void onActivity() {}

        @Override
        public void onClose(CloseReason reason) {}
      };
    }
    c.sendControl(new Outbound.StreamPaired(c.id, c.generation));
    ConnectionState primary = c;
    return new InboundHandler() {
      @Override
      public void onFrame(Payload payload) {
        // Commands travel on the primary. Handling them here too would run the primary's command
        // handling on two threads at once (rule T7.1 holds per transport, not per pair), so a
        // frame on the stream transport only proves the client is alive.
        primary.onActivity();
      }

      @Override
      public void onActivity() {
        primary.onActivity();
      }

      @Override
      public void onClose(CloseReason reason) {
        try {
          primary.onStreamClose();
        } catch (RuntimeException e) {
          LOG.error("tear-down of connection {} failed", primary.id, e);
        }
      }
    };
  }

  /** Closes a connection from the host's side with {@code reason}; it leaves every registry. */
  public void disconnect(String connectionId, CloseReason reason) {
    ConnectionState c = connections.get(connectionId);
    if (c != null) {
      c.closeLocally(reason, true);
    }
  }

  void unregister(ConnectionState c) {
    connections.remove(c.id, c);
  }

  /** Delivery statistics of a live connection. */
  public Optional<ConnectionStats> connectionStats(String connectionId) {
    ConnectionState c = connections.get(connectionId);
    return c == null ? Optional.empty() : Optional.of(c.stats(time.nanoTime()));
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

  // ================================================================ runs

  /**
   * Starts a run. Refused with {@link ErrorCode#RUN_IN_PROGRESS} (and no side effect) if the
   * session has a running run, {@link ErrorCode#FORBIDDEN} or {@link ErrorCode#SESSION_NOT_FOUND}
   * if the authorizer refuses (asked again if another principal claims the session meanwhile),
   * {@link ErrorCode#FORBIDDEN} if the request's connection belongs to another principal, {@link
   * ErrorCode#TOO_MANY_SUBSCRIPTIONS} if following the session would take the connection past
   * {@link Builder#maxSessionsPerConnection}. The run's first event, {@code run.started} (seq 1),
   * goes to the starting connection and to the session's followers; the run becomes visible
   * ({@link #run}, {@link #currentRun}, aborts) only once that event is recorded.
   */
  public StartResult startRun(StartRequest request) {
    Objects.requireNonNull(request, "request");
    if (closed) {
      return new StartResult.Refused(ErrorCode.UNSUPPORTED, "Runlane is closed");
    }
    String sessionId = request.sessionId();
    if (sessionId.isBlank()) {
      return new StartResult.Refused(ErrorCode.SESSION_ID_REQUIRED, "a session id is required");
    }
    if (sessionId.length() > config.maxIdLength) {
      return new StartResult.Refused(ErrorCode.SESSION_NOT_FOUND, "session id too long");
    }
    SessionState existing = sessions.get(sessionId);
    @Nullable String authorizedOwner = existing == null ? null : existing.owner;
    StartResult.Refused no = authorizeStart(request.principal(), sessionId, authorizedOwner);
    if (no != null) {
      return no;
    }
    ConnectionState starter = request.connectionId() == null ? null : connections.get(request.connectionId());
    if (starter != null && !starter.principal.equals(request.principal())) {
      // The starting connection becomes a recipient (and a follower) without a subscribe: it must
      // be the starting principal's own, or a run would be routed to another user's socket.
      return new StartResult.Refused(
          ErrorCode.FORBIDDEN, "connection " + starter.id + " belongs to another principal");
    }
    if (starter != null && request.followSession()) {
      // following through a start is bounded like following through a subscribe
      SessionState known = sessions.get(sessionId);
      boolean alreadyFollowing = known != null && starter.sessions.contains(known);
      if (!alreadyFollowing && starter.sessions.size() >= config.maxSessionsPerConnection) {
        return new StartResult.Refused(
            ErrorCode.TOO_MANY_SUBSCRIPTIONS,
            "a connection may follow at most " + config.maxSessionsPerConnection + " sessions");
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
      SessionState s = sessions.computeIfAbsent(sessionId, SessionState::new);
      List<ConnectionState> toVet = new ArrayList<>();
      @Nullable String ownerNow;
      synchronized (s) {
        if (s.dead) {
          continue;
        }
        ownerNow = s.owner;
        if (!Objects.equals(ownerNow, authorizedOwner)) {
          // Another principal claimed the session after the authorizer was asked: ask again
          // (outside the lock), or this start would join a session its principal may not use.
          if (s.idleLocked()) {
            retireLocked(s);
          }
        } else {
          Run cur = s.current;
          if (cur != null && !cur.state().isTerminal()) {
            if (s.idleLocked()) {
              retireLocked(s);
            }
            return new StartResult.Refused(
                ErrorCode.RUN_IN_PROGRESS, "session " + sessionId + " already has a run in progress");
          }
          boolean claim = ownerNow == null;
          if (claim) {
            for (ConnectionState f : s.followers) {
              if (f != starter && !f.principal.equals(request.principal()) && !vetted.containsKey(f)) {
                toVet.add(f);
              }
            }
          }
          if (toVet.isEmpty()) {
            if (starter != null && request.followSession()) {
              followLocked(s, starter);
            }
            if (claim) {
              s.owner = request.principal();
            }
            run =
                newRun(
                    sessionId,
                    request.principal(),
                    ownerNow == null ? request.principal() : ownerNow,
                    starter == null ? 0 : starter.generation);
            toFlush = new ArrayList<>(s.followers.size() + 1);
            if (starter != null) {
              run.attach(starter, AttachMode.ADDITIVE);
              toFlush.add(starter);
            }
            for (ConnectionState f : s.followers) {
              if (f != starter) {
                Authorizer.Decision fd = claim ? vetted.get(f) : null;
                if (fd != null && fd != Authorizer.Decision.ALLOW) {
                  dropped.add(f);
                  continue;
                }
                run.attach(f, AttachMode.ADDITIVE);
                toFlush.add(f);
              }
            }
            for (ConnectionState f : dropped) {
              s.followers.remove(f);
              f.sessions.remove(s);
            }
            run.recordStarted(request.input());
            // Published only now, with its recipients attached and run.started recorded as seq 1:
            // nobody can reach the run through run(id), currentRun(session) or an abort before that.
            runs.put(run.runId(), run);
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
        vetted.put(f, authorize(f.principal, Action.SUBSCRIBE, sessionId, request.principal()));
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
    long timeout =
        request.timeout() != null ? request.timeout().toNanos() : config.defaultRunTimeoutNanos;
    if (timeout > 0) {
      long deadline =
          Math.min(config.maxRunTimeoutNanos, Math.max(config.minRunTimeoutNanos, timeout))
              + config.runTimeoutGraceNanos;
      Run r = run;
      run.setExpiry(
          schedule(
              deadline,
              () -> r.cancel(RunState.FAILED, FailureReason.TIMEOUT, 124, "run timed out", null)));
    }
    LOG.debug("run {} started in session {} by {}", run.runId(), sessionId, request.principal());
    return new StartResult.Started(run);
  }

  private StartResult.@Nullable Refused authorizeStart(
      String principal, String sessionId, @Nullable String owner) {
    Authorizer.Decision d = authorize(principal, Action.START, sessionId, owner);
    if (d == Authorizer.Decision.ALLOW) {
      return null;
    }
    return d == Authorizer.Decision.DENY
        ? new StartResult.Refused(ErrorCode.FORBIDDEN, "may not start a run in this session")
        : new StartResult.Refused(ErrorCode.SESSION_NOT_FOUND, "session " + sessionId + " was not found");
  }

  private Run newRun(String sessionId, String owner, String sessionOwner, long starterGeneration) {
    String runId = idPrefix + Long.toString(runCounter.incrementAndGet(), 36);
    String epoch = Long.toHexString(ThreadLocalRandom.current().nextLong() | 1L << 63);
    return new Run(
        this,
        runId,
        sessionId,
        epoch,
        owner,
        sessionOwner,
        starterGeneration,
        new ReplayRing(config.replayCapacity, config.replayByteBudget),
        runtime);
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
   * safety net. Used for the clients' start commands; hosts may call it too.
   */
  public StartResult startAndRun(StartRequest request) {
    RunRuntime rt = runtime;
    if (rt == null) {
      return new StartResult.Refused(ErrorCode.UNSUPPORTED, "no runtime is configured to start runs");
    }
    StartResult r = startRun(request);
    if (r instanceof StartResult.Started) {
      RunHandle run = ((StartResult.Started) r).run();
      Object input = request.input();
      try {
        runtimeExecutor.execute(() -> runGuarded(run, () -> rt.run(run, input)));
      } catch (RuntimeException e) {
        // rejected, or a host executor that throws anything else: nothing else would end the run
        LOG.warn("runtime executor refused run {} (session {})", run.runId(), run.sessionId(), e);
        run.fail(FailureReason.RUNTIME_ERROR, 1, "runtime executor rejected the run");
      }
    }
    return r;
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
   * @return the safety net's end: {@code won} is true only if the safety net had to end the run
   */
  public EndResult runGuarded(RunHandle run, RuntimeTask task) {
    Objects.requireNonNull(run, "run");
    Objects.requireNonNull(task, "task");
    try {
      task.run();
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.warn("runtime of run {} (session {}) threw", run.runId(), run.sessionId(), e);
      return run.fail(FailureReason.RUNTIME_THREW, 1, String.valueOf(e.getMessage()));
    } catch (Error e) {
      // end the run first, then let the JVM-level problem propagate
      run.fail(FailureReason.RUNTIME_THREW, 1, String.valueOf(e.getMessage()));
      throw e;
    }
    return run.fail(FailureReason.NO_END_REPORTED, 1, "the runtime returned without ending its run");
  }

  /**
   * The runtime behind {@code runId} died (a crashed process, a lost worker): fails the run if it
   * has not ended. Only that run instance is affected.
   */
  public EndResult runtimeDied(String runId, @Nullable String message) {
    Run r = runs.get(runId);
    if (r == null) {
      return new EndResult(false, null);
    }
    return r.fail(FailureReason.RUNTIME_DIED, 1, message == null ? "runtime died" : message);
  }

  /**
   * Aborts a run on behalf of {@code principal}: allowed for the run's owner, or whom the
   * authorizer allows ({@link Action#ABORT}), and only while it runs. Calls the runtime's cancel
   * hook (no lock held), then ends the run as aborted; the runtime's later events are dropped.
   */
  public AbortResult abort(String runId, String principal) {
    Objects.requireNonNull(runId, "runId");
    Objects.requireNonNull(principal, "principal");
    Run r = runs.get(runId);
    if (r == null || r.state() != RunState.RUNNING) {
      return AbortResult.refused(ErrorCode.NO_ACTIVE_RUN, r == null ? null : runId);
    }
    if (!r.owner().equals(principal)) {
      SessionState s = sessions.get(r.sessionId());
      Authorizer.Decision d = authorize(principal, Action.ABORT, r.sessionId(), s == null ? r.owner() : s.owner);
      if (d != Authorizer.Decision.ALLOW) {
        return AbortResult.refused(ErrorCode.FORBIDDEN, runId);
      }
    }
    EndResult e = r.cancel(RunState.ABORTED, null, 130, "aborted by " + principal, principal);
    return e != null && e.won()
        ? AbortResult.ok(runId)
        : AbortResult.refused(ErrorCode.NO_ACTIVE_RUN, runId);
  }

  /** Aborts the session's running run, through the same path as {@link #abort(String, String)}. */
  public AbortResult abortSession(String sessionId, String principal) {
    SessionState s = sessions.get(sessionId);
    Run cur = s == null ? null : s.current;
    if (cur == null) {
      return AbortResult.refused(ErrorCode.NO_ACTIVE_RUN, null);
    }
    return abort(cur.runId(), principal);
  }

  // ================================================================ recipients

  /**
   * Makes a connection a recipient of a run's future events (no replay; use {@link #subscribe} to
   * resume). The authorizer is consulted unless the connection started the run.
   */
  public AttachResult attach(String runId, String connectionId, AttachMode mode) {
    ConnectionState c = connections.get(connectionId);
    if (c == null) {
      return AttachResult.UNKNOWN_CONNECTION;
    }
    Run r = runs.get(runId);
    if (r == null) {
      return AttachResult.UNKNOWN_RUN;
    }
    if (!r.startedBy(c)) {
      SessionState s = sessions.get(r.sessionId());
      Authorizer.Decision d = authorize(c.principal, Action.SUBSCRIBE, r.sessionId(), s == null ? r.owner() : s.owner);
      if (d != Authorizer.Decision.ALLOW) {
        return d == Authorizer.Decision.DENY ? AttachResult.FORBIDDEN : AttachResult.UNKNOWN_RUN;
      }
    }
    if (r.state().isTerminal()) {
      return AttachResult.RUN_ENDED;
    }
    if (r.attach(c, mode)) {
      return AttachResult.ATTACHED;
    }
    return c.isClosed() ? AttachResult.UNKNOWN_CONNECTION : AttachResult.RUN_ENDED;
  }

  /** Stops delivering a run's events to a connection; returns whether it was a recipient. */
  public boolean detach(String runId, String connectionId) {
    ConnectionState c = connections.get(connectionId);
    Run r = runs.get(runId);
    return c != null && r != null && r.detach(c);
  }

  /** The connection ids that currently receive a run's events. */
  public Set<String> recipientsOf(String runId) {
    Run r = runs.get(runId);
    if (r == null) {
      return Set.of();
    }
    Set<String> out = new LinkedHashSet<>();
    for (ConnectionState c : r.recipients()) {
      out.add(c.id);
    }
    return out;
  }

  /**
   * Subscribes a connection: sends the acknowledgement, replays exactly what {@code target} asks
   * for, then the live stream (see {@code docs/concepts/resume.md}). With no run id, the connection
   * also follows the session's later runs. A refusal is also sent to the connection as a protocol
   * error.
   */
  public SubscribeResult subscribe(String connectionId, SubscribeTarget target, AttachMode mode) {
    ConnectionState c = connections.get(connectionId);
    if (c == null) {
      return new SubscribeResult.Refused(ErrorCode.INTERNAL_ERROR, "unknown connection " + connectionId);
    }
    return subscribe(c, target, mode, null);
  }

  private SubscribeResult subscribe(ConnectionState c, SubscribeTarget t, AttachMode mode, @Nullable String ref) {
    SubscribeResult r;
    do {
      r = doSubscribe(c, t, mode, ref);
    } while (r == OWNER_CHANGED);
    if (r instanceof SubscribeResult.Refused) {
      SubscribeResult.Refused no = (SubscribeResult.Refused) r;
      c.sendError(no.code(), no.message(), t.sessionId(), ref);
    }
    c.flush();
    return r;
  }

  private SubscribeResult doSubscribe(ConnectionState c, SubscribeTarget t, AttachMode mode, @Nullable String ref) {
    String sessionId = t.sessionId();
    if (sessionId.isBlank()) {
      return new SubscribeResult.Refused(ErrorCode.SESSION_ID_REQUIRED, "subscribe requires a sessionId");
    }
    if (sessionId.length() > config.maxIdLength) {
      return new SubscribeResult.Refused(ErrorCode.SESSION_NOT_FOUND, "session id too long");
    }
    String runId = t.runId();
    Run target = runId == null ? null : runs.get(runId);
    boolean starter = target != null && target.startedBy(c);
    SessionState seen = sessions.get(sessionId);
    // A named run is authorized against the owner of the session it was started in: the session id
    // may by now name a retired and re-created session with another owner, or none.
    @Nullable String authorizedOwner =
        target != null && target.sessionId().equals(sessionId)
            ? target.sessionOwner
            : seen == null ? null : seen.owner;
    if (!starter) {
      Authorizer.Decision d = authorize(c.principal, Action.SUBSCRIBE, sessionId, authorizedOwner);
      if (d != Authorizer.Decision.ALLOW) {
        return d == Authorizer.Decision.DENY
            ? new SubscribeResult.Refused(ErrorCode.FORBIDDEN, "may not subscribe to session " + sessionId)
            : new SubscribeResult.Refused(ErrorCode.SESSION_NOT_FOUND, "session " + sessionId + " was not found");
      }
    }
    if (runId != null) {
      if (target == null || !target.sessionId().equals(sessionId)) {
        SubscribeAck ack = unknownRunAck(t, false);
        c.sendControl(new Outbound.Subscribed(ack, ref));
        return new SubscribeResult.Acked(ack);
      }
      return new SubscribeResult.Acked(target.subscribe(c, t, mode, false, ref));
    }
    // follow the session: current run resumed, later runs attached at their start
    SessionState known = sessions.get(sessionId);
    // ConcurrentHashMap's key set throws on contains(null): a session not yet known is not followed
    boolean alreadyFollowing = known != null && c.sessions.contains(known);
    if (!alreadyFollowing && c.sessions.size() >= config.maxSessionsPerConnection) {
      return new SubscribeResult.Refused(
          ErrorCode.TOO_MANY_SUBSCRIPTIONS, "a connection may follow at most " + config.maxSessionsPerConnection + " sessions");
    }
    for (; ; ) {
      SessionState s = sessions.computeIfAbsent(sessionId, SessionState::new);
      synchronized (s) {
        if (s.dead) {
          continue;
        }
        if (c.isClosed()) {
          if (s.idleLocked()) {
            retireLocked(s);
          }
          return new SubscribeResult.Refused(ErrorCode.INTERNAL_ERROR, "connection closed");
        }
        if (!Objects.equals(s.owner, authorizedOwner)) {
          // a start claimed the session after the authorizer was asked: ask again (outside the lock)
          if (s.idleLocked()) {
            retireLocked(s);
          }
          return OWNER_CHANGED;
        }
        followLocked(s, c);
        if (c.isClosed()) {
          // Closed since the check above: its close may have walked c.sessions before s was added,
          // and followLocked undid the follow. Nobody else would retire s if that left it idle.
          if (s.idleLocked()) {
            retireLocked(s);
          }
          return new SubscribeResult.Refused(ErrorCode.INTERNAL_ERROR, "connection closed");
        }
        Run cur = s.current;
        if (cur == null) {
          SubscribeAck ack = unknownRunAck(t, true);
          c.enqueueControl(new Outbound.Subscribed(ack, ref)); // flushed by the caller, outside the lock
          return new SubscribeResult.Acked(ack);
        }
        return new SubscribeResult.Acked(cur.subscribe(c, t, mode, true, ref));
      }
    }
  }

  /** Internal retry marker of {@link #doSubscribe}: never returned to callers. */
  private static final SubscribeResult OWNER_CHANGED =
      new SubscribeResult.Refused(ErrorCode.INTERNAL_ERROR, "session owner changed; retry");

  private SubscribeAck unknownRunAck(SubscribeTarget t, boolean following) {
    return new SubscribeAck(
        t.sessionId(), t.runId(), null, ResumeStatus.UNKNOWN_RUN, false, 0, 1, 1, 0,
        t.lastSeq() > 0, following, List.of(), null, t.lastSeq());
  }

  /** Stops following a session and detaches from its runs. */
  public void unsubscribe(String connectionId, String sessionId) {
    ConnectionState c = connections.get(connectionId);
    if (c != null) {
      unsubscribe(c, sessionId);
    }
  }

  private void unsubscribe(ConnectionState c, String sessionId) {
    SessionState s = sessions.get(sessionId);
    if (s != null) {
      unfollow(s, c);
    }
    for (Run r : c.runs) {
      if (r.sessionId().equals(sessionId)) {
        r.detach(c);
      }
    }
  }

  private void followLocked(SessionState s, ConnectionState c) {
    if (s.followers.add(c)) {
      c.sessions.add(s);
      if (c.isClosed()) { // closeLocally already ran over c.sessions: undo
        s.followers.remove(c);
        c.sessions.remove(s);
      }
    }
  }

  void unfollow(SessionState s, ConnectionState c) {
    synchronized (s) {
      s.followers.remove(c);
      c.sessions.remove(s);
      if (s.idleLocked() && !s.dead) {
        retireLocked(s);
      }
    }
  }

  private void retireLocked(SessionState s) {
    s.dead = true;
    sessions.remove(s.sessionId, s);
  }

  // ================================================================ notices

  /**
   * Sends a system-wide notice (e.g. "reload") to every live connection. It cannot carry a run:
   * runs are delivered to their recipients only.
   */
  public void notifyAll(String kind, @Nullable Object data) {
    OutFrame f = encode(new Outbound.Notice(null, kind, data), Lane.CONTROL, null);
    if (f == null) {
      return;
    }
    for (ConnectionState c : connections.values()) {
      c.enqueue(f);
      c.flush();
    }
  }

  /**
   * Sends a session-scoped notice (e.g. "model changed") to the session's followers and the
   * recipients of its current run, and nobody else.
   *
   * @return the number of connections it was sent to
   */
  public int notifySession(String sessionId, String kind, @Nullable Object data) {
    SessionState s = sessions.get(sessionId);
    if (s == null) {
      return 0;
    }
    OutFrame f = encode(new Outbound.Notice(sessionId, kind, data), Lane.CONTROL, null);
    if (f == null) {
      return 0;
    }
    Set<ConnectionState> targets = new LinkedHashSet<>();
    synchronized (s) {
      targets.addAll(s.followers);
      Run cur = s.current;
      if (cur != null) {
        targets.addAll(cur.recipients());
      }
    }
    for (ConnectionState c : targets) {
      c.enqueue(f);
      c.flush();
    }
    return targets.size();
  }

  // ================================================================ approvals

  /**
   * Resolves a pending approval on behalf of {@code principal} (the run's owner, or whom the
   * authorizer allows for {@link Action#RESOLVE_APPROVAL}).
   *
   * @return null on success, else the refusal code ({@link ErrorCode#UNKNOWN_APPROVAL}, {@link
   *     ErrorCode#FORBIDDEN})
   */
  public @Nullable ErrorCode resolveApproval(String approvalId, String principal, @Nullable Object decision) {
    Run r = approvals.get(approvalId);
    if (r == null) {
      return ErrorCode.UNKNOWN_APPROVAL;
    }
    if (!r.owner().equals(principal)) {
      SessionState s = sessions.get(r.sessionId());
      Authorizer.Decision d =
          authorize(principal, Action.RESOLVE_APPROVAL, r.sessionId(), s == null ? r.owner() : s.owner);
      if (d != Authorizer.Decision.ALLOW) {
        return d == Authorizer.Decision.DENY ? ErrorCode.FORBIDDEN : ErrorCode.UNKNOWN_APPROVAL;
      }
    }
    return r.resolveApproval(approvalId, Approval.Resolution.ANSWERED, decision, principal)
        ? null
        : ErrorCode.UNKNOWN_APPROVAL;
  }

  void approvalRaised(String id, Run run) {
    approvals.put(id, run);
  }

  void approvalGone(String id) {
    approvals.remove(id);
  }

  String newApprovalId() {
    byte[] b = new byte[12];
    secureRandom.nextBytes(b);
    return "ap_" + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  // ================================================================ inbound

  void handleInbound(ConnectionState c, Payload payload) {
    if (payload.sizeInBytes() > config.maxInboundBytes) {
      c.sendError(ErrorCode.PAYLOAD_TOO_LARGE, "frame exceeds " + config.maxInboundBytes + " bytes", null, null);
      return;
    }
    Inbound cmd;
    try {
      cmd = codec.decode(payload);
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
    execute(c, cmd);
  }

  private void execute(ConnectionState c, Inbound cmd) {
    String ref = cmd.ref();
    if (cmd instanceof Inbound.Ping) {
      c.sendControl(new Outbound.Heartbeat(time.epochMillis()));
    } else if (cmd instanceof Inbound.StartRun) {
      Inbound.StartRun s = (Inbound.StartRun) cmd;
      StartResult r =
          startAndRun(new StartRequest(s.sessionId(), c.principal, c.id, s.input(), null, true));
      if (r instanceof StartResult.Refused) {
        StartResult.Refused no = (StartResult.Refused) r;
        c.sendError(no.code(), no.message(), s.sessionId(), ref);
      }
    } else if (cmd instanceof Inbound.AbortRun) {
      Inbound.AbortRun a = (Inbound.AbortRun) cmd;
      AbortResult r;
      if (a.runId() != null) {
        Run run = runs.get(a.runId());
        r = run == null || !run.sessionId().equals(a.sessionId())
            ? AbortResult.refused(ErrorCode.NO_ACTIVE_RUN, a.runId())
            : abort(a.runId(), c.principal);
      } else {
        r = abortSession(a.sessionId(), c.principal);
      }
      if (!r.aborted()) {
        ErrorCode code = Objects.requireNonNull(r.refusal());
        c.sendError(code, code == ErrorCode.FORBIDDEN ? "may not abort this run"
            : "session " + a.sessionId() + " has no active run", a.sessionId(), ref);
      }
    } else if (cmd instanceof Inbound.Subscribe) {
      Inbound.Subscribe s = (Inbound.Subscribe) cmd;
      if (s.targets().isEmpty()) {
        c.sendError(ErrorCode.INVALID_PAYLOAD, "subscribe needs at least one target", null, ref);
      }
      for (SubscribeTarget t : s.targets()) {
        subscribe(c, t, s.mode(), ref);
      }
    } else if (cmd instanceof Inbound.Unsubscribe) {
      unsubscribe(c, ((Inbound.Unsubscribe) cmd).sessionId());
    } else if (cmd instanceof Inbound.ResolveApproval) {
      Inbound.ResolveApproval a = (Inbound.ResolveApproval) cmd;
      ErrorCode no = resolveApproval(a.approvalId(), c.principal, a.decision());
      if (no != null) {
        c.sendError(no, no == ErrorCode.FORBIDDEN ? "may not resolve this approval"
            : "approval " + a.approvalId() + " is unknown or already resolved", null, ref);
      }
    } else {
      c.sendError(ErrorCode.UNKNOWN_MESSAGE_TYPE, "unknown command", null, ref);
    }
  }

  // ================================================================ plumbing

  @Nullable OutFrame encode(Outbound message, Lane lane, @Nullable String coalesceKey) {
    try {
      return new OutFrame(new Frame(lane, codec.encode(message)), coalesceKey);
    } catch (RuntimeException e) {
      LOG.error("codec failed to encode {}", message.getClass().getSimpleName(), e);
      return null;
    }
  }

  /**
   * Schedules on the host's {@link TimeSource}, which is host code: if it throws, the task is
   * dropped and logged, and the caller (a publisher, a close) carries on.
   */
  TimeSource.Cancellable schedule(long delayNanos, Runnable task) {
    try {
      return time.schedule(delayNanos, task);
    } catch (RuntimeException e) {
      LOG.error("the TimeSource refused a task; it will not run", e);
      return () -> {};
    }
  }

  private Authorizer.Decision authorize(String principal, Action action, String sessionId, @Nullable String owner) {
    try {
      Authorizer.Decision d = authorizer.authorize(principal, action, sessionId, owner);
      return d == null ? Authorizer.Decision.DENY : d;
    } catch (RuntimeException e) {
      LOG.warn("authorizer threw for {} {} on session {}; denied", principal, action, sessionId, e);
      return Authorizer.Decision.DENY;
    }
  }

  void runEnded(Run run, RunOutcome outcome) {
    LOG.debug("run {} of session {} ended: {}", run.runId(), run.sessionId(), outcome.state());
    if (!closed) {
      schedule(config.retentionNanos, () -> evict(run));
    } else {
      evict(run);
    }
    try {
      metrics.runEnded(outcome);
    } catch (RuntimeException e) {
      LOG.warn("metrics listener threw", e);
    }
    for (RunListener l : runListeners) {
      try {
        l.onRunEnded(outcome);
      } catch (RuntimeException e) {
        LOG.warn("run listener threw for run {}", run.runId(), e);
      }
    }
  }

  /** Evicts exactly this run instance: a newer run of the same session is never touched. */
  private void evict(Run run) {
    runs.remove(run.runId(), run);
    SessionState s = sessions.get(run.sessionId());
    if (s != null) {
      synchronized (s) {
        if (s.current == run) {
          s.current = null;
          if (s.idleLocked() && !s.dead) {
            retireLocked(s);
          }
        }
      }
    }
    run.evict();
  }

  void metricsClosed(String connectionId, CloseReason reason) {
    try {
      metrics.connectionClosed(connectionId, reason);
    } catch (RuntimeException e) {
      LOG.warn("metrics listener threw", e);
    }
  }

  void metricsProtocolError(String connectionId, ErrorCode code) {
    try {
      metrics.protocolError(connectionId, code);
    } catch (RuntimeException e) {
      LOG.warn("metrics listener threw", e);
    }
  }

  // ================================================================ housekeeping

  private void scheduleHousekeeping() {
    if (!closed) {
      // a heartbeat interval shorter than the tick shortens the tick (see RunlaneMetrics)
      long tick =
          config.heartbeatNanos > 0
              ? Math.min(config.housekeepingNanos, config.heartbeatNanos)
              : config.housekeepingNanos;
      housekeeping = schedule(tick, this::housekeep);
    }
  }

  /** One tick: stalled sends, idle connections, heartbeats, metrics samples. */
  private void housekeep() {
    try {
      long now = time.nanoTime();
      OutFrame hbControl = null;
      OutFrame hbStream = null;
      for (ConnectionState c : connections.values()) {
        if (c.isClosed()) {
          continue;
        }
        if (c.lastInboundAtNanos == 0 || c.inboundSinceTick) {
          c.inboundSinceTick = false;
          c.lastInboundAtNanos = now;
        } else if (config.idleTimeoutNanos > 0 && now - c.lastInboundAtNanos >= config.idleTimeoutNanos) {
          c.deliveryFailed(CloseReason.IDLE_TIMEOUT, null);
          continue;
        }
        if (stalled(c.outbox.primary, now) || stalledStream(c, now)) {
          c.deliveryFailed(CloseReason.SLOW_CONSUMER, null);
          continue;
        }
        if (config.heartbeatNanos > 0) {
          // Liveness is server-driven (issue 12 item 6): a connection quiet inbound for an interval
          // is asked to show life, by a transport ping if it has them, else by a heartbeat.
          boolean probe = probeDue(c, now);
          if (probe) {
            c.lastProbeAtNanos = now;
            if (c.transportPing) {
              try {
                c.pinged = true;
                c.connection.ping(); // rule T8.2: the pong comes back through onActivity()
              } catch (RuntimeException e) {
                LOG.debug("transport ping of {} threw", c.id, e);
              }
            }
          }
          // recent pings are outbound traffic too: they keep proxies' idle timers at bay
          boolean pinged = c.pinged && now - c.lastProbeAtNanos < 2 * config.heartbeatNanos;
          if ((probe && !c.transportPing) || (!pinged && heartbeatDue(c.outbox.primary, now))) {
            if (hbControl == null) {
              hbControl = encode(new Outbound.Heartbeat(time.epochMillis()), Lane.CONTROL, null);
            }
            if (hbControl != null) {
              c.enqueue(hbControl);
            }
          }
          Outbox.Pipe sp = c.outbox.streamPipe();
          if (sp != null && heartbeatDue(sp, now)) {
            if (hbStream == null) {
              hbStream = encode(new Outbound.Heartbeat(time.epochMillis()), Lane.STREAM, null);
            }
            if (hbStream != null) {
              c.enqueue(hbStream);
            }
          }
          c.flush();
        }
        if (metrics != NO_METRICS) {
          try {
            metrics.connectionSample(c.stats(now));
          } catch (RuntimeException e) {
            LOG.warn("metrics listener threw", e);
          }
        }
      }
    } catch (RuntimeException e) {
      LOG.error("housekeeping tick failed", e);
    } finally {
      scheduleHousekeeping();
    }
  }

  private boolean stalledStream(ConnectionState c, long now) {
    Outbox.Pipe sp = c.outbox.streamPipe();
    return sp != null && stalled(sp, now);
  }

  private boolean stalled(Outbox.Pipe p, long now) {
    long completed;
    int inFlight;
    synchronized (p.outbox()) {
      completed = p.completed();
      inFlight = (int) (p.sent - completed);
    }
    if (inFlight == 0 || completed != p.lastSeenCompleted) {
      p.lastSeenCompleted = completed;
      p.stallSinceNanos = inFlight == 0 ? 0 : now;
      return false;
    }
    if (p.stallSinceNanos == 0) {
      p.stallSinceNanos = now;
      return false;
    }
    return config.sendStallNanos > 0 && now - p.stallSinceNanos >= config.sendStallNanos;
  }

  /**
   * Whether {@code c} must be asked to show life: nothing inbound (no frame, no pong) for a
   * heartbeat interval, and not asked within the last interval.
   */
  private boolean probeDue(ConnectionState c, long now) {
    return now - c.lastInboundAtNanos >= config.heartbeatNanos
        && now - c.lastProbeAtNanos >= config.heartbeatNanos;
  }

  private boolean heartbeatDue(Outbox.Pipe p, long now) {
    if (p.sentSinceTick || p.lastSendAtNanos == 0) {
      p.sentSinceTick = false;
      p.lastSendAtNanos = now;
      return false;
    }
    if (now - p.lastSendAtNanos >= config.heartbeatNanos) {
      p.lastSendAtNanos = now;
      return true;
    }
    return false;
  }

  /**
   * Shuts down deterministically: stops the timers, cancels running runs (the runtime's cancel hook
   * is called) and fails them with {@link FailureReason#SHUTDOWN} (their listeners are called), closes every connection with {@link
   * CloseReason#GOING_AWAY}, and stops the threads Runlane created. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    TimeSource.Cancellable hk = housekeeping;
    if (hk != null) {
      hk.cancel();
    }
    for (Run r : new ArrayList<>(runs.values())) {
      // through the cancel path, so the runtime is told to stop (its hook is called once)
      r.cancel(RunState.FAILED, FailureReason.SHUTDOWN, 1, "server shutting down", null);
    }
    for (ConnectionState c : new ArrayList<>(connections.values())) {
      c.closeLocally(CloseReason.GOING_AWAY, true);
    }
    if (ownedExecutor != null) {
      ownedExecutor.shutdownNow();
    }
    if (ownedTime != null) {
      ownedTime.close();
    }
  }

  static final RunlaneMetrics NO_METRICS = new RunlaneMetrics() {};

  // ================================================================ builder

  /**
   * Configures a {@link Runlane}. Every setting has a default (listed on each method and in {@code
   * docs/reference/configuration.md}); only the codec is required.
   *
   * <p><b>Thread safety:</b> not thread-safe; {@link #build()} copies the configuration, so the
   * built instance is immutable in its settings.
   */
  public static final class Builder {
    private final RunlaneConfig config = new RunlaneConfig();
    private @Nullable WireCodec codec;
    private Authorizer authorizer = Authorizer.ownerOnly();
    private @Nullable RunRuntime runtime;
    private @Nullable Executor runtimeExecutor;
    private @Nullable TimeSource time;
    private final List<RunListener> runListeners = new ArrayList<>();
    private RunlaneMetrics metrics = NO_METRICS;
    private long ticketTtlNanos = TimeUnit.SECONDS.toNanos(60);
    private int maxTickets = 100_000;

    private Builder() {}

    /** The wire format (required). */
    public Builder codec(WireCodec codec) {
      this.codec = Objects.requireNonNull(codec, "codec");
      return this;
    }

    /** The authorization hook; default {@link Authorizer#ownerOnly()}. */
    public Builder authorizer(Authorizer authorizer) {
      this.authorizer = Objects.requireNonNull(authorizer, "authorizer");
      return this;
    }

    /** The runtime that executes runs started by clients; default none (start commands are refused). */
    public Builder runtime(RunRuntime runtime) {
      this.runtime = Objects.requireNonNull(runtime, "runtime");
      return this;
    }

    /** Where runtimes run; default a cached pool of daemon threads, shut down by {@link Runlane#close()}. */
    public Builder runtimeExecutor(Executor executor) {
      this.runtimeExecutor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /** Clock and timers; default {@link TimeSource#system()}, shut down by {@link Runlane#close()}. */
    public Builder timeSource(TimeSource time) {
      this.time = Objects.requireNonNull(time, "time");
      return this;
    }

    /** Adds a listener called exactly once per run with its outcome. */
    public Builder runListener(RunListener listener) {
      runListeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

    /** The metrics bridge; default none. */
    public Builder metrics(RunlaneMetrics metrics) {
      this.metrics = Objects.requireNonNull(metrics, "metrics");
      return this;
    }

    /** Events kept per run for resume; default 1,024. */
    public Builder replayCapacity(int events) {
      config.replayCapacity = positive(events, "replayCapacity");
      return this;
    }

    /** Payload bytes kept per run for resume (the newest event is always kept); default 0, no byte limit. */
    public Builder replayByteBudget(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("replayByteBudget < 0");
      }
      config.replayByteBudget = bytes;
      return this;
    }

    /** How long an ended run stays resumable; default 5 minutes. */
    public Builder retention(Duration retention) {
      config.retentionNanos = nonNegative(retention, "retention");
      return this;
    }

    /** Whether subscribing to an ended run replays its tail; default true. */
    public Builder replayFinishedRuns(boolean replay) {
      config.replayFinishedRuns = replay;
      return this;
    }

    /** Frames a connection's outbox may hold before the connection is closed as slow; default 8,192. */
    public Builder maxQueuedFrames(int frames) {
      config.maxQueuedFrames = positive(frames, "maxQueuedFrames");
      return this;
    }

    /** Bytes a connection's outbox may hold before the connection is closed as slow; default 16 MiB. */
    public Builder maxQueuedBytes(long bytes) {
      if (bytes < 1) {
        throw new IllegalArgumentException("maxQueuedBytes < 1");
      }
      config.maxQueuedBytes = bytes;
      return this;
    }

    /** Sends outstanding per transport; default 64. */
    public Builder maxInFlight(int sends) {
      config.maxInFlight = positive(sends, "maxInFlight");
      return this;
    }

    /** How long sends may make no progress before the connection is closed as slow; default 30 s, 0 off. */
    public Builder sendStallTimeout(Duration timeout) {
      config.sendStallNanos = nonNegative(timeout, "sendStallTimeout");
      return this;
    }

    /** How long a closing connection gets before it is terminated; default 5 s. */
    public Builder closeGrace(Duration grace) {
      config.closeGraceNanos = nonNegative(grace, "closeGrace");
      return this;
    }

    /**
     * Heartbeat interval on each idle transport, and how long a connection may show no life before
     * it is probed (a transport ping, or a heartbeat the client answers); default 30 s, 0 off.
     */
    public Builder heartbeatInterval(Duration interval) {
      config.heartbeatNanos = nonNegative(interval, "heartbeatInterval");
      return this;
    }

    /** Close connections with no inbound traffic for this long; default 90 s, 0 off. */
    public Builder idleTimeout(Duration timeout) {
      config.idleTimeoutNanos = nonNegative(timeout, "idleTimeout");
      return this;
    }

    /**
     * Housekeeping tick (stall, idle, heartbeat checks, metrics samples); default 1 s, shortened to
     * the heartbeat interval if that is shorter.
     */
    public Builder housekeepingInterval(Duration interval) {
      long n = nonNegative(interval, "housekeepingInterval");
      if (n == 0) {
        throw new IllegalArgumentException("housekeepingInterval must be > 0");
      }
      config.housekeepingNanos = n;
      return this;
    }

    /** Default run timeout (clamped to 1 s – 24 h, plus the grace); default none. */
    public Builder runTimeout(Duration timeout) {
      config.defaultRunTimeoutNanos = nonNegative(timeout, "runTimeout");
      return this;
    }

    /** Grace added to every run timeout; default 30 s. */
    public Builder runTimeoutGrace(Duration grace) {
      config.runTimeoutGraceNanos = nonNegative(grace, "runTimeoutGrace");
      return this;
    }

    /** Largest inbound frame accepted; default 64 KiB. */
    public Builder maxInboundBytes(int bytes) {
      config.maxInboundBytes = positive(bytes, "maxInboundBytes");
      return this;
    }

    /** Sessions one connection may follow; default 64. */
    public Builder maxSessionsPerConnection(int sessions) {
      config.maxSessionsPerConnection = positive(sessions, "maxSessionsPerConnection");
      return this;
    }

    /** Stream ticket lifetime; default 60 s. */
    public Builder ticketTtl(Duration ttl) {
      ticketTtlNanos = nonNegative(ttl, "ticketTtl");
      return this;
    }

    /** Tickets held at once; default 100,000. */
    public Builder maxTickets(int tickets) {
      maxTickets = positive(tickets, "maxTickets");
      return this;
    }

    /** Builds the instance; it starts its housekeeping timer. */
    public Runlane build() {
      if (codec == null) {
        throw new IllegalStateException("a WireCodec is required: Runlane.builder().codec(...)");
      }
      return new Runlane(this);
    }

    private static int positive(int v, String name) {
      if (v < 1) {
        throw new IllegalArgumentException(name + " must be >= 1: " + v);
      }
      return v;
    }

    private static long nonNegative(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isNegative()) {
        throw new IllegalArgumentException(name + " must not be negative: " + d);
      }
      return d.toNanos();
    }
  }
}
