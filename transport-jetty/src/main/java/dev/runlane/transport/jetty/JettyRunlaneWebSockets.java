package dev.runlane.transport.jetty;

import dev.runlane.transport.Capability;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.server.WebSocketCreator;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sets up Runlane WebSocket endpoints on a Jetty 12.1 server.
 *
 * <pre>{@code
 * Server server = new Server(8080);
 * ContextHandler context = new ContextHandler("/");
 * server.setHandler(context);
 * JettyRunlaneWebSockets.install(server, context, "/ws",
 *     JettyRunlaneWebSockets.Settings.builder(request -> tokens.principalOf(request)).build(),
 *     ConnectionAcceptor.from(runlane::connect));
 * server.start();
 * }</pre>
 *
 * <p>Each upgrade request to the path is first authenticated by the {@link UpgradeAuthenticator}; a
 * refused request gets an HTTP error and never becomes a WebSocket. An accepted one gets a fresh
 * connection id (128 random bits by default), becomes a {@link JettyConnection} and is handed to
 * the {@link ConnectionAcceptor}.
 *
 * <p><b>Thread safety:</b> the static methods are thread-safe; call {@link #install} before the
 * server starts.
 */
public final class JettyRunlaneWebSockets {

  private static final Logger LOG = LoggerFactory.getLogger(JettyRunlaneWebSockets.class);
  private static final RandomIds IDS = new RandomIds(new SecureRandom(), RandomIds.DEFAULT_BLOCK_IDS);

  private JettyRunlaneWebSockets() {}

  /**
   * Maps WebSocket upgrades of {@code pathSpec} in {@code context} to Runlane connections.
   *
   * <p>Installs a {@link WebSocketUpgradeHandler} as the context's handler; the handler the context
   * had before, if any, comes after it and keeps serving every request that is not an upgrade to
   * {@code pathSpec}. Call once per context before the server starts; for several paths, or to
   * place the upgrade handler yourself, use {@link #creator} with Jetty's {@code
   * ServerWebSocketContainer.addMapping}.
   *
   * <p>The path is mapped beside the handler's {@code ServerWebSocketContainer} rather than in it
   * (its sessions still belong to the container and get its settings: session listeners and {@code
   * getOpenSessions()} see them), so that each session keeps only a compact, detached copy of its
   * upgrade request and response ({@link JettyConnection#upgradeRequest()}): Jetty 12.1's own
   * copies keep the whole HTTP/1.1 exchange reachable for as long as the WebSocket is open, about 3
   * KB of heap per connection. With {@link #creator} and {@code addMapping}, Jetty's copies are
   * kept.
   *
   * @param server the server, from which Jetty looks up shared WebSocket components
   * @param context the context; {@code pathSpec} is relative to its context path
   * @param pathSpec e.g. {@code "/ws"}, in Jetty's WebSocket path-spec syntax
   * @param settings authentication, ids, limits and capabilities
   * @param acceptor registers each opened connection with Runlane
   * @return the installed handler, e.g. to reach its {@code ServerWebSocketContainer}
   */
  public static WebSocketUpgradeHandler install(
      Server server,
      ContextHandler context,
      String pathSpec,
      Settings settings,
      ConnectionAcceptor acceptor) {
    Objects.requireNonNull(server, "server");
    Objects.requireNonNull(context, "context");
    Objects.requireNonNull(pathSpec, "pathSpec");
    WebSocketCreator creator = creator(settings, acceptor);
    WebSocketUpgradeHandler upgrade = WebSocketUpgradeHandler.from(server, context, container -> {});
    // The mapping is ours rather than the container's: the sessions it opens keep a detached copy
    // of their upgrade request and response, not the whole HTTP exchange (about 4 KB each).
    DetachedUpgradeHandler detached =
        new DetachedUpgradeHandler(
            server, context, upgrade.getServerWebSocketContainer(), pathSpec, creator);
    Handler previous = context.getHandler();
    if (previous != null) {
      detached.setHandler(previous);
    }
    upgrade.setHandler(detached);
    context.setHandler(upgrade);
    return upgrade;
  }

  /**
   * A Jetty {@link WebSocketCreator} that authenticates each upgrade request and opens a Runlane
   * connection for it, for hosts that map paths themselves.
   *
   * @param settings authentication, ids, limits and capabilities
   * @param acceptor registers each opened connection with Runlane
   * @return the creator; thread-safe
   */
  public static WebSocketCreator creator(Settings settings, ConnectionAcceptor acceptor) {
    Objects.requireNonNull(settings, "settings");
    Objects.requireNonNull(acceptor, "acceptor");
    return (request, response, callback) -> {
      String principal;
      try {
        principal = settings.authenticator().authenticate(request);
      } catch (Exception e) {
        LOG.warn("Upgrade authenticator threw; refusing the upgrade with 500", e);
        Response.writeError(request, response, callback, 500);
        return null;
      }
      if (principal == null || principal.isEmpty()) {
        Response.writeError(request, response, callback, settings.refusalStatus());
        return null;
      }
      String id = settings.connectionIds().get();
      return new JettyRunlaneEndpoint(
          id, principal, acceptor, settings, request.getComponents().getExecutor());
    };
  }

  /**
   * A random connection id: 128 bits from {@link SecureRandom}, base64url without padding (22
   * characters), so that no client can guess another's id (rule T1.1). The bytes are drawn from
   * one shared {@code SecureRandom} 256 ids at a time and handed out without a lock, so that the
   * thousands of upgrades of a reconnect storm do not queue on a lock one call per id.
   */
  public static String randomConnectionId() {
    return IDS.next();
  }

  /**
   * How {@link JettyRunlaneWebSockets} authenticates, names and configures connections.
   *
   * <p><b>Thread safety:</b> immutable; its builder is not thread-safe.
   */
  public static final class Settings {
    private final UpgradeAuthenticator authenticator;
    private final Supplier<String> connectionIds;
    private final int refusalStatus;
    private final long maxTextMessageSize;
    private final long maxBinaryMessageSize;
    private final @Nullable Duration idleTimeout;
    private final Set<Capability> capabilities;

    private Settings(Builder b) {
      this.authenticator = b.authenticator;
      this.connectionIds = b.connectionIds;
      this.refusalStatus = b.refusalStatus;
      this.maxTextMessageSize = b.maxTextMessageSize;
      this.maxBinaryMessageSize = b.maxBinaryMessageSize;
      this.idleTimeout = b.idleTimeout;
      EnumSet<Capability> caps = EnumSet.of(Capability.BINARY, Capability.TRANSPORT_PING, Capability.JOINED_MESSAGES);
      if (b.streamTransport) {
        caps.add(Capability.STREAM_TRANSPORT);
      }
      if (b.batching) {
        caps.add(Capability.BATCHING);
      }
      this.capabilities = Set.copyOf(caps);
    }

    /**
     * Starts settings with the given authenticator and defaults for everything else.
     *
     * @param authenticator resolves each upgrade request's principal, or refuses it
     */
    public static Builder builder(UpgradeAuthenticator authenticator) {
      return new Builder(authenticator);
    }

    /** The upgrade request authenticator. */
    public UpgradeAuthenticator authenticator() {
      return authenticator;
    }

    /** The connection id generator. */
    public Supplier<String> connectionIds() {
      return connectionIds;
    }

    /** The HTTP status of a refused upgrade. */
    public int refusalStatus() {
      return refusalStatus;
    }

    /** The largest inbound text message, in bytes. */
    public long maxTextMessageSize() {
      return maxTextMessageSize;
    }

    /** The largest inbound binary message, in bytes. */
    public long maxBinaryMessageSize() {
      return maxBinaryMessageSize;
    }

    /**
     * The socket idle timeout the host set, or null to derive it per connection from Runlane's
     * ({@link #socketIdleTimeoutAbove}; rule T8.1).
     */
    public @Nullable Duration idleTimeout() {
      return idleTimeout;
    }

    /**
     * The socket idle timeout derived from Runlane's idle timeout ({@code
     * InboundHandler.idleTimeout()}): one and a half times it, so that Runlane closes a quiet
     * connection first, with its resumable 4001 (rule T8.1). Null, leaving the container's
     * timeout (Jetty's default: 30 s), when Runlane's is zero (off).
     *
     * @param runlaneIdleTimeout Runlane's idle timeout for the connection
     */
    public static @Nullable Duration socketIdleTimeoutAbove(Duration runlaneIdleTimeout) {
      if (runlaneIdleTimeout.isNegative() || runlaneIdleTimeout.isZero()) {
        return null;
      }
      return runlaneIdleTimeout.plus(runlaneIdleTimeout.dividedBy(2));
    }

    /**
     * The capabilities every connection declares: BINARY, TRANSPORT_PING, JOINED_MESSAGES,
     * BATCHING unless turned off, and STREAM_TRANSPORT if configured.
     */
    public Set<Capability> capabilities() {
      return capabilities;
    }

    /** Applies the limits to a freshly opened session. */
    void applyTo(Session session) {
      session.setMaxTextMessageSize(maxTextMessageSize);
      session.setMaxBinaryMessageSize(maxBinaryMessageSize);
      // Jetty also limits each inbound frame (64 KiB by default); let one frame carry a whole message.
      long largest = Math.max(maxTextMessageSize, maxBinaryMessageSize);
      if (largest > session.getMaxFrameSize()) {
        session.setMaxFrameSize(largest);
      }
      Duration timeout = idleTimeout;
      if (timeout != null) {
        session.setIdleTimeout(timeout);
      }
    }

    /**
     * Builds {@link Settings}.
     *
     * <p><b>Thread safety:</b> not thread-safe; confine a builder to one thread.
     */
    public static final class Builder {
      private final UpgradeAuthenticator authenticator;
      private Supplier<String> connectionIds = JettyRunlaneWebSockets::randomConnectionId;
      private int refusalStatus = 401;
      private long maxTextMessageSize = 64 * 1024;
      private long maxBinaryMessageSize = 64 * 1024;
      private @Nullable Duration idleTimeout;
      private boolean streamTransport;
      private boolean batching = true;

      private Builder(UpgradeAuthenticator authenticator) {
        this.authenticator = Objects.requireNonNull(authenticator, "authenticator");
      }

      /**
       * The connection id generator; default {@link JettyRunlaneWebSockets#randomConnectionId()}.
       * Its ids must be unique among live connections and should be unguessable (rule T1.1).
       */
      public Builder connectionIds(Supplier<String> generator) {
        this.connectionIds = Objects.requireNonNull(generator, "generator");
        return this;
      }

      /** The HTTP status of a refused upgrade, 400–499; default 401. */
      public Builder refusalStatus(int status) {
        if (status < 400 || status > 499) {
          throw new IllegalArgumentException("refusal status must be 400..499: " + status);
        }
        this.refusalStatus = status;
        return this;
      }

      /**
       * The largest inbound text message in bytes; default 64 KiB. A larger message closes the
       * connection with 1009 (message too big).
       */
      public Builder maxTextMessageSize(long bytes) {
        this.maxTextMessageSize = positive(bytes, "maxTextMessageSize");
        return this;
      }

      /**
       * The largest inbound binary message in bytes; default 64 KiB. A larger message closes the
       * connection with 1009 (message too big).
       */
      public Builder maxBinaryMessageSize(long bytes) {
        this.maxBinaryMessageSize = positive(bytes, "maxBinaryMessageSize");
        return this;
      }

      /**
       * Jetty's socket idle timeout. Jetty closes a socket idle this long with 1001. Default:
       * derived per connection from Runlane's idle timeout ({@link
       * Settings#socketIdleTimeoutAbove}: 1.5 × Runlane's, so 135 s with Runlane's default of 90
       * s), so that Runlane closes idle connections first, with its resumable 4001 (rule T8.1).
       * Set it only to override that; keep it above Runlane's idle timeout.
       */
      public Builder idleTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
          throw new IllegalArgumentException("idle timeout must be positive: " + timeout);
        }
        this.idleTimeout = timeout;
        return this;
      }

      /**
       * Whether connections declare {@link Capability#STREAM_TRANSPORT}: turn on only if the host
       * pairs a second WebSocket per client for the stream lane (rule T6); default false.
       */
      public Builder streamTransport(boolean enabled) {
        this.streamTransport = enabled;
        return this;
      }

      /**
       * Whether connections declare {@link Capability#BATCHING} (rule T2.7): frames of one drain
       * of Runlane's outbox go out in as few socket writes as Jetty's frame flusher allows, and
       * Runlane's flush at the end of each drain writes them, so a lone frame waits for nothing.
       * Default true. Turn it off only if something other than Runlane sends through these
       * connections without calling {@code flush()}.
       */
      public Builder batching(boolean enabled) {
        this.batching = enabled;
        return this;
      }

      /** The settings. */
      public Settings build() {
        return new Settings(this);
      }

      private static long positive(long value, String name) {
        if (value <= 0) {
          throw new IllegalArgumentException(name + " must be positive: " + value);
        }
        return value;
      }
    }
  }
}
