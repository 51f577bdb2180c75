package dev.runlane.spring.boot.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;

/**
 * Runlane's settings under {@code runlane.*}: every setting of {@code
 * docs/reference/configuration.md}, with the same defaults, plus the WebSocket endpoint ({@code
 * runlane.websocket.*}) and the ticket endpoint ({@code runlane.ticket-endpoint.*}).
 *
 * <pre>
 * runlane.websocket.path=/runlane
 * runlane.max-queued-frames=8192
 * runlane.heartbeat-interval=30s
 * runlane.max-queued-bytes=16MB
 * </pre>
 *
 * <p><b>Thread safety:</b> a mutable bean bound once at start-up; read-only afterwards.
 */
@ConfigurationProperties("runlane")
public class RunlaneProperties {

  /** Whether to create Runlane at all. */
  private boolean enabled = true;
  /** Events kept per run for resume; a resume from further back is acknowledged as TRUNCATED. */
  private int replayCapacity = 1_024;
  /** Payload bytes kept per run (oldest evicted first, the newest always kept); 0 means no byte limit. */
  private DataSize replayByteBudget = DataSize.ofBytes(0);
  /** How long an ended run stays resumable (its ring, its terminal event and its session's current-run slot). */
  private Duration retention = Duration.ofMinutes(5);
  /** Whether subscribing to an ended run replays its tail up to the terminal event (false: the ack says FINISHED and nothing is replayed). */
  private boolean replayFinishedRuns = true;
  /** Live frames waiting in one connection's outbox (both lanes); beyond it the connection is closed 4000 SLOW_CONSUMER. */
  private int maxQueuedFrames = 8_192;
  /** Payload bytes of the frames waiting in one connection's outbox; beyond it the connection is closed 4000 SLOW_CONSUMER. */
  private DataSize maxQueuedBytes = DataSize.ofMegabytes(16);
  /** Sends handed to one transport whose callback has not fired; further frames wait in the outbox. */
  private int maxInFlight = 64;
  /**
   * Threads that write a run's frames to connections whose transport batches writes; 0 lets the
   * publishing thread write. Unset: a quarter of the cores, at least 1.
   */
  private @Nullable Integer writeThreads;
  /** Time with sends outstanding and none completing before the connection is closed 4000 SLOW_CONSUMER; 0 turns it off. */
  private Duration sendStallTimeout = Duration.ofSeconds(30);
  /** Time between asking a transport to close and dropping its socket if the close was not reported. */
  private Duration closeGrace = Duration.ofSeconds(5);
  /** The longest a transport stays silent before an unsequenced heartbeat is sent; 0 turns heartbeats off. */
  private Duration heartbeatInterval = Duration.ofSeconds(30);
  /** The longest a connection may go without inbound traffic before it is closed 4001 IDLE_TIMEOUT; 0 turns it off. */
  private Duration idleTimeout = Duration.ofSeconds(90);
  /** The tick that checks stalls, idleness and heartbeats and samples metrics; must be positive. */
  private Duration housekeepingInterval = Duration.ofSeconds(1);
  /** The default deadline of a run that does not set its own (clamped to 1 s - 24 h); 0 means no deadline. */
  private Duration runTimeout = Duration.ZERO;
  /** Added to every run deadline, so a runtime can end on its own first. */
  private Duration runTimeoutGrace = Duration.ofSeconds(30);
  /** The largest inbound frame Runlane decodes; larger ones get protocol error PAYLOAD_TOO_LARGE and the connection stays open. */
  private DataSize maxInboundBytes = DataSize.ofKilobytes(64);
  /** Sessions one connection may follow at once; more get protocol error TOO_MANY_SUBSCRIPTIONS. */
  private int maxSessionsPerConnection = 64;
  /** The lifetime of a one-time stream ticket. */
  private Duration ticketTtl = Duration.ofSeconds(60);
  /** Stream tickets held at once; issuing more fails (the ticket endpoint answers 503). */
  private int maxTickets = 100_000;

  /** The WebSocket endpoint. */
  private final WebSocket websocket = new WebSocket();

  /** The stream ticket endpoint. */
  private final TicketEndpoint ticketEndpoint = new TicketEndpoint();

  /** The Server-Sent Events endpoint (with runlane-transport-sse on the class path). */
  private final Sse sse = new Sse();

