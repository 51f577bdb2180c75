package dev.runlane;

import dev.runlane.codec.Outbound;
import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Payload;
import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live connections of this node, by id: registration with its welcome frame, stream-transport
 * pairing, host-side disconnects, and removal when a connection closes. Inbound frames are handed
 * to the command dispatcher through a plain function, so this registry depends on no part that
 * executes commands.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
final class Connections implements ConnectionState.Owner {
  private static final Logger LOG = LoggerFactory.getLogger(Connections.class);

  private final HostHooks hooks;
  private final BiConsumer<ConnectionState, Payload> inbound;
  private final String serverEpoch;
  private final ConcurrentHashMap<String, ConnectionState> connections = new ConcurrentHashMap<>();
  private final AtomicLong generations = new AtomicLong();
  private final @Nullable WriteLoops writeLoops;

  /** @param writeLoops the write threads connections are drained by, or null to drain inline */
  Connections(
      HostHooks hooks,
      String serverEpoch,
      BiConsumer<ConnectionState, Payload> inbound,
      @Nullable WriteLoops writeLoops) {
    this.hooks = hooks;
    this.writeLoops = writeLoops;
    this.serverEpoch = serverEpoch;
    this.inbound = inbound;
  }

  InboundHandler connect(Connection connection) {
    ConnectionState c =
        new ConnectionState(
            this,
            hooks,
            connection,
            generations.incrementAndGet(),
            // write threads batch; a transport that writes every send at once gains nothing from them
            writeLoops == null || !connection.capabilities().contains(Capability.BATCHING)
                ? null
                : writeLoops.loopFor(connection.id()));
    ConnectionState prev = connections.putIfAbsent(c.id, c);
    if (prev != null) {
      throw new IllegalStateException("a live connection already has id " + c.id + " (rule T1.1)");
    }
    LOG.debug("connection {} opened for {}", c.id, c.principal);
    c.sendControl(
        new Outbound.Welcome(
            c.id, c.generation, serverEpoch, connection.capabilities().contains(Capability.STREAM_TRANSPORT)));
    if (!connection.isOpen()) {
      c.closeLocally(CloseReason.NORMAL, false);
    }
    return c;
  }

  InboundHandler connectStream(Connection streamTransport, String connectionId, long generation) {
    ConnectionState c = connections.get(connectionId);
    boolean eligible =
        c != null
            && !c.isClosed()
            && c.generation == generation
            && c.principal.equals(streamTransport.principal())
            && c.connection.capabilities().contains(Capability.STREAM_TRANSPORT);
    if (eligible && c != null) {
      // A paired pair sends acks on the primary and events on the stream transport: an event may
      // reach the client before the ack that tells it the run's session and epoch, so events go
      // out in full, self-describing form on a paired connection (protocol.md, compact frames).
      // Pinned before pairing, so no compact frame precedes it.
      c.pinFullFrames();
    }
    boolean ok = eligible && c != null && c.outbox.pairStream(streamTransport);
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

  @Nullable ConnectionState get(String connectionId) {
    return connections.get(connectionId);
  }

  int size() {
    return connections.size();
  }

  Collection<ConnectionState> all() {
    return connections.values();
  }

  @Override
  public void inbound(ConnectionState c, Payload payload) {
    inbound.accept(c, payload);
  }

  @Override
  public void closed(ConnectionState c, CloseReason reason) {
    connections.remove(c.id, c);
  }
}
