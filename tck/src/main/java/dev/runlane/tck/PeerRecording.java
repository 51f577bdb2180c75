package dev.runlane.tck;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * What a {@link ClientPeer} received, in arrival order, and how its connection ended. Peer
 * implementations feed it ({@link #text}, {@link #binary}, {@link #closed}, {@link #failed}); the
 * kit reads and awaits it.
 *
 * <p>Only the first end is kept. A message recorded after the end is kept too, but counted in
 * {@link #messagesAfterClose()}: a transport must never deliver one.
 *
 * <p><b>Thread safety:</b> thread-safe. Every await returns as soon as its condition holds; what
 * was recorded before is visible to the awaiting thread.
 */
public final class PeerRecording {

  private final List<PeerMessage> messages = new ArrayList<>();
  private @Nullable PeerClose close;
  private int messagesAfterClose;

  /** Creates an empty recording. */
  public PeerRecording() {}

  /** Records a whole text message. */
  public synchronized void text(String text) {
    add(PeerMessage.text(text));
  }

  /** Records a whole binary message. */
  public synchronized void binary(byte[] bytes) {
    add(PeerMessage.binary(bytes));
  }

  private void add(PeerMessage m) {
    messages.add(m);
    if (close != null) {
      messagesAfterClose++;
    }
    notifyAll();
  }

  /** Records a close frame (or the transport's equivalent) with its code and reason. */
  public synchronized void closed(int code, String reason) {
    end(new PeerClose(code, reason, messages.size(), false));
  }

  /** Records the connection ending without a close: a failure or drop seen by the peer. */
  public synchronized void failed(Throwable cause) {
    end(new PeerClose(PeerClose.ABNORMAL, String.valueOf(cause), messages.size(), false));
  }

  /** Records that the peer itself dropped the connection ({@link ClientPeer#abort}). */
  public synchronized void aborted() {
    end(new PeerClose(PeerClose.ABNORMAL, "aborted by the peer", messages.size(), true));
  }

  private void end(PeerClose c) {
    if (close == null) {
      close = c;
    }
    notifyAll();
  }

  /** A snapshot of the messages received so far, in order. */
  public synchronized List<PeerMessage> messages() {
    return List.copyOf(messages);
  }

  /** How many messages were received so far. */
  public synchronized int size() {
    return messages.size();
  }

  /** How the connection ended, if it has. */
  public synchronized Optional<PeerClose> close() {
    return Optional.ofNullable(close);
  }

  /** Messages recorded after the end: always a transport bug. */
  public synchronized int messagesAfterClose() {
    return messagesAfterClose;
  }

  /** Waits until at least {@code count} messages arrived; returns whether they did in time. */
  public synchronized boolean awaitSize(int count, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (messages.size() < count) {
      if (!waitUntil(deadline)) {
        return false;
      }
    }
    return true;
  }

  /** Waits until the connection ended; returns whether it did in time. */
  public synchronized boolean awaitClose(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (close == null) {
      if (!waitUntil(deadline)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Waits for the first message at index {@code from} or later that matches; returns its index, or
   * -1 if none arrived in time.
   */
  public synchronized int awaitMatch(int from, Predicate<PeerMessage> match, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    int next = Math.max(0, from);
    for (; ; ) {
      for (; next < messages.size(); next++) {
        if (match.test(messages.get(next))) {
          return next;
        }
      }
      if (!waitUntil(deadline)) {
        return -1;
      }
    }
  }

  @SuppressWarnings("WaitNotInLoop") // every caller loops on its own condition
  private boolean waitUntil(long deadline) throws InterruptedException {
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      return false;
    }
    long millis = Math.max(1, left / 1_000_000);
    wait(millis);
    return true;
  }

  @Override
  public synchronized String toString() {
    return "PeerRecording[" + messages.size() + " messages, close=" + close + "]";
  }
}
