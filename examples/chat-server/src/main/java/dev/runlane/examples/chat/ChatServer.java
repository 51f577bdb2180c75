package dev.runlane.examples.chat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.runlane.RunlaneBuilder;
import dev.runlane.Authorizer;
import dev.runlane.Runlane;
import dev.runlane.engine.Engine;
import dev.runlane.RunlaneMetrics;
import dev.runlane.StreamTickets;
import dev.runlane.TimeSource;
import dev.runlane.protocol.json.JsonWireCodec;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.jetty.JettyRunlaneWebSockets;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.FormFields;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import dev.runlane.transport.jetty.UpgradeAdmission;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.websocket.server.ServerUpgradeRequest;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The chat example: one Jetty 12.1 server on one port serving the page ({@code /}), the demo login
 * ({@code POST /api/ticket}) and the WebSocket ({@code /ws?ticket=…}), with Runlane and the {@link
 * DemoAgent} behind it.
 *
 * <pre>{@code
 * try (ChatServer server = ChatServer.builder().port(8080).build().start()) {
 *   System.out.println("open " + server.uri());
 *   server.join();
 * }
 * }</pre>
 *
 * <p>The glue a host writes, all of it in {@link #start()} and the two handlers below: build a
 * {@link Runlane} with a codec, a runtime and an authorizer; issue stream tickets from an
 * authenticated HTTP endpoint; consume the ticket when the WebSocket upgrades and hand the
 * connection to {@link Runlane#connect}. See {@code docs/guides/embedding.md}.
 *
 * <p><b>Thread safety:</b> {@link #start()} and {@link #close()} are meant for one thread; the
 * running server is safe for concurrent use.
 */
public final class ChatServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ChatServer.class);

  /** The demo's user names: what the login accepts and what session ids are built from. */
  static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,32}");

  /** Runlane's largest inbound frame; the socket accepts twice that, so Runlane answers the excess. */
  static final int MAX_INBOUND_BYTES = 64 * 1024;

  /** The Runlane JavaScript client, served from its WebJar ({@code runlane-client-js}). */
  static final String CLIENT_SCRIPT = "runlane-client.js";

  private static final Map<String, String[]> STATIC =
      Map.of(
          "/", new String[] {"index.html", "text/html; charset=utf-8"},
          "/index.html", new String[] {"index.html", "text/html; charset=utf-8"},
          "/app.js", new String[] {"app.js", "text/javascript; charset=utf-8"},
          "/runlane-client.js", new String[] {CLIENT_SCRIPT, "text/javascript; charset=utf-8"},
          "/style.css", new String[] {"style.css", "text/css; charset=utf-8"});

  /** The listen backlog asked of the kernel (capped by {@code net.core.somaxconn}). */
  static final int ACCEPT_QUEUE = 4096;

  /**
   * Connections between accept and WebSocket upgrade before the server stops accepting for a while
   * (the rest wait in the listen queue): in a reconnect storm, the clients already back get their
   * replay at once instead of queueing behind thousands of upgrades.
   */
  static final int MAX_PENDING_UPGRADES = 512;

  private final String host;
  private final ObjectMapper json = new ObjectMapper();
  private final DemoAgent agent;
  private final ChatHistory history;
  private final Rooms rooms = new Rooms();
  private final boolean streamTransport;
  /** Live connections: id to principal, for presence. */
  private final ConcurrentHashMap<String, String> live = new ConcurrentHashMap<>();
  private final Runlane runlane;
  private final Server server;
  private final ServerConnector connector;
  private final Map<String, byte[]> resources = new LinkedHashMap<>();

  private ChatServer(Builder b) {
    this.host = b.host;
    this.agent = new DemoAgent(b.pace, b.approvalEvery, Duration.ofMinutes(5));
    this.streamTransport = b.streamTransport;
    this.history =
        ChatHistory.open(
            b.historyUrl != null
                ? b.historyUrl
                : "jdbc:h2:mem:runlane-chat-" + java.util.UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
    RunlaneBuilder rb =
        Runlane.builder()
            .codec(new JsonWireCodec())
            .runtime(history.recording(agent))
            .runListener(history)
            .runListener(
                o ->
                    LOG.info(
                        "run {} in {} ended {} (last seq {}{})",
                        o.runId(),
                        o.sessionId(),
                        o.state(),
                        o.terminalSeq(),
                        o.failureReason() == null ? "" : ", " + o.failureReason()))
            .metrics(
                new RunlaneMetrics() {
                  @Override
                  public void connectionClosed(String connectionId, CloseReason reason) {
                    LOG.info("connection {} closed: {} {}", connectionId, reason.code(), reason.reason());
                    String principal = live.remove(connectionId);
                    if (principal != null) {
                      presenceChanged(principal);
                    }
                  }
                })
            .authorizer(rooms.authorizer())
            .ticketTtl(b.ticketTtl)
            .maxInboundBytes(MAX_INBOUND_BYTES);
    if (b.timeSource != null) {
      rb.timeSource(b.timeSource);
    }
    if (b.heartbeatInterval != null && b.idleTimeout != null) {
      rb.heartbeatInterval(b.heartbeatInterval).idleTimeout(b.idleTimeout);
    }
    if (b.replayCapacity > 0) {
      rb.replayCapacity(b.replayCapacity);
    }
    if (b.engine != null) {
      rb.engine(b.engine);
    }
    this.runlane = rb.build();
    this.server = new Server();
    this.connector = new ServerConnector(server);
    connector.setHost(b.host);
    connector.setPort(b.port);
    // Jetty's default (0) leaves the JDK's listen backlog of 50: in a reconnect storm of thousands
    // of clients the kernel drops the SYNs beyond it and each client waits out TCP's 1 s, 3 s, 7 s
    // retransmissions. The kernel caps it at net.core.somaxconn.
    connector.setAcceptQueueSize(ACCEPT_QUEUE);
    UpgradeAdmission.install(connector, MAX_PENDING_UPGRADES);
    server.addConnector(connector);
    server.setStopTimeout(2_000);
  }

  /**
   * A builder with the defaults: port 8080 on localhost, 30 ms per token, approvals only when the
   * prompt calls for the tool, history in an in-memory database.
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The demo's authorization: a user's sessions are the ids that start with {@code "<name>/"}; any
   * other session does not exist for them ({@link Authorizer.Decision#NOT_FOUND}), so one user can
   * neither start, follow, abort nor approve in another's session. Every connection of the same
   * user (a second tab) may follow the user's sessions.
   */
  public static Authorizer ownSessionsOnly() {
    return (principal, action, sessionId, owner) ->
        sessionId.startsWith(principal + "/") ? Authorizer.Decision.ALLOW : Authorizer.Decision.NOT_FOUND;
  }

  /** Starts listening; returns this. */
  public ChatServer start() throws Exception {
    for (String[] r : STATIC.values()) {
      resources.computeIfAbsent(r[0], ChatServer::readResource);
    }
    ContextHandler context = new ContextHandler("/");
    context.setHandler(new AppHandler());
    server.setHandler(context);
    JettyRunlaneWebSockets.install(
        server,
        context,
        "/ws",
        JettyRunlaneWebSockets.Settings.builder(this::authenticate)
            .maxTextMessageSize(2L * MAX_INBOUND_BYTES)
            .maxBinaryMessageSize(2L * MAX_INBOUND_BYTES)
            // no idleTimeout: the adapter derives Jetty's from Runlane's (rule T8.1)
            .streamTransport(streamTransport)
            .build(),
        c -> {
          // a second socket of a client that pairs its stream lane (rule T6): ?primary=<id>&generation=<n>
          java.util.List<String> primary = c.upgradeRequest().getParameterMap().get("primary");
          java.util.List<String> generation = c.upgradeRequest().getParameterMap().get("generation");
          if (streamTransport && primary != null && generation != null && !primary.isEmpty() && !generation.isEmpty()) {
            long g;
            try {
              g = Long.parseLong(generation.get(0));
            } catch (NumberFormatException e) {
              g = -1; // refused by Runlane (4003) like any other stale pairing
            }
            return runlane.connectStream(c, primary.get(0), g);
          }
          live.put(c.id(), c.principal());
          presenceChanged(c.principal());
          return runlane.connect(c);
        });
    try {
      server.start();
    } catch (Exception e) {
      close();
      throw e;
    }
    return this;
  }

  /** The port it listens on (the real one when built with port 0). */
  public int port() {
    return connector.getLocalPort();
  }

  /** The page's address, e.g. {@code http://localhost:8080/}. */
  public URI uri() {
    String h = host.isEmpty() || "0.0.0.0".equals(host) ? "localhost" : host;
    return URI.create("http://" + h + ":" + port() + "/");
  }

  /** The Runlane instance behind the server. */
  public Runlane runlane() {
    return runlane;
  }

  /** The conversation history (every ended run of every session). */
  public ChatHistory history() {
    return history;
  }

  /** The rooms and their members. */
  public Rooms rooms() {
    return rooms;
  }

  /** The members of {@code room} with at least one open connection, by name. */
  public List<String> online(Rooms.Room room) {
    Set<String> on = new HashSet<>(live.values());
    return room.members().stream().filter(on::contains).sorted().toList();
  }

  /** Tells every follower of each room of {@code principal} who is in it and who is online. */
  private void presenceChanged(String principal) {
    for (Rooms.Room r : rooms.roomsOf(principal)) {
      announce(r);
    }
  }

  private void announce(Rooms.Room r) {
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("room", r.name());
    data.put("members", r.members());
    data.put("online", online(r));
    runlane.noticeSession(r.sessionId(), "presence", data);
  }

  /** The demo agent. */
  public DemoAgent agent() {
    return agent;
  }

  /** Blocks until the server stops. */
  public void join() throws InterruptedException {
    server.join();
  }

  /** Ends every run, closes every connection (1001, resumable), then stops Jetty. Idempotent. */
  @Override
  public void close() {
    runlane.close();
    try {
      server.stop();
    } catch (Exception e) {
      LOG.warn("Jetty did not stop cleanly", e);
    }
    history.close();
  }

  // ================================================================ the glue: authentication

  /**
   * The WebSocket upgrade's authentication: the one-time ticket in the query is consumed here.
   * Refused (forged, replayed, expired or missing) → null → HTTP 401 before any frame.
   */
  private @Nullable String authenticate(ServerUpgradeRequest request) {
    String ticket = Request.extractQueryParameters(request).getValue("ticket");
    StreamTickets.Result r = runlane.tickets().consume(ticket);
    if (r instanceof StreamTickets.Admitted) {
      String principal = ((StreamTickets.Admitted) r).principal();
      LOG.info("{} connected from {}", principal, Request.getRemoteAddr(request));
      return principal;
    }
    LOG.info(
        "refused WebSocket upgrade from {}: ticket {}",
        Request.getRemoteAddr(request),
        ((StreamTickets.Refused) r).reason());
    return null;
  }

  /** The page, its assets and the demo login. Everything else is 404. */
  private final class AppHandler extends Handler.Abstract {
    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
      String path = Request.getPathInContext(request);
      String method = request.getMethod();
      response.getHeaders().put("X-Content-Type-Options", "nosniff");
      if ("/api/ticket".equals(path)) {
        if (!HttpMethod.POST.is(method)) {
          response.getHeaders().put(HttpHeader.ALLOW, "POST");
          writeJson(response, callback, HttpStatus.METHOD_NOT_ALLOWED_405, Map.of("error", "use POST"));
          return true;
        }
        issueTicket(request, response, callback);
        return true;
      }
      if ("/api/history".equals(path) && HttpMethod.GET.is(method)) {
        sendHistory(request, response, callback);
        return true;
      }
      if (path.startsWith("/api/rooms")) {
        handleRooms(path, method, request, response, callback);
        return true;
      }
      String[] r = STATIC.get(path);
      if (r == null || !(HttpMethod.GET.is(method) || HttpMethod.HEAD.is(method))) {
        return false;
      }
      byte[] body = Objects.requireNonNull(resources.get(r[0]));
      response.setStatus(HttpStatus.OK_200);
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, r[1]);
      response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
      response.getHeaders().put(
          "Content-Security-Policy",
          "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'");
      response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
      response.write(true, HttpMethod.HEAD.is(method) ? ByteBuffer.allocate(0) : ByteBuffer.wrap(body), callback);
      return true;
    }
  }

  // ================================================================ the glue: tickets

  /**
   * {@code POST /api/ticket} with {@code name=<user>} (form body or query): the demo's login. A real
   * host authenticates the user here (session cookie, OAuth, …) and issues the ticket to the
   * principal it resolved; the demo trusts the name.
   */
  private void issueTicket(Request request, Response response, Callback callback) throws IOException {
    String name = Request.extractQueryParameters(request).getValue("name");
    if (name == null) {
      Fields form;
      try {
        form = FormFields.getFields(request, 4, 1024);
      } catch (RuntimeException e) {
        writeJson(response, callback, HttpStatus.BAD_REQUEST_400, Map.of("error", "unreadable form body"));
        return;
      }
      name = form.getValue("name");
    }
    if (name == null || !NAME.matcher(name).matches()) {
      writeJson(
          response,
          callback,
          HttpStatus.BAD_REQUEST_400,
          Map.of("error", "name must be 1-32 letters, digits, '.', '_' or '-'"));
      return;
    }
    StreamTickets.Ticket t;
    try {
      t = runlane.tickets().issue(name, null);
    } catch (IllegalStateException e) {
      writeJson(response, callback, HttpStatus.SERVICE_UNAVAILABLE_503, Map.of("error", "too many tickets; retry later"));
      return;
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("ticket", t.token());
    body.put("principal", t.principal());
    body.put("sessionId", name + "/chat");
    body.put("expiresAt", t.expiresAtEpochMillis());
    writeJson(response, callback, HttpStatus.OK_200, body);
  }

  /**
   * {@code GET /api/history?name=<user>}: the user's earlier turns from the database, oldest first,
   * so a new tab shows the whole conversation before it resumes the live run. (The demo trusts the
   * name, as its login does; a real host takes the user from its authenticated session.)
   */
  private void sendHistory(Request request, Response response, Callback callback) throws IOException {
    Fields q = Request.extractQueryParameters(request);
    String name = q.getValue("name");
    if (name == null || !NAME.matcher(name).matches()) {
      writeJson(response, callback, HttpStatus.BAD_REQUEST_400, Map.of("error", "name must be 1-32 letters, digits, '.', '_' or '-'"));
      return;
    }
    String session = q.getValue("session");
    if (session == null) {
      session = name + "/chat";
    }
    String room = Rooms.roomOf(session);
    boolean allowed = room == null ? session.equals(name + "/chat") : rooms.isMember(room, name);
    if (!allowed) {
      writeJson(response, callback, HttpStatus.NOT_FOUND_404, Map.of("error", "no such session"));
      return;
    }
    writeJson(response, callback, HttpStatus.OK_200, Map.of("turns", history.turns(session, 200)));
  }

  /**
   * Rooms: {@code GET /api/rooms?name=} lists the user's rooms (members, who is online); {@code POST
   * /api/rooms} with {@code name, room} creates one owned by the user; {@code POST /api/rooms/invite}
   * with {@code name, room, user} lets the owner add a member. The demo trusts {@code name}, as its
   * login does.
   */
  private void handleRooms(String path, String method, Request request, Response response, Callback callback)
      throws IOException {
    Fields q = Request.extractQueryParameters(request);
    Fields form = null;
    if (HttpMethod.POST.is(method)) {
      try {
        form = FormFields.getFields(request, 8, 2048);
      } catch (RuntimeException e) {
        writeJson(response, callback, HttpStatus.BAD_REQUEST_400, Map.of("error", "unreadable form body"));
        return;
      }
    }
    String name = param(q, form, "name");
    if (name == null || !NAME.matcher(name).matches()) {
      writeJson(response, callback, HttpStatus.BAD_REQUEST_400, Map.of("error", "name must be 1-32 letters, digits, '.', '_' or '-'"));
      return;
    }
    if ("/api/rooms".equals(path) && HttpMethod.GET.is(method)) {
      List<Map<String, Object>> out = new ArrayList<>();
      for (Rooms.Room r : rooms.roomsOf(name)) {
        out.add(roomJson(r));
      }
      writeJson(response, callback, HttpStatus.OK_200, Map.of("rooms", out));
      return;
    }
    if (!HttpMethod.POST.is(method)) {
      response.getHeaders().put(HttpHeader.ALLOW, "POST");
      writeJson(response, callback, HttpStatus.METHOD_NOT_ALLOWED_405, Map.of("error", "use POST"));
      return;
    }
    String room = param(q, form, "room");
    if (room == null || !Rooms.NAME.matcher(room).matches()) {
      writeJson(response, callback, HttpStatus.BAD_REQUEST_400, Map.of("error", "room must be 1-32 letters, digits, '.', '_' or '-'"));
      return;
    }
    if ("/api/rooms".equals(path)) {
      if (!rooms.create(room, name) && !rooms.isMember(room, name)) {
        writeJson(response, callback, HttpStatus.CONFLICT_409, Map.of("error", "that room name is taken"));
        return;
      }
      LOG.info("{} created room {}", name, room);
      writeJson(response, callback, HttpStatus.OK_200, roomJson(Objects.requireNonNull(rooms.roomFor(room, name))));
      return;
    }
    if ("/api/rooms/invite".equals(path)) {
      String user = param(q, form, "user");
      if (user == null || !NAME.matcher(user).matches()) {
        writeJson(response, callback, HttpStatus.BAD_REQUEST_400, Map.of("error", "user must be 1-32 letters, digits, '.', '_' or '-'"));
        return;
      }
      switch (rooms.invite(room, name, user)) {
        case OK:
          LOG.info("{} invited {} to room {}", name, user, room);
          Rooms.Room r = Objects.requireNonNull(rooms.roomFor(room, name));
          announce(r);
          writeJson(response, callback, HttpStatus.OK_200, roomJson(r));
          return;
        case FORBIDDEN:
          writeJson(response, callback, HttpStatus.FORBIDDEN_403, Map.of("error", "only the room's owner invites"));
          return;
        default:
          writeJson(response, callback, HttpStatus.NOT_FOUND_404, Map.of("error", "no such room"));
          return;
      }
    }
    writeJson(response, callback, HttpStatus.NOT_FOUND_404, Map.of("error", "no such endpoint"));
  }

  private Map<String, Object> roomJson(Rooms.Room r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("room", r.name());
    m.put("sessionId", r.sessionId());
    m.put("owner", r.owner());
    m.put("members", r.members());
    m.put("online", online(r));
    return m;
  }

  private static @Nullable String param(Fields query, @Nullable Fields form, String key) {
    String v = query.getValue(key);
    return v != null || form == null ? v : form.getValue(key);
  }

  private void writeJson(Response response, Callback callback, int status, Map<String, ?> body)
      throws IOException {
    byte[] bytes = json.writeValueAsBytes(body);
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
    response.write(true, ByteBuffer.wrap(bytes), callback);
  }

  private static byte[] readResource(String name) {
    String path = CLIENT_SCRIPT.equals(name) ? clientScriptPath() : "web/" + name;
    try (InputStream in = ChatServer.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + path);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new IllegalStateException("cannot read resource " + path, e);
    }
  }

  /** Where the WebJar keeps the client script; its properties file names the versioned path. */
  private static String clientScriptPath() {
    java.util.Properties p = new java.util.Properties();
    try (InputStream in = ChatServer.class.getResourceAsStream("/META-INF/runlane-client-js.properties")) {
      if (in == null) {
        throw new IllegalStateException("runlane-client-js (the WebJar) is not on the classpath");
      }
      p.load(in);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the runlane-client-js properties", e);
    }
    return "/" + Objects.requireNonNull(p.getProperty("script"), "script");
  }

  /** The UTF-8 text of a page resource, for tests. */
  static String resourceText(String name) {
    return new String(readResource(name), StandardCharsets.UTF_8);
  }

  /**
   * Configures a {@link ChatServer}.
   *
   * <p><b>Thread safety:</b> not thread-safe.
   */
  public static final class Builder {
    private String host = "localhost";
    private int port = 8080;
    private Duration pace = Duration.ofMillis(30);
    private int approvalEvery;
    private @Nullable String historyUrl;
    private Duration ticketTtl = Duration.ofSeconds(60);
    private @Nullable TimeSource timeSource;
    private @Nullable Duration heartbeatInterval;
    private @Nullable Duration idleTimeout;
    private int replayCapacity;
    private boolean streamTransport;
    private @Nullable Engine engine;

    private Builder() {}

    /**
     * Where runs live; default Runlane's in-memory engine. A {@code RedisEngine} (module {@code
     * cluster-redis}) on a Redis shared by several servers makes them one chat service: a page can
     * reconnect to any of them and resume exactly ({@code docs/concepts/cluster.md}). The server
     * closes it on {@link ChatServer#close()}.
     */
    public Builder engine(Engine engine) {
      this.engine = Objects.requireNonNull(engine, "engine");
      return this;
    }

    /**
     * Runlane's liveness timing: a connection that shows no life for {@code heartbeatInterval} is
     * pinged (WebSocket pings, which browsers answer by themselves), one that shows none for {@code
     * idleTimeout} is closed with 4001. Default Runlane's: 30 s and 90 s.
     */
    public Builder liveness(Duration heartbeatInterval, Duration idleTimeout) {
      this.heartbeatInterval = Objects.requireNonNull(heartbeatInterval, "heartbeatInterval");
      this.idleTimeout = Objects.requireNonNull(idleTimeout, "idleTimeout");
      return this;
    }

    /** The interface to bind; default {@code localhost}. Use {@code 0.0.0.0} to accept others. */
    public Builder host(String host) {
      this.host = Objects.requireNonNull(host, "host");
      return this;
    }

    /** The port; 0 picks a free one. Default 8080. */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port out of range: " + port);
      }
      this.port = port;
      return this;
    }

    /** The agent's pause before each token; default 30 ms. */
    public Builder pace(Duration pace) {
      this.pace = Objects.requireNonNull(pace, "pace");
      return this;
    }

    /**
     * Ask for a tool approval on every n-th run too; default 0: only when the prompt calls for it
     * (contains "approve"). A server-wide counter makes other users' runs stop for approvals they
     * never asked for, so keep it for tests.
     */
    public Builder approvalEvery(int n) {
      if (n < 0) {
        throw new IllegalArgumentException("approvalEvery < 0");
      }
      this.approvalEvery = n;
      return this;
    }

    /**
     * The JDBC URL of the conversation history, e.g. {@code jdbc:h2:file:./chat-history}; default a
     * fresh in-memory H2 database per server.
     */
    public Builder historyUrl(String jdbcUrl) {
      this.historyUrl = Objects.requireNonNull(jdbcUrl, "jdbcUrl");
      return this;
    }

    /** Stream ticket lifetime; default 60 s. */
    public Builder ticketTtl(Duration ttl) {
      this.ticketTtl = Objects.requireNonNull(ttl, "ttl");
      return this;
    }

    /** Runlane's clock and timers (tickets, retention, heartbeats); default the system clock. */
    public Builder timeSource(TimeSource time) {
      this.timeSource = Objects.requireNonNull(time, "time");
      return this;
    }

    /**
     * Events kept per run for resume (Runlane's {@code replayCapacity}); default Runlane's (1,024).
     * Small values let tests and demos show truncation.
     */
    public Builder replayCapacity(int events) {
      if (events < 1) {
        throw new IllegalArgumentException("replayCapacity < 1");
      }
      this.replayCapacity = events;
      return this;
    }

    /**
     * Offer clients a second socket for the stream lane (Runlane's stream transport): the welcome
     * says {@code streamTransport: true} and {@code /ws?ticket=…&primary=<id>&generation=<n>} pairs
     * a socket with its primary connection. Default false.
     */
    public Builder streamTransport(boolean enabled) {
      this.streamTransport = enabled;
      return this;
    }

    /** The server, not started yet. */
    public ChatServer build() {
      return new ChatServer(this);
    }
  }
}
