package dev.runlane.tck;

import dev.runlane.transport.Capability;
import dev.runlane.transport.Connection;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Payload;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.TestInfo;

/**
 * The state of one kit test: the fixture, the recorder of server connections, the peers, a helper
 * thread pool and the seeded random. Closed after the test.
 */
final class Bench implements AutoCloseable {

  /** The most sends the kit keeps outstanding on one connection, like Runlane's default (T2.5). */
  static final int MAX_IN_FLIGHT = 64;

  /** Both ends of one connection. */
  static final class Link {
    final String principal;
    final ClientPeer peer;
    final Connection connection;
    final ServerRecorder.Accepted accepted;

    Link(String principal, ClientPeer peer, ServerRecorder.Accepted accepted) {
      this.principal = principal;
      this.peer = peer;
      this.connection = accepted.connection;
      this.accepted = accepted;
    }

    RecordingHandler handler() {
      return accepted.recording();
    }
  }

  final Checks checks;
  final Random random;
  final TransportFixture fixture;
  final ServerRecorder server;
  final ExecutorService helpers;
  private final List<ClientPeer> peers = new ArrayList<>();
  private final String tag;
  private final AtomicInteger count = new AtomicInteger();

  Bench(TckSettings settings, TestInfo info, TransportFixture fixture, ServerRecorder server)
      throws Exception {
    this.checks = new Checks(settings);
    String name = info.getTestMethod().map(m -> m.getName()).orElse(info.getDisplayName());
    this.random = new Random(settings.seed() ^ name.hashCode());
    this.tag = Integer.toString(Math.abs(name.hashCode() % 10_000), 36)
        + Long.toString(Math.abs(random.nextLong() % 1_000_000), 36);
    this.fixture = fixture;
    this.server = server;
    AtomicInteger threads = new AtomicInteger();
    this.helpers =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "runlane-tck-helper-" + threads.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    fixture.start(server);
  }

  /** A principal unique to this test and peer. */
  String principal(String who) {
    return "tck-" + who + "-" + tag + "-" + count.incrementAndGet();
  }

  /** Connects a new peer and waits for its server side. */
  Link connect() {
    return connect(principal("p"));
  }

