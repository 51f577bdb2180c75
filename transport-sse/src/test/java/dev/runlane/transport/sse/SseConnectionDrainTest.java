package dev.runlane.transport.sse;

import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.Payload;
import dev.runlane.transport.SendCallback;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import java.io.ByteArrayOutputStream;
import java.lang.reflect.Proxy;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The drainer of one SSE stream against a scripted container: a container that never calls {@code
 * onWritePossible()} delays the stream until the servlet's nudge instead of stalling it, an end
 * reported by the container fails what is queued, and the container's end waits for a write in
 * progress and is followed by no call into the response.
 */
class SseConnectionDrainTest {

  /** A container output whose readiness the test sets; it never calls onWritePossible() itself. */
  static class ScriptedOut extends ServletOutputStream {
    volatile boolean ready;
    final ByteArrayOutputStream written = new ByteArrayOutputStream();
    final AtomicInteger flushes = new AtomicInteger();

    @Override
    public boolean isReady() {
      return ready;
    }

    @Override
    public void setWriteListener(WriteListener writeListener) {}

    @Override
    public synchronized void write(int b) {
      written.write(b);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
      written.write(b, off, len);
    }

    @Override
    public void flush() {
      flushes.incrementAndGet();
    }

    synchronized String text() {
      return written.toString(StandardCharsets.UTF_8);
    }
  }

  static final class Callbacks implements SendCallback {
    final List<String> outcomes = new ArrayList<>();

    @Override
    public synchronized void succeeded() {
      outcomes.add("ok");
    }

    @Override
    public synchronized void failed(Throwable cause) {
      outcomes.add(cause.getClass().getSimpleName());
    }

    synchronized List<String> outcomes() {
      return new ArrayList<>(outcomes);
    }
  }

  final ScriptedOut out = new ScriptedOut();
  final AtomicInteger completes = new AtomicInteger();
  final List<CloseReason> ends = new ArrayList<>();
  final AsyncContext async =
      (AsyncContext)
          Proxy.newProxyInstance(
              AsyncContext.class.getClassLoader(),
              new Class<?>[] {AsyncContext.class},
              (proxy, method, args) -> {
                if (method.getName().equals("complete")) {
                  completes.incrementAndGet();
                }
                return null;
              });
  final SseConnection connection =
      new SseConnection("c1", "alice", "token", async, out, SseEvents.none(), (c, reason) -> ends.add(reason));

  static Frame frame(String text) {
    return new Frame(Lane.STREAM, Payload.text(text));
  }

  @Test
  void aLostOnWritePossibleDelaysTheStreamUntilTheNudgeInsteadOfStallingIt() {
    Callbacks cb = new Callbacks();
    connection.send(frame("one"), cb); // the container cannot take it: the drainer waits
    assertEquals("", out.text());
    assertEquals(List.of(), cb.outcomes());

    out.ready = true; // the socket drained, but the container never calls onWritePossible()
    long now = System.nanoTime();
    assertFalse(connection.nudge(now, TimeUnit.HOURS.toNanos(1)), "not waited long enough yet");
    assertEquals("", out.text());

    assertTrue(connection.nudge(now + TimeUnit.SECONDS.toNanos(2), TimeUnit.SECONDS.toNanos(1)));
    assertEquals("data: one\n\n", out.text());
    assertEquals(List.of("ok"), cb.outcomes());
    assertTrue(out.flushes.get() > 0, "the event is flushed, not left in the response buffer");
    assertFalse(connection.nudge(now + TimeUnit.SECONDS.toNanos(10), 0), "nothing waits any more");
  }

  @Test
  void aFlushTheContainerCannotTakeYetIsAlsoNudged() {
    out.ready = true;
    Callbacks cb = new Callbacks();
    // write succeeds, then the container says it cannot take more, so the flush waits
    connection.send(frame("a"), cb);
    assertEquals(List.of("ok"), cb.outcomes());
    int flushed = out.flushes.get();
    out.ready = false;
    connection.send(frame("b"), cb); // cannot write now
    out.ready = true;
    assertTrue(connection.nudge(System.nanoTime() + TimeUnit.SECONDS.toNanos(5), TimeUnit.SECONDS.toNanos(1)));
    assertEquals("data: a\n\ndata: b\n\n", out.text());
    assertTrue(out.flushes.get() > flushed, "the nudged drain flushes too");
  }