  /** The Micrometer meters (with runlane-micrometer and a MeterRegistry). */
  private final Metrics metrics = new Metrics();

  public boolean isEnabled() {
    return enabled;
  }

  public void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  public int getReplayCapacity() {
    return replayCapacity;
  }

  public void setReplayCapacity(int replayCapacity) {
    this.replayCapacity = replayCapacity;
  }

  public DataSize getReplayByteBudget() {
    return replayByteBudget;
  }

  public void setReplayByteBudget(DataSize replayByteBudget) {
    this.replayByteBudget = replayByteBudget;
  }

  public Duration getRetention() {
    return retention;
  }

  public void setRetention(Duration retention) {
    this.retention = retention;
  }

  public boolean isReplayFinishedRuns() {
    return replayFinishedRuns;
  }

  public void setReplayFinishedRuns(boolean replayFinishedRuns) {
    this.replayFinishedRuns = replayFinishedRuns;
  }

  public int getMaxQueuedFrames() {
    return maxQueuedFrames;
  }

  public void setMaxQueuedFrames(int maxQueuedFrames) {
    this.maxQueuedFrames = maxQueuedFrames;
  }

  public DataSize getMaxQueuedBytes() {
    return maxQueuedBytes;
  }

  public void setMaxQueuedBytes(DataSize maxQueuedBytes) {
    this.maxQueuedBytes = maxQueuedBytes;
  }

  public int getMaxInFlight() {
    return maxInFlight;
  }

  public void setMaxInFlight(int maxInFlight) {
    this.maxInFlight = maxInFlight;
  }

  public @Nullable Integer getWriteThreads() {
    return writeThreads;
  }

  public void setWriteThreads(@Nullable Integer writeThreads) {
    this.writeThreads = writeThreads;
  }

  public Duration getSendStallTimeout() {
    return sendStallTimeout;
  }

  public void setSendStallTimeout(Duration sendStallTimeout) {
    this.sendStallTimeout = sendStallTimeout;
  }

  public Duration getCloseGrace() {
    return closeGrace;
  }

  public void setCloseGrace(Duration closeGrace) {
    this.closeGrace = closeGrace;
  }

  public Duration getHeartbeatInterval() {
    return heartbeatInterval;
  }

  public void setHeartbeatInterval(Duration heartbeatInterval) {
    this.heartbeatInterval = heartbeatInterval;
  }

  public Duration getIdleTimeout() {
    return idleTimeout;
  }

  public void setIdleTimeout(Duration idleTimeout) {
    this.idleTimeout = idleTimeout;
  }

  public Duration getHousekeepingInterval() {
    return housekeepingInterval;
  }

  public void setHousekeepingInterval(Duration housekeepingInterval) {
    this.housekeepingInterval = housekeepingInterval;
  }

  public Duration getRunTimeout() {
    return runTimeout;
  }

  public void setRunTimeout(Duration runTimeout) {
    this.runTimeout = runTimeout;
  }

  public Duration getRunTimeoutGrace() {
    return runTimeoutGrace;
  }

  public void setRunTimeoutGrace(Duration runTimeoutGrace) {
    this.runTimeoutGrace = runTimeoutGrace;
  }

  public DataSize getMaxInboundBytes() {
    return maxInboundBytes;
  }

  public void setMaxInboundBytes(DataSize maxInboundBytes) {
    this.maxInboundBytes = maxInboundBytes;
  }

  public int getMaxSessionsPerConnection() {
    return maxSessionsPerConnection;
  }

  public void setMaxSessionsPerConnection(int maxSessionsPerConnection) {
    this.maxSessionsPerConnection = maxSessionsPerConnection;
  }

  public Duration getTicketTtl() {
    return ticketTtl;
  }

  public void setTicketTtl(Duration ticketTtl) {
    this.ticketTtl = ticketTtl;
  }

  public int getMaxTickets() {
    return maxTickets;
  }

  public void setMaxTickets(int maxTickets) {
    this.maxTickets = maxTickets;
  }

  public WebSocket getWebsocket() {
    return websocket;
  }

  public TicketEndpoint getTicketEndpoint() {
    return ticketEndpoint;
  }

  public Sse getSse() {
    return sse;
  }

