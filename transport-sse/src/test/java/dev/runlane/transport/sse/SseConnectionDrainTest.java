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
 * onWritePossible()} delays the stream until the servlet's nudge instead of stalling it, and an end
 * reported by the container fails what is queued and completes the response once.
 */
class SseConnectionDrainTest {

  /** A container output whose readiness the test sets; it never calls onWritePossible() itself. */
  static final class ScriptedOut extends ServletOutputStream {
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

  @Test
  void anEndReportedByTheContainerFailsWhatIsQueuedAndCompletesOnce() {
    Callbacks cb = new Callbacks();
    connection.send(frame("queued"), cb); // waits: the container is not ready
    connection.containerEnded("the client left");
    connection.onError(new java.io.IOException("broken pipe")); // a second report changes nothing
    assertEquals(List.of(ClosedChannelException.class.getSimpleName()), cb.outcomes());
    assertEquals(1, completes.get(), "the response is completed once");
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
