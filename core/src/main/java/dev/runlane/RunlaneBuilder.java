package dev.runlane;

import dev.runlane.codec.WireCodec;
import dev.runlane.engine.Engine;
import dev.runlane.engine.InMemoryEngine;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Configures a {@link Runlane}: {@code Runlane.builder()}. Every setting has a default (listed on
 * each method and in {@code docs/reference/configuration.md}); only the codec is required.
 *
 * <p><b>Thread safety:</b> not thread-safe; {@link #build()} copies the configuration, so the
 * built instance is immutable in its settings.
 */
public final class RunlaneBuilder {
  final RunlaneConfig config = new RunlaneConfig();
  @Nullable WireCodec codec;
  Authorizer authorizer = Authorizer.ownerOnly();
  @Nullable RunRuntime runtime;
  @Nullable Executor runtimeExecutor;
  @Nullable TimeSource time;
  final List<RunListener> runListeners = new ArrayList<>();
  RunlaneMetrics metrics = HostHooks.NO_METRICS;
  long ticketTtlNanos = TimeUnit.SECONDS.toNanos(60);
  int maxTickets = 100_000;
  @Nullable Engine engine;

  RunlaneBuilder() {}

  /** The wire format (required). */
  public RunlaneBuilder codec(WireCodec codec) {
    this.codec = Objects.requireNonNull(codec, "codec");
    return this;
  }

  /** The authorization hook; default {@link Authorizer#ownerOnly()}. */
  public RunlaneBuilder authorizer(Authorizer authorizer) {
    this.authorizer = Objects.requireNonNull(authorizer, "authorizer");
    return this;
  }

  /** The runtime that executes runs started by clients; default none (start commands are refused). */
  public RunlaneBuilder runtime(RunRuntime runtime) {
    this.runtime = Objects.requireNonNull(runtime, "runtime");
    return this;
  }

  /** Where runtimes run; default a cached pool of daemon threads, shut down by {@link Runlane#close()}. */
  public RunlaneBuilder runtimeExecutor(Executor executor) {
    this.runtimeExecutor = Objects.requireNonNull(executor, "executor");
    return this;
  }

  /** Clock and timers; default {@link TimeSource#system()}, shut down by {@link Runlane#close()}. */
  public RunlaneBuilder timeSource(TimeSource time) {
    this.time = Objects.requireNonNull(time, "time");
    return this;
  }

  /** Adds a listener called exactly once per run with its outcome. */
  public RunlaneBuilder runListener(RunListener listener) {
    runListeners.add(Objects.requireNonNull(listener, "listener"));
    return this;
  }

  /** The metrics bridge; default none. */
  public RunlaneBuilder metrics(RunlaneMetrics metrics) {
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    return this;
  }

  /** Events kept per run for resume; default 1,024. */
  public RunlaneBuilder replayCapacity(int events) {
    config.replayCapacity = positive(events, "replayCapacity");
    return this;
  }

  /**
   * Payload bytes kept per run for resume; the oldest events are evicted first (a resume below
   * them is answered TRUNCATED) and the newest is always kept; default 4 MiB, 0 for no byte limit.
   */
  public RunlaneBuilder replayByteBudget(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("replayByteBudget < 0");
    }
    config.replayByteBudget = bytes;
    return this;
  }

  /**
   * The process-wide retention budget: payload bytes all runs' logs may hold together. Over it,
   * ended runs are evicted early, oldest end first (a late resume gets {@code UNKNOWN_RUN}, as
   * after retention), then the oldest events of running runs are trimmed, oldest run first (a
   * resume below them gets {@code TRUNCATED}); the newest event of a run is always kept. Default
   * a quarter of the heap, at most 256 MiB; 0 turns it off.
   */
  public RunlaneBuilder maxRetainedBytes(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("maxRetainedBytes < 0");
    }
    config.maxRetainedBytes = bytes;
    return this;
  }

  /**
   * The largest encoded event a run may publish; a larger one is refused with {@link
   * ErrorCode#EVENT_TOO_LARGE} and takes no seq, so one oversized event cannot evict a run's
   * history; default 1 MiB.
   */
  public RunlaneBuilder maxEventBytes(int bytes) {
    config.maxEventBytes = positive(bytes, "maxEventBytes");
    return this;
  }

  /** How long an ended run stays resumable; default 5 minutes. */
  public RunlaneBuilder retention(Duration retention) {
    config.retentionNanos = nonNegative(retention, "retention");
    return this;
  }

  /** Whether subscribing to an ended run replays its tail; default true. */
  public RunlaneBuilder replayFinishedRuns(boolean replay) {
    config.replayFinishedRuns = replay;
    return this;
  }

  /**
   * Frames a connection may hold — queued in its outbox plus handed to its transport and not yet
   * completed — before it is closed as slow; default 8,192. A subscribe's replay counts against
   * its own bound (the replay capacity), not this one.
   */
  public RunlaneBuilder maxQueuedFrames(int frames) {
    config.maxQueuedFrames = positive(frames, "maxQueuedFrames");
    return this;
  }

  /** Bytes a connection's outbox may hold before the connection is closed as slow; default 16 MiB. */
  public RunlaneBuilder maxQueuedBytes(long bytes) {
    if (bytes < 1) {
      throw new IllegalArgumentException("maxQueuedBytes < 1");
    }
    config.maxQueuedBytes = bytes;
    return this;
  }

  /**
   * Sends handed to a transport and not yet completed, per transport; default 16. A control frame
   * waits behind at most this many stream frames already in the transport (plus the socket's own
   * buffers): see docs/benchmarks.md, "maxInFlight", for the measurement behind the default.
   */
  public RunlaneBuilder maxInFlight(int sends) {
    config.maxInFlight = positive(sends, "maxInFlight");
    return this;
  }

  /**
   * Threads that write a run's frames to recipients whose transport batches writes ({@link
   * dev.runlane.transport.Capability#BATCHING}); default a quarter of the cores, at least 1; 0 for
   * none. Without them the thread that publishes writes, one socket write per frame and recipient.
   * With them a publish queues the frames and hands the connections to their write thread, and the
   * frames a connection gets while that thread is busy elsewhere leave together in one write:
   * under load the server spends several times less per delivered event. On a quiet node a frame
   * for a run's lone recipient is still written by the publisher (no hand-off, no wake-up) while
   * the write thread is idle, up to about 32,000 such frames per second per thread. Replies to a
   * client's command are written by the thread that handles it, and an outbox {@value
   * WriteLoops#INLINE_BACKLOG} frames behind (or half of {@link #maxQueuedFrames}, if lower) is
   * drained by the publishing thread, which keeps publishers from outrunning the sockets. Order,
   * bounds and callbacks are the same either way; connections of a transport that does not batch
   * (the testkit's, unless asked) are written as without write threads. See
   * docs/concepts/threading.md, "Write threads", and docs/benchmarks.md.
   */
  public RunlaneBuilder writeThreads(int threads) {
    if (threads < 0) {
      throw new IllegalArgumentException("writeThreads < 0");
    }
    config.writeThreads = threads;
    return this;
  }

  /** How long sends may make no progress before the connection is closed as slow; default 30 s, 0 off. */
  public RunlaneBuilder sendStallTimeout(Duration timeout) {
    config.sendStallNanos = nonNegative(timeout, "sendStallTimeout");
    return this;
  }

  /** How long a closing connection gets before it is terminated; default 5 s. */
  public RunlaneBuilder closeGrace(Duration grace) {
    config.closeGraceNanos = nonNegative(grace, "closeGrace");
    return this;
  }

  /**
   * Heartbeat interval on each idle transport, and how long a connection may show no life before
   * it is probed (a transport ping, or a heartbeat the client answers); default 30 s, 0 off.
   */
  public RunlaneBuilder heartbeatInterval(Duration interval) {
    config.heartbeatNanos = nonNegative(interval, "heartbeatInterval");
    return this;
  }

  /** Close connections with no inbound traffic for this long; default 90 s, 0 off. */
  public RunlaneBuilder idleTimeout(Duration timeout) {
    config.idleTimeoutNanos = nonNegative(timeout, "idleTimeout");
    return this;
  }

  /**
   * Housekeeping tick (stall, idle, heartbeat checks, metrics samples); default 1 s, shortened to
   * the heartbeat interval if that is shorter.
   */
  public RunlaneBuilder housekeepingInterval(Duration interval) {
    long n = nonNegative(interval, "housekeepingInterval");
    if (n == 0) {
      throw new IllegalArgumentException("housekeepingInterval must be > 0");
    }
    config.housekeepingNanos = n;
    return this;
  }

  /** Default run timeout (clamped to 1 s – 24 h, plus the grace); default none. */
  public RunlaneBuilder runTimeout(Duration timeout) {
    config.defaultRunTimeoutNanos = nonNegative(timeout, "runTimeout");
    return this;
  }

  /** Grace added to every run timeout; default 30 s. */
  public RunlaneBuilder runTimeoutGrace(Duration grace) {
    config.runTimeoutGraceNanos = nonNegative(grace, "runTimeoutGrace");
    return this;
  }

  /** Largest inbound frame accepted; default 64 KiB. */
  public RunlaneBuilder maxInboundBytes(int bytes) {
    config.maxInboundBytes = positive(bytes, "maxInboundBytes");
    return this;
  }

  /** Sessions one connection may follow; default 64. */
  public RunlaneBuilder maxSessionsPerConnection(int sessions) {
    config.maxSessionsPerConnection = positive(sessions, "maxSessionsPerConnection");
    return this;
  }

  /** Stream ticket lifetime; default 60 s. */
  public RunlaneBuilder ticketTtl(Duration ttl) {
    ticketTtlNanos = nonNegative(ttl, "ticketTtl");
    return this;
  }

  /** Tickets held at once; default 100,000. */
  public RunlaneBuilder maxTickets(int tickets) {
    maxTickets = positive(tickets, "maxTickets");
    return this;
  }

  /**
   * Where runs live; default a new {@link InMemoryEngine} (one JVM). A cluster engine lets clients
   * reconnect to any node; Runlane closes the engine on {@link Runlane#close()}.
   */
  public RunlaneBuilder engine(Engine engine) {
    this.engine = Objects.requireNonNull(engine, "engine");
    return this;
  }

  /**
   * Each connection's command budget: a burst of {@code burst} commands, refilled at {@code
   * perSecond}; default 100 and 50/s. Over it a command is answered {@code RATE_LIMITED}; a
   * connection that sends {@code burst} more while out of budget is closed with code 4029. Pings
   * are never charged. {@code perSecond} 0 turns the budget off.
   */
  public RunlaneBuilder commandRate(int burst, double perSecond) {
    if (perSecond < 0 || Double.isNaN(perSecond)) {
      throw new IllegalArgumentException("perSecond must be >= 0: " + perSecond);
    }
    config.commandBurst = positive(burst, "burst");
    config.commandsPerSecond = perSecond;
    return this;
  }

  /**
   * How long an abort or an approval answer waits for the run's node to answer (immediate in one
   * JVM); default 5 s.
   */
  public RunlaneBuilder commandTimeout(Duration timeout) {
    long n = nonNegative(timeout, "commandTimeout");
    if (n == 0) {
      throw new IllegalArgumentException("commandTimeout must be > 0");
    }
    config.commandTimeoutNanos = n;
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
