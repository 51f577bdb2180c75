package dev.runlane.transport.sse;

import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Payload;
import dev.runlane.transport.SendCallback;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Runlane {@link Connection} over one Server-Sent Events response, written with Jakarta Servlet
 * 6 non-blocking I/O.
 *
 * <p>Created by {@link SseRunlaneServlet} for each {@code GET} of the stream. Each frame becomes one
 * SSE event: an {@code id:} line when {@link SseEvents} gives one (run events, so that a
 * reconnecting {@code EventSource} resumes), then the text as {@code data:} lines (a text with
 * line feeds becomes several lines, which the browser joins with line feeds again). Text containing
 * a carriage return cannot travel over SSE unchanged (the browser treats it as a line end); such a
 * send fails. Binary payloads are not offered ({@code BINARY} is not declared).
 *
 * <p><b>Never blocking a Runlane thread.</b> Frames go into a FIFO queue with one drainer at a time.
 * The drainer writes while {@link ServletOutputStream#isReady()} says the container can take more,
 * and stops when it cannot; the container then calls {@link #onWritePossible()} and draining goes
 * on. A send's callback succeeds once the container accepted the frame's bytes (rule T2.6: "accepted
 * by the server's writer"): at most one frame per connection sits in the container's buffer beyond
 * what the socket took, so a client that stops reading stops the callbacks and Runlane's outbox
 * bounds the rest (rule T2.1, T2.5).
 *
 * <p><b>Closing.</b> {@link #close} queues an {@code event: runlane.close} with {@code data: <code>
 * <reason>} behind the frames already sent, then completes the response (rule T4.1). {@link
 * #terminate} completes the response at once without that event; a client reads a stream that ends
 * without {@code runlane.close} as dropped (servlets cannot reset a TCP connection). A client that
 * went away is noticed on the next write, so the servlet writes an SSE comment ({@code :}) as a
 * keep-alive every {@code keepAliveInterval}.
 *
 * <p><b>Never racing the container's end of the response.</b> Every call into the response ({@code
 * isReady}, {@code write}, {@code flush}, {@code complete}) is made holding one monitor, and the
 * container's callbacks that end the stream ({@code AsyncListener} {@code onError}, {@code
 * onComplete}, {@code onTimeout}; {@link #onError}) take it before they return, after which no call
 * is made. So the container never completes and recycles the response while a Runlane thread is
 * still inside one of its methods. Tomcat needs this (seen on 11.0.22, same code in 11.0.29): a
 * {@code flush()} that fails on a thread outside the container dispatches the error to a container
 * thread and only then records the exception on the response ({@code AbstractProcessor}, {@code
 * CLIENT_FLUSH}); if the container thread completed and recycled the request first, the exception
 * stays on the recycled processor, and the next connection that reuses it fails its first flush
 * with the old connection's error and is closed. The lock is held only for one non-blocking call.
 *
 * <p><b>Thread safety:</b> thread-safe. No lock is held while a {@link SendCallback} runs (rule
 * T2.3).
 */
public final class SseConnection implements Connection, WriteListener {

  private static final Logger LOG = LoggerFactory.getLogger(SseConnection.class);
  private static final byte[] KEEP_ALIVE = ":\n\n".getBytes(StandardCharsets.UTF_8);

  private final String id;
  private final String principal;
  private final String streamToken;
  private final AsyncContext async;
  private final ServletOutputStream out;
  private final SseEvents events;
  private final Ended ended;

  private final Queue<Item> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger drainers = new AtomicInteger();

  /** The bytes of the item being written and its callback; touched by the drainer only. */
  private @Nullable Item current;

  /** Bytes were written since the last flush; touched by the drainer only. */
  private boolean unflushed;

  /** The response was completed or failed: every later write fails. */
  private volatile boolean finished;

  /**
   * Why the container or Runlane ended the stream from outside the drainer ({@link #onError},
   * {@link #containerEnded}, {@link #terminate}); the drainer acts on it, so the response is only
   * ever touched by one thread at a time.
   */
  private volatile @Nullable CloseReason endRequested;

  /**
   * When the drainer started waiting for {@link #onWritePossible()} (nanoTime), 0 if it is not
   * waiting; read by {@link #nudge}.
   */
  private volatile long waitingSince;

  /** How the stream ended, for diagnostics; null while it lives. */
  private volatile @Nullable CloseReason endedWith;

  /** Whether {@link #nudge} has logged for this connection; touched by the servlet's timer only. */
  private boolean nudged;

  /**
   * Held for every call into the response and by the container's end callbacks; see the class
   * comment.
   */
  private final Object io = new Object();

  /** The container ended (or is ending) the response: no more calls into it. Guarded by {@link #io}. */
  private boolean containerDone;

  /** Set once the connection can no longer send; never cleared (rule T3.1). */
  private final AtomicBoolean closed = new AtomicBoolean();

  private final AtomicBoolean closeStarted = new AtomicBoolean();
  private final AtomicBoolean terminateStarted = new AtomicBoolean();

  /** How the servlet learns that the stream ended, and why. */
  interface Ended {
    void ended(SseConnection connection, CloseReason reason);
  }

  SseConnection(
      String id,
      String principal,
      String streamToken,
      AsyncContext async,
      ServletOutputStream out,
      SseEvents events,
      Ended ended) {
    this.id = Objects.requireNonNull(id, "id");
    this.principal = Objects.requireNonNull(principal, "principal");
    this.streamToken = Objects.requireNonNull(streamToken, "streamToken");
    this.async = Objects.requireNonNull(async, "async");
    this.out = Objects.requireNonNull(out, "out");
    this.events = Objects.requireNonNull(events, "events");
    this.ended = Objects.requireNonNull(ended, "ended");
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String principal() {
    return principal;
  }

  /** The secret that ties command POSTs to this stream (sent to the client as its first event). */
  String streamToken() {
    return streamToken;
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of();
  }

  @Override
  public boolean isOpen() {
    return !closed.get();
  }

  @Override
  public void send(Frame frame, SendCallback callback) {
    Once once = new Once(callback);
    if (closed.get()) {
      once.failed(new ClosedChannelException()); // T3.2
      return;
    }
    Payload payload = frame.payload();
    if (!(payload instanceof Payload.Text)) {
      once.failed(new IllegalArgumentException("SSE carries text only")); // T5.2
      return;
    }
    String text = ((Payload.Text) payload).text();
    if (text.indexOf('\r') >= 0) {
      once.failed(new IllegalArgumentException("a carriage return cannot travel in an SSE event"));
      return;
    }
    byte[] bytes;
    try {
      bytes = event(events.eventId(frame), null, text);
    } catch (RuntimeException e) {
      once.failed(e);
      return;
    }
    queue.add(new Item(bytes, once, null));
    drain();
  }

  @Override
  public void close(CloseReason reason) {
    if (terminateStarted.get() || !closeStarted.compareAndSet(false, true)) {
      return; // T4.3
    }
    closed.set(true);
    String text = reason.code() + " " + reason.reason().replace('\r', ' ').replace('\n', ' ');
    queue.add(new Item(event(null, "runlane.close", text), null, reason)); // T4.1: behind what was sent
    drain();
  }

  @Override
  public void terminate() {
    if (!terminateStarted.compareAndSet(false, true)) {
      return;
    }
    requestEnd(new CloseReason(1006, "connection terminated"));
  }

  /** Queues the first event, naming the stream token commands must carry. */
  void sendStreamToken() {
    queue.add(new Item(event(null, "runlane.stream", streamToken), null, null));
    drain();
  }

  /** Queues a keep-alive comment, which also finds out whether the client is still there. */
  void keepAlive() {
    if (!closed.get() && queue.isEmpty()) {
      queue.add(new Item(KEEP_ALIVE, null, null));
      drain();
    }
  }

  /** The client asked to close (a command POST with {@code close}): echo it and end the stream. */
  void peerClosed(CloseReason reason) {
    closeStarted.set(true);
    closed.set(true);
    String text = reason.code() + " " + reason.reason().replace('\r', ' ').replace('\n', ' ');
    queue.add(new Item(event(null, "runlane.close", text), null, reason));
    ended.ended(this, reason);
    drain();
  }

  @Override
  public void onWritePossible() {
    drain();
  }

  @Override
  public void onError(Throwable t) {
    LOG.debug("Connection {}: write failed", id, t);
    containerEnding();
    requestEnd(new CloseReason(1006, "stream write failed: " + t.getClass().getSimpleName()));
  }

  /**
   * The container completed or failed the response (the client left, a timeout, shutdown). Called
   * on the container's thread, which returns only once no Runlane thread is inside a call into the
   * response.
   */
  void containerEnded(String why) {
    containerEnding();
    requestEnd(new CloseReason(1006, why));
  }

  /** Waits until no call into the response is in progress, and allows none after. */
  private void containerEnding() {
    synchronized (io) {
      containerDone = true;
    }
  }

  /** The response, unless the container has ended it: callers hold {@link #io}. */
  private ServletOutputStream outLocked() throws ClosedChannelException {
    if (containerDone) {
      throw new ClosedChannelException();
    }
    return out;
  }

  /**
   * A safety net for a lost {@link #onWritePossible()}: if the drainer has waited for the container
   * longer than {@code after}, drain again ({@code isReady()} is asked anew and registers interest
   * again if the container still cannot take more). Called from the servlet's timer.
   *
   * @return true if it drained
   */
  boolean nudge(long nowNanos, long afterNanos) {
    long since = waitingSince;
    if (since == 0 || nowNanos - since < afterNanos || finished) {
      return false;
    }
    if (!nudged) {
      nudged = true; // once per connection: a container that loses callbacks would flood the log
      LOG.warn(
          "Connection {}: the container has not called onWritePossible() for {} ms; draining again",
          id,
          (nowNanos - since) / 1_000_000);
    }
    drain();
    return true;
  }

  /** Ends the stream from outside the drainer: recorded here, carried out by the drainer. */
  private void requestEnd(CloseReason reason) {
    closed.set(true);
    if (endRequested == null) {
      endRequested = reason;
    }
    drain();
  }

  /** The id, the principal, and for diagnostics how the stream ended or what it waits for. */
  @Override
  public String toString() {
    CloseReason end = endedWith;
    long since = waitingSince;
    return "SseConnection["
        + id
        + ", "
        + principal
        + (end != null ? ", ended: " + end.code() + " " + end.reason() : closed.get() ? ", closing" : ", open")
        + (since != 0 ? ", waiting for the container " + (System.nanoTime() - since) / 1_000_000 + " ms" : "")
        + ", queued "
        + queue.size()
        + "]";
  }

  // ---- the single drainer ----

  private void drain() {
    if (drainers.getAndIncrement() != 0) {
      return;
    }
    int missed = 1;
    do {
      drainOnce();
      missed = drainers.addAndGet(-missed);
    } while (missed != 0);
  }

  /** Writes queued items while the container can take them; run by one thread at a time. */
  private void drainOnce() {
    for (; ; ) {
      CloseReason end = endRequested;
      if (end != null && !finished) {
        finish(end);
      }
      if (finished) {
        waitingSince = 0;
        failQueued();
        return;
      }
      Item item = current;
      if (item == null) {
        item = queue.poll();
        if (item == null) {
          flushIfNeeded();
          return;
        }
      }
      boolean ready;
      try {
        synchronized (io) {
          ready = outLocked().isReady();
        }
      } catch (IOException | RuntimeException e) {
        current = item;
        finish(new CloseReason(1006, "stream unusable: " + e));
        continue;
      }
      if (!ready) {
        current = item; // the container calls onWritePossible() when it can take more
        startWaiting();
        return;
      }
      waitingSince = 0;
      current = null;
      try {
        synchronized (io) {
          outLocked().write(item.bytes);
        }
        unflushed = true;
      } catch (IOException | RuntimeException e) {
        if (item.callback != null) {
          item.callback.failed(e);
        }
        finish(new CloseReason(1006, "stream write failed: " + e.getClass().getSimpleName()));
        continue;
      }
      if (item.callback != null) {
        item.callback.succeeded();
      }
      if (item.closing != null) {
        finishAfterClose(item.closing);
        return;
      }
    }
  }

  /**
   * Flushes what the container buffers once the queue is empty. If the container cannot take more
   * now, {@code isReady()} registers for {@link #onWritePossible()}, whose drain flushes then: an
   * event never waits in the response buffer for the next write.
   */
  private void flushIfNeeded() {
    if (!unflushed) {
      return;
    }
    try {
      boolean flushed;
      synchronized (io) {
        ServletOutputStream o = outLocked();
        flushed = o.isReady();
        if (flushed) {
          o.flush();
        }
      }
      if (flushed) {
        waitingSince = 0;
        unflushed = false;
      } else {
        startWaiting(); // onWritePossible() drains again, and this flush happens then
      }
    } catch (IOException | RuntimeException e) {
      finish(new CloseReason(1006, "stream flush failed: " + e.getClass().getSimpleName()));
    }
  }

  private void startWaiting() {
    if (waitingSince == 0) {
      waitingSince = Math.max(1, System.nanoTime());
    }
  }

  /** After the close event: complete the response once the container took it. */
  private void finishAfterClose(CloseReason sent) {
    finished = true;
    endedWith = sent;
    complete();
    ended.ended(this, sent);
    failQueued();
  }

  /**
   * Ends the stream without the close event (terminate, a failed write, the container's end) and
   * reports it. Runs on the drainer only.
   */
  private void finish(CloseReason reason) {
    closed.set(true);
    boolean first = !finished;
    finished = true;
    if (first) {
      endedWith = reason;
    }
    if (first) {
      complete();
    }
    ended.ended(this, reason);
    drain();
  }

  /** Completes the response, unless the container ended it (it completes it itself then). */
  private void complete() {
    synchronized (io) {
      if (containerDone) {
        return;
      }
      try {
        async.complete();
      } catch (RuntimeException e) {
        LOG.debug("Connection {}: completing the response failed", id, e);
      }
    }
  }

  private void failQueued() {
    Item item = current;
    current = null;
    if (item != null && item.callback != null) {
      item.callback.failed(new ClosedChannelException());
    }
    for (Item i = queue.poll(); i != null; i = queue.poll()) {
      if (i.callback != null) {
        i.callback.failed(new ClosedChannelException());
      }
    }
  }

  /** One SSE event: optional id and event name, then the text as data lines. */
  static byte[] event(@Nullable String id, @Nullable String name, String text) {
    StringBuilder sb = new StringBuilder(text.length() + 32);
    if (id != null) {
      if (id.indexOf('\n') >= 0 || id.indexOf('\r') >= 0 || id.indexOf('\0') >= 0) {
        throw new IllegalArgumentException("an SSE id cannot hold CR, LF or NUL");
      }
      sb.append("id: ").append(id).append('\n');
    }
    if (name != null) {
      sb.append("event: ").append(name).append('\n');
    }
    int start = 0;
    for (; ; ) {
      int nl = text.indexOf('\n', start);
      sb.append("data: ").append(text, start, nl < 0 ? text.length() : nl).append('\n');
      if (nl < 0) {
        break;
      }
      start = nl + 1;
    }
    sb.append('\n');
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** One queued write: an event's bytes and the send's callback ({@code null} for our own events). */
  private static final class Item {
    final byte[] bytes;
    final @Nullable SendCallback callback;
    /** Set on the close event: the close it announces, after which the response completes. */
    final @Nullable CloseReason closing;

    Item(byte[] bytes, @Nullable SendCallback callback, @Nullable CloseReason closing) {
      this.bytes = bytes;
      this.callback = callback;
      this.closing = closing;
    }
  }

  /** Guarantees exactly one completion per send (rule T2.2). */
  private static final class Once implements SendCallback {
    private final SendCallback delegate;
    private final AtomicBoolean done = new AtomicBoolean();

    Once(SendCallback delegate) {
      this.delegate = delegate;
    }

    @Override
    public void succeeded() {
      if (done.compareAndSet(false, true)) {
        delegate.succeeded();
      }
    }

    @Override
    public void failed(Throwable cause) {
      if (done.compareAndSet(false, true)) {
        delegate.failed(cause);
      }
    }
  }
}
