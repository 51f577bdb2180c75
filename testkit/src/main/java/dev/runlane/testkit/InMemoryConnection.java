package dev.runlane.testkit;

import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.Frame;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Payload;
import dev.runlane.transport.SendCallback;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * A scriptable in-memory {@link Connection} that records what it is sent and how it is closed,
 * and lets a test play the client (inbound frames, closing) and the network (slow, failing,
 * throwing sends).
 *
 * <p>Modes: {@link Mode#AUTO} completes each send at once (the frame is "on the wire"); {@link
 * Mode#MANUAL} holds sends until the test calls {@link #completeNext}/{@link #completeAll} (a slow
 * or stalled client); {@link Mode#FAIL} reports failure; {@link Mode#THROW} throws from {@code
 * send}. A frame is recorded as received only when its send completes successfully.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; callbacks run on the thread that completes
 * them, outside this object's lock (rule T2.3).
 */
public final class InMemoryConnection implements Connection {

  /** How sends complete. */
  public enum Mode {
    AUTO,
    MANUAL,
    FAIL,
    THROW
  }

  private record Pending(Frame frame, SendCallback callback) {}

  private final String id;
  private final String principal;
  private final Set<Capability> capabilities;
  private final List<Frame> received = new ArrayList<>();
  private final ArrayDeque<Pending> pending = new ArrayDeque<>();
  private final List<CloseReason> closeRequests = new ArrayList<>();
  private Mode mode = Mode.AUTO;
  private boolean open = true;
  private boolean terminated;
  private boolean closeHandshakeHangs;
  private @Nullable InboundHandler handler;
  private int sendCalls;
  private int concurrentSends;
  private int maxConcurrentSends;
  private int pings;
  private boolean answerPings = true;
  private volatile Consumer<Frame> onFrame = f -> {};

