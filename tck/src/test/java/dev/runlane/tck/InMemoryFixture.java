package dev.runlane.tck;

import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.Frame;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Payload;
import dev.runlane.transport.support.SerialInbound;
import java.io.IOException;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The kit's fixture for the testkit's in-memory transport: the server side of each connection is a
 * {@link InMemoryConnection}; the peer plays its client. What the connection "writes" (its
 * successfully completed sends and its close) is carried to the peer's recording by a pump thread.
 * A paused peer is the connection in {@link InMemoryConnection.Mode#MANUAL} mode: sends stay in
 * flight until the peer resumes.
 *
 * <p>The broken-transport catalogue reuses it with a wrapper around the server side and another
 * inbound path.
 */
class InMemoryFixture implements TransportFixture {

  private static final Set<Capability> CAPABILITIES = EnumSet.of(Capability.BINARY, Capability.STREAM_TRANSPORT);
  private static final AtomicInteger IDS = new AtomicInteger();

  private final Function<InMemoryConnection, Connection> serverSide;
  private final boolean serialInbound;
  private final Set<Capability> capabilities;
  private final boolean pausable;
  private final List<Peer> peers = new CopyOnWriteArrayList<>();
  private @Nullable ConnectionSink sink;
  private @Nullable Thread pump;
  private volatile boolean running;

  InMemoryFixture() {
    this(c -> c, true);
  }

  /**
   * @param serverSide what the sink gets for each in-memory connection (a broken wrapper, or it)
   * @param serialInbound whether inbound events go through {@link SerialHandler} (else through
   *     {@link BrokenTransports.PoolInbound}, which breaks T7.1)
   */
  InMemoryFixture(Function<InMemoryConnection, Connection> serverSide, boolean serialInbound) {
    this(serverSide, serialInbound, CAPABILITIES, true);
  }

  /** A correct transport with fewer abilities: the given capabilities, peers that may not pause. */
  InMemoryFixture(Set<Capability> capabilities, boolean pausable) {
    this(c -> c, true, capabilities, pausable);
  }

  private InMemoryFixture(
      Function<InMemoryConnection, Connection> serverSide,
      boolean serialInbound,
      Set<Capability> capabilities,
      boolean pausable) {
    this.serverSide = serverSide;
    this.serialInbound = serialInbound;
    this.capabilities = capabilities;
    this.pausable = pausable;
  }

  @Override
  public void start(ConnectionSink sink) {
    this.sink = sink;
    running = true;
    Thread t = new Thread(this::pumpLoop, "in-memory-fixture-pump");
    t.setDaemon(true);
    t.start();
    pump = t;
  }

  @Override
  public ClientPeer connect(String principal) {
    return open(principal, null, 0);
  }

  @Override
  public ClientPeer connectStream(String principal, String connectionId, long generation) {
    return open(principal, connectionId, generation);
  }

  private ClientPeer open(String principal, @Nullable String pairWith, long generation) {
    ConnectionSink s = sink;
    if (s == null) {
      throw new IllegalStateException("not started");
    }
    InMemoryConnection c = new InMemoryConnection("mem-" + IDS.incrementAndGet(), principal, capabilities);
    SerialHandler serial = serialInbound ? new SerialHandler() : null;
    BrokenTransports.PoolInbound pool = serialInbound ? null : new BrokenTransports.PoolInbound();
    c.bind(serial != null ? serial : Objects.requireNonNull(pool));
    Peer peer = new Peer(c, pausable);
    peers.add(peer);
    Connection server = serverSide.apply(c);
    Supplier<InboundHandler> register =
        () -> pairWith == null ? s.accept(server) : s.acceptStream(server, pairWith, generation);
    if (serial != null) {
      serial.open(register);
    } else {
      Objects.requireNonNull(pool).bind(register.get());
    }
    return peer;
  }

  private void pumpLoop() {
    while (running) {
      for (Peer p : peers) {
        p.pump();
      }
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  @Override
  public void close() throws Exception {
    running = false;
    Thread t = pump;
    if (t != null) {
      t.interrupt();
      t.join(1000);
    }
    for (Peer p : peers) {
      p.close();
    }
  }

  /** The client end of one in-memory connection. */
  static final class Peer implements ClientPeer {
    private final InMemoryConnection c;
    private final PeerRecording recording = new PeerRecording();
    private int delivered; // guarded by this
    private boolean ended; // guarded by this
    private @Nullable CloseReason ownClose; // guarded by this
    private volatile boolean paused;
    private final boolean pausable;

    Peer(InMemoryConnection c, boolean pausable) {
      this.c = c;
      this.pausable = pausable;
    }

    /** Carries what the server side wrote (and its close) to the recording. */
    synchronized void pump() {
      if (ended) {
        return;
      }
      if (!paused) {
        c.completeAll(); // sends that slipped in while resuming
      }
      boolean open = c.isOpen();
      List<Frame> frames = c.frames(); // final once closed: nothing is recorded after the close
      for (int i = delivered; i < frames.size(); i++) {
        Payload p = frames.get(i).payload();
        if (p instanceof Payload.Text) {
          recording.text(((Payload.Text) p).text());
        } else {
          recording.binary(((Payload.Binary) p).toByteArray());
        }
      }
      delivered = frames.size();
      if (open) {
        return;
      }
      ended = true;
      CloseReason own = ownClose;
      CloseReason server = c.closeReason();
      if (own != null) {
        recording.closed(own.code(), own.reason()); // the server's echo of our close
      } else if (c.terminated()) {
        recording.failed(new IOException("connection dropped by terminate()"));
      } else if (server != null) {
        recording.closed(server.code(), server.reason());
      } else {
        recording.failed(new IOException("connection ended without a close"));
      }
    }

    @Override
    public PeerRecording recording() {
      return recording;
    }

    @Override
    public void sendText(String text) throws IOException {
      requireOpen();
      c.sendText(text);
    }

    @Override
    public void sendBinary(byte[] bytes) throws IOException {
      requireOpen();
      c.sendPayload(Payload.binary(bytes));
    }

    private void requireOpen() throws IOException {
      if (!c.isOpen()) {
        throw new IOException("closed");
      }
    }

    @Override
    public void sendClose(int code, String reason) {
      synchronized (this) {
        if (c.isOpen() && ownClose == null) {
          ownClose = new CloseReason(code, reason);
        }
      }
      c.clientClose(new CloseReason(code, reason));
    }

    @Override
    public void abort() {
      recording.aborted();
      c.clientClose(new CloseReason(1006, "the peer dropped the connection"));
    }

    @Override
    public boolean canPauseReading() {
      return pausable;
    }

    @Override
    public void pauseReading() {
      if (!pausable) {
        throw new UnsupportedOperationException("this peer cannot stop reading");
      }
      paused = true;
      c.mode(InMemoryConnection.Mode.MANUAL);
    }

    @Override
    public void resumeReading() {
      c.completeAll();
      c.mode(InMemoryConnection.Mode.AUTO);
      c.completeAll();
      paused = false;
    }

    @Override
    public void close() {
      if (c.isOpen()) {
        c.mode(InMemoryConnection.Mode.AUTO);
        c.clientClose(new CloseReason(1006, "peer released"));
      }
    }
  }

  /**
   * The host glue of a correct transport, as the real adapters do it on the SPI's {@link
   * SerialInbound}: the registration is the first task, so events that arrive meanwhile wait for the
   * handler; then frames in order, never concurrently, and the close once, after the last frame;
   * frames after the close are dropped (rules T7.1, T7.2, T4.5). A close Runlane requests from
   * inside a frame runs after that frame, not inside it.
   */
  private static final class SerialHandler implements InboundHandler {

    private final SerialInbound serial =
        new SerialInbound(
            failure ->
                Thread.currentThread()
                    .getUncaughtExceptionHandler()
                    .uncaughtException(Thread.currentThread(), failure));

    // Read and written only by tasks running in `serial`, which orders them.
    private @Nullable InboundHandler target;
    private boolean closed;

    /** Registers the connection on this thread (the serializer is idle); rethrows what it threw. */
    void open(Supplier<InboundHandler> register) {
      RuntimeException[] failed = new RuntimeException[1];
      serial.execute(
          () -> {
            try {
              target = register.get();
            } catch (RuntimeException e) {
              failed[0] = e;
            }
          });
      if (failed[0] != null) {
        throw failed[0];
      }
    }

    @Override
    public void onFrame(Payload payload) {
      serial.execute(
          () -> {
            InboundHandler h = target;
            if (h != null && !closed) {
              h.onFrame(payload);
            }
          });
    }

    @Override
    public void onActivity() {
      serial.execute(
          () -> {
            InboundHandler h = target;
            if (h != null && !closed) {
              h.onActivity();
            }
          });
    }

    @Override
    public void onClose(CloseReason reason) {
      serial.execute(
          () -> {
            InboundHandler h = target;
            if (h != null && !closed) {
              closed = true;
              h.onClose(reason);
            }
          });
    }
  }
}