  Link connect(String principal) {
    ClientPeer peer;
    try {
      peer = fixture.connect(principal);
    } catch (Exception e) {
      throw new IllegalStateException("the fixture could not connect a peer as " + principal, e);
    }
    synchronized (peers) {
      peers.add(peer);
    }
    ServerRecorder.Accepted a;
    try {
      a = server.next(principal, checks.timeout());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
    if (a == null) {
      throw checks.failure(
          Rule.T1_2,
          "no connection with principal '"
              + principal
              + "' reached the sink within "
              + checks.timeout().toMillis()
              + " ms after the peer connected as it: the server side must hand every accepted"
              + " connection to ConnectionSink.accept, with the principal the client connected as");
    }
    return new Link(principal, peer, a);
  }

  /** Opens a stream peer for {@code primary} and waits for its server side. */
  Link connectStream(Link primary, long generation) {
    ClientPeer peer;
    try {
      peer = fixture.connectStream(primary.principal, primary.connection.id(), generation);
    } catch (UnsupportedOperationException e) {
      throw checks.failure(
          Rule.T5_1,
          "the connection declares STREAM_TRANSPORT but the fixture's connectStream is not"
              + " implemented, so the capability cannot be exercised",
          e);
    } catch (Exception e) {
      throw new IllegalStateException("the fixture could not connect a stream peer", e);
    }
    synchronized (peers) {
      peers.add(peer);
    }
    ServerRecorder.Accepted a;
    try {
      a = server.nextStream(primary.principal, checks.timeout());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
    if (a == null) {
      throw checks.failure(
          Rule.T6_1,
          "no stream transport of principal '"
              + primary.principal
              + "' reached ConnectionSink.acceptStream within "
              + checks.timeout().toMillis()
              + " ms");
    }
    return new Link(primary.principal, peer, a);
  }

  /**
   * Sends the frames in order with at most {@link #MAX_IN_FLIGHT} outstanding, as Runlane does,
   * and returns their probes (not awaited).
   */
  List<SendProbe> sendAll(Connection c, List<Frame> frames) {
    List<SendProbe> probes = new ArrayList<>(frames.size());
    for (int i = 0; i < frames.size(); i++) {
      if (i >= MAX_IN_FLIGHT) {
        SendProbe older = probes.get(i - MAX_IN_FLIGHT);
        if (!older.done()) {
          flush(c); // Runlane's drain stops at its in-flight limit, and flushes
        }
        checks.await(Rule.T2_2, "the callback of " + older, older::done);
      }
      SendProbe p = new SendProbe(i + 1);
      probes.add(p);
      sendOnly(c, frames.get(i), p);
    }
    flush(c);
    return probes;
  }

  /**
   * Flushes a connection that declares {@code BATCHING} (rule T2.7), as Runlane does after the last
   * send of a drain; what it throws is ignored here (the T2.7 tests check it).
   */
  static void flush(Connection c) {
    if (c.capabilities().contains(Capability.BATCHING)) {
      try {
        c.flush();
      } catch (RuntimeException e) {
        // checked by T2_7_flushNeverBlocksNorThrows
      }
    }
  }

  /** One send and a flush (a drain of one frame); an exception from the send breaks rule T2.2. */
  void send(Connection c, Frame frame, SendProbe probe) {
    sendOnly(c, frame, probe);
    flush(c);
  }

  /** One send, no flush; an exception from it breaks rule T2.2 (failures go through the callback). */
  void sendOnly(Connection c, Frame frame, SendProbe probe) {
    try {
      c.send(frame, probe);
    } catch (RuntimeException e) {
      throw checks.failure(
          Rule.T2_2, "send threw instead of reporting through the callback", e);
    }
  }

  /** Waits until every probe completed at least once. */
  void awaitDone(Rule rule, List<SendProbe> probes) {
    for (SendProbe p : probes) {
      checks.await(rule, "the callback of " + p, p::done);
    }
  }

  /** Waits until every probe succeeded. */
  void awaitSucceeded(Rule rule, List<SendProbe> probes) {
    awaitDone(rule, probes);
    for (SendProbe p : probes) {
      checks.that(
          rule,
          p.successes() > 0,
          () -> p + " failed on an open connection: " + p.cause());
    }
  }

  /** Whether a received message is the payload, kind and bytes. */
  static boolean matches(PeerMessage m, Payload p) {
    if (p instanceof Payload.Text) {
      return m.isText(((Payload.Text) p).text());
    }
    return m.isBinary(((Payload.Binary) p).toByteArray());
  }

  /** Whether an inbound payload is exactly the expected one. */
  static boolean samePayload(Payload actual, Payload expected) {
    if (expected instanceof Payload.Text) {
      return actual instanceof Payload.Text
          && ((Payload.Text) actual).text().equals(((Payload.Text) expected).text());
    }
    return actual instanceof Payload.Binary
        && java.util.Arrays.equals(
            ((Payload.Binary) actual).toByteArray(), ((Payload.Binary) expected).toByteArray());
  }

  static String describe(Payload p) {
    return describe(p instanceof Payload.Text ? PeerMessage.text(((Payload.Text) p).text())
        : PeerMessage.binary(((Payload.Binary) p).toByteArray()));
  }

  static String describe(@Nullable PeerMessage m) {
    return String.valueOf(m);
  }

  @Override
  public void close() throws Exception {
    List<ClientPeer> all;
    synchronized (peers) {
      all = new ArrayList<>(peers);
    }
    Exception failure = null;
    for (ClientPeer p : all) {
      try {
        p.close();
      } catch (RuntimeException e) {
        failure = failure == null ? e : failure;
      }
    }
    try {
      fixture.close();
    } catch (Exception e) {
      failure = failure == null ? e : failure;
    }
    helpers.shutdownNow();
    helpers.awaitTermination(1, TimeUnit.SECONDS);
    if (failure != null) {
      throw failure;
    }
  }
}