  public Metrics getMetrics() {
    return metrics;
  }

  /** {@code runlane.metrics.*}: the Micrometer bridge's options. */
  public static class Metrics {

    /**
     * Whether to time every live delivery from the run's publish to the transport's write
     * (runlane.delivery.latency): two clock reads per frame and recipient.
     */
    private boolean deliveryLatency = true;

    public boolean isDeliveryLatency() {
      return deliveryLatency;
    }

    public void setDeliveryLatency(boolean deliveryLatency) {
      this.deliveryLatency = deliveryLatency;
    }
  }

  /**
   * {@code runlane.sse.*}: the Server-Sent Events endpoint, served when {@code
   * runlane-transport-sse} is on the class path. GET opens the stream, POST ?stream=token sends a
   * command. The principal comes from a {@code RunlanePrincipalResolver} bean, else the request's
   * authenticated user (a cookie session survives the browser's automatic reconnect; a one-time
   * ticket would not).
   */
  public static class Sse {

    /** Whether to serve the SSE endpoint. */
    private boolean enabled = true;

    /** The endpoint's path. */
    private String path = "/runlane/sse";

    /** How often an SSE comment goes to each stream, keeping proxies open and finding dropped clients. */
    private Duration keepAliveInterval = Duration.ofSeconds(15);

    /** The largest command body a POST may carry. */
    private DataSize maxCommandSize = DataSize.ofKilobytes(64);

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public String getPath() {
      return path;
    }

    public void setPath(String path) {
      this.path = path;
    }

    public Duration getKeepAliveInterval() {
      return keepAliveInterval;
    }

    public void setKeepAliveInterval(Duration keepAliveInterval) {
      this.keepAliveInterval = keepAliveInterval;
    }

    public DataSize getMaxCommandSize() {
      return maxCommandSize;
    }

    public void setMaxCommandSize(DataSize maxCommandSize) {
      this.maxCommandSize = maxCommandSize;
    }
  }

  /** {@code runlane.websocket.*}: the WebSocket endpoint served with the JSON protocol. */
  public static class WebSocket {

    /** Whether to serve the WebSocket endpoint (needs a servlet web application). */
    private boolean enabled = true;

    /** The endpoint's path. */
    private String path = "/runlane";

    /** Origin patterns allowed to open the WebSocket (e.g. https://*.example.com); empty: same origin only. */
    private List<String> allowedOriginPatterns = new ArrayList<>();

    /**
     * The largest inbound WebSocket message the container accepts; a larger one closes the socket
     * with 1009. Keep it above max-inbound-bytes, so Runlane answers oversized commands with
     * PAYLOAD_TOO_LARGE and the connection stays open.
     */
    private DataSize maxMessageSize = DataSize.ofKilobytes(128);

    /** The query parameter a client without an authenticated principal passes its stream ticket in. */
    private String ticketParameter = "ticket";

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public String getPath() {
      return path;
    }

    public void setPath(String path) {
      this.path = path;
    }

    public List<String> getAllowedOriginPatterns() {
      return allowedOriginPatterns;
    }

    public void setAllowedOriginPatterns(List<String> allowedOriginPatterns) {
      this.allowedOriginPatterns = allowedOriginPatterns;
    }

    public DataSize getMaxMessageSize() {
      return maxMessageSize;
    }

    public void setMaxMessageSize(DataSize maxMessageSize) {
      this.maxMessageSize = maxMessageSize;
    }

    public String getTicketParameter() {
      return ticketParameter;
    }

    public void setTicketParameter(String ticketParameter) {
      this.ticketParameter = ticketParameter;
    }
  }

  /**
   * {@code runlane.ticket-endpoint.*}: {@code POST} issues a one-time stream ticket to the
   * request's principal (a {@code RunlanePrincipalResolver} bean, else the servlet request's
   * authenticated user); browsers cannot send headers when opening a WebSocket, so they pass it in
   * the ticket query parameter instead.
   */
  public static class TicketEndpoint {

    /** Whether to serve the ticket endpoint. */
    private boolean enabled = true;

    /** The endpoint's path. */
    private String path = "/runlane/ticket";

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public String getPath() {
      return path;
    }

    public void setPath(String path) {
      this.path = path;
    }
  }
}