  /** Creates an open connection; register it with {@code runlane.connect(...)} or {@link InMemoryTransport}. */
  public InMemoryConnection(String id, String principal, Set<Capability> capabilities) {
    this.id = Objects.requireNonNull(id, "id");
    this.principal = Objects.requireNonNull(principal, "principal");
    this.capabilities = capabilities.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(capabilities));
  }

  /** Where inbound frames and the close are reported (set by {@link InMemoryTransport}). */
  public synchronized void bind(InboundHandler handler) {
    this.handler = handler;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String principal() {
    return principal;
  }

  @Override
  public Set<Capability> capabilities() {
    return capabilities;
  }

  @Override
  public synchronized boolean isOpen() {
    return open;
  }

  @Override
  public void send(Frame frame, SendCallback callback) {
    Mode m;
    boolean isOpen;
    synchronized (this) {
      sendCalls++;
      concurrentSends++;
      maxConcurrentSends = Math.max(maxConcurrentSends, concurrentSends);
      m = mode;
      isOpen = open;
      if (isOpen && m == Mode.AUTO) {
        received.add(frame);
      } else if (isOpen && m == Mode.MANUAL) {
        pending.addLast(new Pending(frame, callback));
      }
    }
    try {
      if (!isOpen) {
        callback.failed(new IllegalStateException("connection " + id + " is closed"));
      } else if (m == Mode.AUTO) {
        onFrame.accept(frame);
        callback.succeeded();
      } else if (m == Mode.FAIL) {
        callback.failed(new java.io.IOException("scripted send failure on " + id));
      } else if (m == Mode.THROW) {
        throw new IllegalStateException("scripted send exception on " + id);
      }
    } finally {
      synchronized (this) {
        concurrentSends--;
      }
    }
  }

  @Override
  public void close(CloseReason reason) {
    InboundHandler h;
    List<Pending> dropped;
    synchronized (this) {
      closeRequests.add(reason);
      if (!open) {
        return;
      }
      if (closeHandshakeHangs) {
        return; // the peer never answers; only terminate() will end it
      }
      open = false;
      dropped = new ArrayList<>(pending);
      pending.clear();
      h = handler;
    }
    failAll(dropped);
    if (h != null) {
      h.onClose(reason);
    }
  }

  @Override
  public void terminate() {
    InboundHandler h;
    List<Pending> dropped;
    boolean wasOpen;
    synchronized (this) {
      terminated = true;
      wasOpen = open;
      open = false;
      dropped = new ArrayList<>(pending);
      pending.clear();
      h = handler;
    }
    failAll(dropped);
    if (wasOpen && h != null) {
      h.onClose(new CloseReason(1006, "terminated"));
    }
  }

  private void failAll(List<Pending> dropped) {
    for (Pending p : dropped) {
      p.callback.failed(new IllegalStateException("connection " + id + " closed"));
    }
  }

  // ------------------------------------------------------------ scripting the network

  /** Sets how later sends complete. */
  public synchronized InMemoryConnection mode(Mode mode) {
    this.mode = Objects.requireNonNull(mode);
    return this;
  }

  /** Makes {@link #close} record the request but never complete (only {@link #terminate} ends it). */
  public synchronized InMemoryConnection closeHandshakeHangs(boolean hangs) {
    this.closeHandshakeHangs = hangs;
    return this;
  }

  /**
   * Calls {@code listener} with each frame as it is received (recorded by a successful send), on the
   * thread that completes the send, outside this connection's lock and before the send's callback
   * runs. One listener; a new one replaces the old. For harnesses that react to frames as they
   * arrive instead of polling {@link #frames()}; it must not block.
   */
  public InMemoryConnection onFrame(Consumer<Frame> listener) {
    this.onFrame = Objects.requireNonNull(listener, "listener");
    return this;
  }

  /** Completes the oldest held send successfully; returns false if none was held. */
  public boolean completeNext() {
    Pending p;
    synchronized (this) {
      p = pending.pollFirst();
      if (p == null) {
        return false;
      }
      if (open) {
        received.add(p.frame);
      }
    }
    onFrame.accept(p.frame);
    p.callback.succeeded();
    return true;
  }

  /** Completes held sends, also those queued by the completions themselves, until none is held. */
  public int completeAll() {
    int n = 0;
    while (completeNext()) {
      n++;
    }
    return n;
  }

  /** Fails the oldest held send; returns false if none was held. */
  public boolean failNext() {
    Pending p;
    synchronized (this) {
      p = pending.pollFirst();
    }
    if (p == null) {
      return false;
    }
    p.callback.failed(new java.io.IOException("scripted failure on " + id));
    return true;
  }

  /** Sends held (in flight, not completed). */
  public synchronized int heldSends() {
    return pending.size();
  }

  // ------------------------------------------------------------ playing the client

  /** The client sends a text frame. */
  public void sendText(String text) {
    handler().onFrame(Payload.text(text));
  }

  /** The client sends a frame. */
  public void sendPayload(Payload payload) {
    handler().onFrame(payload);
  }

  /** The client shows it is alive (a pong). */
  public void activity() {
    handler().onActivity();
  }

  /**
   * A transport-level ping (rule T8.2; Runlane calls it only if the connection declares {@link
   * Capability#TRANSPORT_PING}). Counted; answered at once with a pong ({@link #activity()}) unless
   * {@link #answerPings(boolean) answerPings(false)}, as a browser answers WebSocket pings without
   * page code. Does nothing once closed.
   */
  @Override
  public void ping() {
    boolean answer;
    synchronized (this) {
      if (!open) {
        return;
      }
      pings++;
      answer = answerPings && handler != null;
    }
    if (answer) {
      activity();
    }
  }

  /** Whether {@link #ping()} is answered with a pong; default true. Returns this. */
  public synchronized InMemoryConnection answerPings(boolean answer) {
    this.answerPings = answer;
    return this;
  }

  /** How many transport pings Runlane sent. */
  public synchronized int pings() {
    return pings;
  }

  /** The client (or the network) closes the connection. */
  public void clientClose(CloseReason reason) {
    InboundHandler h;
    List<Pending> dropped;
    synchronized (this) {
      if (!open) {
        return;
      }
      open = false;
      dropped = new ArrayList<>(pending);
      pending.clear();
      h = handler;
    }
    failAll(dropped);
    if (h != null) {
      h.onClose(reason);
    }
  }

  private synchronized InboundHandler handler() {
    InboundHandler h = handler;
    if (h == null) {
      throw new IllegalStateException("connection " + id + " is not bound to Runlane");
    }
    return h;
  }

  // ------------------------------------------------------------ what happened

  /** Frames whose sends completed successfully, in order. */
  public synchronized List<Frame> frames() {
    return List.copyOf(received);
  }

  /**
   * Received frames parsed into messages: {@link TextCodec}'s frames with {@link TextCodec#parse},
   * JSON frames (protocol-json's codec) with {@link WireMessage#fromJson}, so {@link
   * RunlaneAssertions} work with either codec; a frame that joins several JSON messages (protocol
   * 3, on a connection opened with {@code JOINED_MESSAGES}) gives each of them ({@link
   * WireMessage#allOf}).
   */
  public List<WireMessage> messages() {
    List<WireMessage> out = new ArrayList<>();
    boolean joins = capabilities.contains(Capability.JOINED_MESSAGES); // elsewhere a join is a bug: fail loudly
    for (Frame f : frames()) {
      if (joins) {
        out.addAll(WireMessage.allOf(f.payload()));
      } else {
        out.add(WireMessage.of(f.payload()));
      }
    }
    return out;
  }

  /** Received messages of one type. */
  public List<WireMessage> messages(String type) {
    return messages(m -> m.type().equals(type));
  }

  /** Received messages matching {@code p}. */
  public List<WireMessage> messages(Predicate<WireMessage> p) {
    List<WireMessage> out = new ArrayList<>();
    for (WireMessage m : messages()) {
      if (p.test(m)) {
        out.add(m);
      }
    }
    return out;
  }

  /** The last message of a type, or null. */
  public @Nullable WireMessage last(String type) {
    List<WireMessage> l = messages(type);
    return l.isEmpty() ? null : l.get(l.size() - 1);
  }

  /** Forgets received frames (keeps everything else). */
  public synchronized void clearReceived() {
    received.clear();
  }

  /** Every close Runlane asked for, in order (normally at most one takes effect). */
  public synchronized List<CloseReason> closeRequests() {
    return List.copyOf(closeRequests);
  }

  /** The first close Runlane asked for, or null. */
  public synchronized @Nullable CloseReason closeReason() {
    return closeRequests.isEmpty() ? null : closeRequests.get(0);
  }

  /** Whether Runlane terminated the connection. */
  public synchronized boolean terminated() {
    return terminated;
  }

  /** How many times Runlane called send. */
  public synchronized int sendCalls() {
    return sendCalls;
  }

  /** The most sends that were inside {@code send} at once (rule T2.5 says 1). */
  public synchronized int maxConcurrentSends() {
    return maxConcurrentSends;
  }

  @Override
  public String toString() {
    return "InMemoryConnection[" + id + ", " + principal + "]";
  }
}
