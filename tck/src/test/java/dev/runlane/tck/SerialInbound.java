package dev.runlane.tck;

import dev.runlane.transport.CloseReason;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Payload;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The host glue of the in-memory fixture: delivers one connection's inbound events one at a time,
 * in order, the close once and after the last frame, and drops frames after the close (rules T7.1,
 * T7.2, T4.5). The thread that finds it idle drains it, so a close requested from inside a frame
 * (Runlane closing a connection while handling its frame) runs after that frame, not inside it.
 * Events that arrive before {@link #bind} wait for it.
 */
final class SerialInbound implements InboundHandler {

  private final Queue<Consumer<InboundHandler>> tasks = new ConcurrentLinkedQueue<>();
  private final AtomicInteger wip = new AtomicInteger();
  private volatile @Nullable InboundHandler target;
  private boolean closed; // only touched by the draining thread

  void bind(InboundHandler handler) {
    target = handler;
    drain();
  }

  @Override
  public void onFrame(Payload payload) {
    submit(h -> {
      if (!closed) {
        h.onFrame(payload);
      }
    });
  }

  @Override
  public void onActivity() {
    submit(h -> {
      if (!closed) {
        h.onActivity();
      }
    });
  }

  @Override
  public void onClose(CloseReason reason) {
    submit(h -> {
      if (!closed) {
        closed = true;
        h.onClose(reason);
      }
    });
  }

  private void submit(Consumer<InboundHandler> task) {
    tasks.add(task);
    drain();
  }

  private void drain() {
    if (wip.getAndIncrement() != 0) {
      return;
    }
    int missed = 1;
    for (; ; ) {
      InboundHandler h = target;
      if (h != null) {
        Consumer<InboundHandler> next;
        while ((next = tasks.poll()) != null) {
          next.accept(h);
        }
      }
      missed = wip.addAndGet(-missed);
      if (missed == 0) {
        return;
      }
    }
  }
}