  /**
   * Tomcat's failed {@code flush()} on a thread outside the container dispatches the error to a
   * container thread and then still records the exception on the response; if that container thread
   * recycled the response first, the next connection on the recycled processor inherits the error
   * (see {@link SseConnection}). So the container's end callback must not return while a Runlane
   * thread is inside a call into the response, and no call may follow it.
   */
  @Test
  void theContainersEndWaitsForAWriterInsideTheResponseAndNothingFollowsIt() throws Exception {
    java.util.concurrent.CountDownLatch inFlush = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    List<String> order = java.util.Collections.synchronizedList(new ArrayList<>());
    AtomicInteger callsAfterEnd = new AtomicInteger();
    java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();
    ScriptedOut failing =
        new ScriptedOut() {
          @Override
          public boolean isReady() {
            count();
            return true;
          }

          @Override
          public synchronized void write(byte[] b, int off, int len) {
            count();
            super.write(b, off, len);
          }

          @Override
          public void flush() {
            count();
            inFlush.countDown();
            try {
              release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            order.add("flush left the response");
            throw new java.io.UncheckedIOException(new java.io.IOException("Connection reset by peer"));
          }

          void count() {
            if (ended.get()) {
              callsAfterEnd.incrementAndGet();
            }
          }
        };
    AsyncContext countingAsync =
        (AsyncContext)
            Proxy.newProxyInstance(
                AsyncContext.class.getClassLoader(),
                new Class<?>[] {AsyncContext.class},
                (proxy, method, args) -> {
                  if (ended.get()) {
                    callsAfterEnd.incrementAndGet();
                  }
                  return null;
                });
    SseConnection c =
        new SseConnection("c2", "alice", "token", countingAsync, failing, SseEvents.none(), (x, reason) -> ends.add(reason));
    Callbacks cb = new Callbacks();
    Thread publisher = new Thread(() -> c.send(frame("one"), cb), "publisher");
    publisher.start();
    assertTrue(inFlush.await(10, TimeUnit.SECONDS), "the publisher is inside flush()");

    Thread container =
        new Thread(
            () -> {
              c.containerEnded("stream failed"); // Tomcat's error dispatch, on its own thread
              ended.set(true);
              order.add("container ended the response");
            },
            "container");
    container.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (container.getState() != Thread.State.BLOCKED && container.isAlive() && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertEquals(Thread.State.BLOCKED, container.getState(), "the container's end waits: " + order);
    release.countDown();
    publisher.join(10_000);
    container.join(10_000);
    assertEquals(List.of("flush left the response", "container ended the response"), order);

    c.send(frame("late"), cb);
    c.keepAlive();
    c.nudge(System.nanoTime() + TimeUnit.HOURS.toNanos(1), 0);
    assertEquals(0, callsAfterEnd.get(), "no call into the response or its async context after the container's end");
    assertEquals(List.of("ok", ClosedChannelException.class.getSimpleName()), cb.outcomes());
  }

  @Test
  void anEndReportedByTheContainerFailsWhatIsQueuedAndLeavesTheResponseToIt() {
    Callbacks cb = new Callbacks();
    connection.send(frame("queued"), cb); // waits: the container is not ready
    connection.containerEnded("the client left");
    connection.onError(new java.io.IOException("broken pipe")); // a second report changes nothing
    assertEquals(List.of(ClosedChannelException.class.getSimpleName()), cb.outcomes());
    assertEquals(0, completes.get(), "the container ended the response: it completes it, Runlane does not touch it");
    assertFalse(connection.isOpen());
    assertFalse(ends.isEmpty());
    assertEquals(1006, ends.get(0).code());
    assertTrue(ends.get(0).reason().contains("the client left"), ends.toString());

    Callbacks late = new Callbacks();
    connection.send(frame("late"), late);
    assertEquals(List.of(ClosedChannelException.class.getSimpleName()), late.outcomes(), "T3.2");
    assertEquals("", out.text());
  }
}
