package dev.runlane.micrometer;

import dev.runlane.ConnectionStats;
import dev.runlane.ErrorCode;
import dev.runlane.ResumeStatus;
import dev.runlane.FailureReason;
import dev.runlane.RunOutcome;
import dev.runlane.RunState;
import dev.runlane.Runlane;
import dev.runlane.RunlaneMetrics;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Lane;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link RunlaneMetrics} bound to a Micrometer {@link MeterRegistry}.
 *
 * <pre>{@code
 * MicrometerRunlaneMetrics metrics = new MicrometerRunlaneMetrics(registry);
 * Runlane runlane = Runlane.builder().codec(codec).metrics(metrics).build();
 * metrics.bindTo(runlane);   // the gauges: runlane.connections, runlane.runs, runlane.sessions
 * }</pre>
 *
 * <p>Meters (dots as Micrometer's naming convention wants; each registry renders them its own way,
 * e.g. {@code runlane_connections_closed_total} in Prometheus):
 *
 * <table>
 *   <caption>Meters</caption>
 *   <tr><th>name</th><th>type</th><th>tags</th><th>what</th></tr>
 *   <tr><td>{@code runlane.connections}</td><td>gauge</td><td></td><td>live connections (after {@link #bindTo})</td></tr>
 *   <tr><td>{@code runlane.runs}</td><td>gauge</td><td></td><td>runs held: running, or ended and retained for resume</td></tr>
 *   <tr><td>{@code runlane.sessions}</td><td>gauge</td><td></td><td>sessions held</td></tr>
 *   <tr><td>{@code runlane.retained.bytes}, {@code runlane.retained.events}</td><td>gauge</td><td></td><td>what every run's log holds (the retention budget's measure; after {@link #bindTo})</td></tr>
 *   <tr><td>{@code runlane.retention.evictions}</td><td>counter</td><td>{@code cause}</td><td>{@code budget_ended_run}: ended runs evicted early; {@code budget_trimmed_run}: running runs trimmed (after {@link #bindTo})</td></tr>
 *   <tr><td>{@code runlane.connections.closed}</td><td>counter</td><td>{@code reason}</td><td>connections that left, by close reason: {@code slow_consumer}, {@code idle_timeout}, {@code going_away}, …</td></tr>
 *   <tr><td>{@code runlane.runs.ended}</td><td>counter</td><td>{@code state}, {@code failure}</td><td>runs by end state ({@code completed}, {@code aborted}, {@code failed}) and failure reason ({@code none} unless failed)</td></tr>
 *   <tr><td>{@code runlane.run.events}</td><td>summary</td><td></td><td>sequenced events of each ended run, terminal event included; its total is the events published by ended runs</td></tr>
 *   <tr><td>{@code runlane.deliveries}</td><td>counter</td><td></td><td>frames whose send succeeded, as of each connection's last sample</td></tr>
 *   <tr><td>{@code runlane.outbox.queued}</td><td>summary</td><td></td><td>frames waiting in one connection's outbox, one record per connection and sample</td></tr>
 *   <tr><td>{@code runlane.outbox.queued.bytes}</td><td>summary</td><td></td><td>their bytes</td></tr>
 *   <tr><td>{@code runlane.outbox.in.flight}</td><td>summary</td><td></td><td>sends handed to the transport and not yet completed</td></tr>
 *   <tr><td>{@code runlane.outbox.lag}</td><td>timer</td><td></td><td>how long a connection's sends have been outstanding with none completing</td></tr>
 *   <tr><td>{@code runlane.protocol.errors}</td><td>counter</td><td>{@code code}</td><td>protocol errors sent, by {@link ErrorCode}</td></tr>
 *   <tr><td>{@code runlane.delivery.latency}</td><td>timer</td><td>{@code lane}</td><td>end-to-end: from a run's publish to the transport's successful send, per recipient of every live run frame ({@code stream}: events; {@code control}: approvals); replayed frames are not timed. Off with {@link #MicrometerRunlaneMetrics(MeterRegistry, Iterable, boolean)}</td></tr>
 *   <tr><td>{@code runlane.resumes}</td><td>counter</td><td>{@code status}</td><td>subscribes acknowledged, by resume status ({@code exact}, {@code truncated}, {@code epoch_changed}, …): recoveries, and truncations to alert on</td></tr>
 * </table>
 *
 * <p>The timers publish no percentile histogram unless configured to, as Micrometer's convention
 * is: a {@code MeterFilter} on the registry, or in Spring Boot {@code
 * management.metrics.distribution.percentiles-histogram.runlane.delivery.latency=true} (and {@code
 * ...slo.runlane.delivery.latency=50ms,250ms} for service-level buckets).
 *
 * <p>Every tag has a fixed, small set of values: close codes that Runlane does not name are tagged
 * {@code other}. Deliveries are the growth of {@link ConnectionStats#delivered()} between two
 * samples of a connection, so the frames a connection delivered after its last sample (at most one
 * housekeeping tick's worth) are not counted.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; Runlane calls it from any of its threads. Every
 * callback is lock-free apart from Micrometer's own meter registration.
 */
public final class MicrometerRunlaneMetrics implements RunlaneMetrics {

  /** A connection not sampled for this long has left; its delivered-count baseline is dropped. */
  private static final long STALE_NANOS = TimeUnit.MINUTES.toNanos(5);

  private static final Map<Integer, String> CLOSE_REASONS =
      Map.ofEntries(
          Map.entry(CloseReason.NORMAL.code(), "normal"),
          Map.entry(CloseReason.GOING_AWAY.code(), "going_away"),
          Map.entry(1002, "protocol_error"),
          Map.entry(1003, "unsupported_data"),
          Map.entry(1005, "no_status"),
          Map.entry(1006, "abnormal"),
          Map.entry(1007, "invalid_data"),
          Map.entry(1008, "policy_violation"),
          Map.entry(1009, "message_too_big"),
          Map.entry(CloseReason.INTERNAL_ERROR.code(), "internal_error"),
          Map.entry(CloseReason.SLOW_CONSUMER.code(), "slow_consumer"),
          Map.entry(CloseReason.IDLE_TIMEOUT.code(), "idle_timeout"),
          Map.entry(CloseReason.STREAM_TRANSPORT_LOST.code(), "stream_transport_lost"),
          Map.entry(CloseReason.STALE_STREAM_TRANSPORT.code(), "stale_stream_transport"),
          Map.entry(CloseReason.SEND_FAILED.code(), "send_failed"),
          Map.entry(CloseReason.UNAUTHORIZED.code(), "unauthorized"));

  private final MeterRegistry registry;
  private final java.util.Map<ResumeStatus, Counter> resumes = new java.util.concurrent.ConcurrentHashMap<>();
  private final Tags tags;
  private final Map<String, Counter> closes = new ConcurrentHashMap<>();
  private final Map<String, Counter> runsEnded = new ConcurrentHashMap<>();
  private final Map<ErrorCode, Counter> protocolErrors = new ConcurrentHashMap<>();
  private final Map<String, Baseline> delivered = new ConcurrentHashMap<>();
  private final AtomicLong samples = new AtomicLong();
  private final DistributionSummary runEvents;
  private final Counter deliveries;
  private final DistributionSummary queued;
  private final DistributionSummary queuedBytes;
  private final DistributionSummary inFlight;
  private final Timer lag;
  private final boolean timesDeliveries;
  private final Timer streamLatency;
  private final Timer controlLatency;

  /** A bridge registering its meters in {@code registry}. */
  public MicrometerRunlaneMetrics(MeterRegistry registry) {
    this(registry, Tags.empty());
  }

  /** A bridge registering its meters in {@code registry}, each with {@code commonTags} added. */
  public MicrometerRunlaneMetrics(MeterRegistry registry, Iterable<Tag> commonTags) {
    this(registry, commonTags, true);
  }

  /**
   * A bridge registering its meters in {@code registry}, each with {@code commonTags} added; with
   * {@code deliveryLatency} false, Runlane times no delivery (no clock read per publish and per
   * send) and {@code runlane.delivery.latency} stays empty.
   */
  public MicrometerRunlaneMetrics(MeterRegistry registry, Iterable<Tag> commonTags, boolean deliveryLatency) {
    this.registry = Objects.requireNonNull(registry, "registry");
    this.tags = Tags.of(Objects.requireNonNull(commonTags, "commonTags"));
    this.timesDeliveries = deliveryLatency;
    streamLatency = latencyTimer("stream");
    controlLatency = latencyTimer("control");
    runEvents =
        DistributionSummary.builder("runlane.run.events")
            .description("Sequenced events of each ended run, terminal event included")
            .baseUnit("events")
            .tags(tags)
            .register(registry);
    deliveries =
        Counter.builder("runlane.deliveries")
            .description("Frames whose send to a connection succeeded")
            .baseUnit("frames")
            .tags(tags)
            .register(registry);
    queued =
        DistributionSummary.builder("runlane.outbox.queued")
            .description("Frames waiting in a connection's outbox, sampled per connection")
            .baseUnit("frames")
            .tags(tags)
            .register(registry);
    queuedBytes =
        DistributionSummary.builder("runlane.outbox.queued.bytes")
            .description("Bytes waiting in a connection's outbox, sampled per connection")
            .baseUnit("bytes")
            .tags(tags)
            .register(registry);
    inFlight =
        DistributionSummary.builder("runlane.outbox.in.flight")
            .description("Sends handed to the transport and not yet completed, sampled per connection")
            .baseUnit("frames")
            .tags(tags)
            .register(registry);
    lag =
        Timer.builder("runlane.outbox.lag")
            .description("How long a connection's sends have been outstanding with none completing")
            .tags(tags)
            .register(registry);
  }

  private Timer latencyTimer(String lane) {
    return Timer.builder("runlane.delivery.latency")
        .description("From a run's publish to the transport's successful send, per live recipient")
        .tags(tags)
        .tag("lane", lane)
        .register(registry);
  }

  /**
   * Registers the gauges {@code runlane.connections}, {@code runlane.runs} and {@code
   * runlane.sessions}, read from {@code runlane} when the registry is scraped. The gauges hold
   * {@code runlane} weakly, as Micrometer's gauges do: they read NaN once it was collected.
   *
   * @return this
   */
  public MicrometerRunlaneMetrics bindTo(Runlane runlane) {
    Objects.requireNonNull(runlane, "runlane");
    Gauge.builder("runlane.connections", runlane, Runlane::connectionCount)
        .description("Live connections")
        .baseUnit("connections")
        .tags(tags)
        .register(registry);
    Gauge.builder("runlane.runs", runlane, Runlane::runCount)
        .description("Runs held: running, or ended and retained for resume")
        .baseUnit("runs")
        .tags(tags)
        .register(registry);
    Gauge.builder("runlane.sessions", runlane, Runlane::sessionCount)
        .description("Sessions held")
        .baseUnit("sessions")
        .tags(tags)
        .register(registry);
    // the retention budget (issue 17): read from the engine snapshot when the registry is scraped
    Gauge.builder("runlane.retained.bytes", runlane, r -> r.snapshot().retainedBytes())
        .description("Event payload held by every run's log, the measure of maxRetainedBytes")
        .baseUnit("bytes")
        .tags(tags)
        .register(registry);
    Gauge.builder("runlane.retained.events", runlane, r -> r.snapshot().retainedEvents())
        .description("Events held by every run's log")
        .baseUnit("events")
        .tags(tags)
        .register(registry);
    io.micrometer.core.instrument.FunctionCounter.builder(
            "runlane.retention.evictions", runlane, r -> r.snapshot().budgetEvictedRuns())
        .description("Ended runs evicted before their retention to keep within maxRetainedBytes")
        .tags(tags)
        .tag("cause", "budget_ended_run")
        .register(registry);
    io.micrometer.core.instrument.FunctionCounter.builder(
            "runlane.retention.evictions", runlane, r -> r.snapshot().budgetTrimmedRuns())
        .description("Running runs whose oldest events were trimmed to keep within maxRetainedBytes")
        .tags(tags)
        .tag("cause", "budget_trimmed_run")
        .register(registry);
    return this;
  }

  @Override
  public void connectionClosed(String connectionId, CloseReason reason) {
    delivered.remove(connectionId);
    String name = reasonTag(reason.code());
    closes
        .computeIfAbsent(
            name,
            n ->
                Counter.builder("runlane.connections.closed")
                    .description("Connections that left, by close reason")
                    .tags(tags)
                    .tag("reason", n)
                    .register(registry))
        .increment();
  }

  @Override
  public void connectionSample(ConnectionStats stats) {
    long now = registry.config().clock().monotonicTime();
    Baseline fresh = new Baseline(stats.delivered(), now);
    Baseline previous = delivered.put(stats.connectionId(), fresh);
    long growth = stats.delivered() - (previous == null ? 0 : previous.delivered);
    if (growth > 0) {
      deliveries.increment(growth);
    }
    queued.record(stats.queuedFrames());
    queuedBytes.record(stats.queuedBytes());
    inFlight.record(stats.inFlight());
    lag.record(stats.lagNanos(), TimeUnit.NANOSECONDS);
    if ((samples.incrementAndGet() & 0xFFF) == 0) {
      // A sample racing a close can re-add a baseline after the close removed it.
      delivered.values().removeIf(b -> now - b.sampledAt > STALE_NANOS);
    }
  }

  @Override
  public void runEnded(RunOutcome outcome) {
    String state = outcome.state().name().toLowerCase(Locale.ROOT);
    FailureReason failure = outcome.failureReason();
    String failureTag =
        outcome.state() == RunState.FAILED && failure != null ? failure.name().toLowerCase(Locale.ROOT) : "none";
    runsEnded
        .computeIfAbsent(
            state + '/' + failureTag,
            k ->
                Counter.builder("runlane.runs.ended")
                    .description("Runs by end state and failure reason")
                    .tags(tags)
                    .tag("state", state)
                    .tag("failure", failureTag)
                    .register(registry))
        .increment();
    runEvents.record(outcome.terminalSeq());
  }

  @Override
  public void subscribed(String connectionId, ResumeStatus status) {
    resumes
        .computeIfAbsent(
            status,
            st ->
                Counter.builder("runlane.resumes")
                    .description("Subscribes acknowledged, by resume status")
                    .tags(tags)
                    .tag("status", st.name().toLowerCase(java.util.Locale.ROOT))
                    .register(registry))
        .increment();
  }

  @Override
  public boolean timesDeliveries() {
    return timesDeliveries;
  }

  @Override
  public void deliveryLatency(Lane lane, long latencyNanos) {
    (lane == Lane.CONTROL ? controlLatency : streamLatency).record(latencyNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void protocolError(String connectionId, ErrorCode code) {
    protocolErrors
        .computeIfAbsent(
            code,
            c ->
                Counter.builder("runlane.protocol.errors")
                    .description("Protocol errors sent to connections, by error code")
                    .tags(tags)
                    .tag("code", c.name())
                    .register(registry))
        .increment();
  }

  /** The {@code reason} tag of a close code: Runlane's and RFC 6455's named codes, else {@code other}. */
  static String reasonTag(int code) {
    return CLOSE_REASONS.getOrDefault(code, "other");
  }

  /** A connection's delivered count at its last sample. */
  private static final class Baseline {
    final long delivered;
    final long sampledAt;

    Baseline(long delivered, long sampledAt) {
      this.delivered = delivered;
      this.sampledAt = sampledAt;
    }
  }
}
