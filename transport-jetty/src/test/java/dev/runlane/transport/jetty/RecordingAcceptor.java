package dev.runlane.transport.jetty;

import dev.runlane.transport.InboundHandler;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/** Registers every connection with a fresh {@link RecordingHandler} and remembers both. */
final class RecordingAcceptor implements ConnectionAcceptor {

  final AtomicInteger calls = new AtomicInteger();
  private final BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
  private final Function<JettyConnection, RecordingHandler> handlers;

  RecordingAcceptor() {
    this(c -> new RecordingHandler());
  }

  RecordingAcceptor(Function<JettyConnection, RecordingHandler> handlers) {
    this.handlers = handlers;
  }

  @Override
  public InboundHandler accept(JettyConnection connection) {
    calls.incrementAndGet();
    RecordingHandler handler = handlers.apply(connection);
    accepted.add(new Accepted(connection, handler));
    return handler;
  }

  Accepted next() throws InterruptedException {
    Accepted a = accepted.poll(10, TimeUnit.SECONDS);
    if (a == null) {
      throw new AssertionError("no connection was accepted within 10 s");
    }
    return a;
  }

  /** The next accepted connection, which must already be there. */
  Accepted nextQuietly() {
    Accepted a = accepted.poll();
    if (a == null) {
      throw new AssertionError("no connection was accepted");
    }
    return a;
  }

  static final class Accepted {
    final JettyConnection connection;
    final RecordingHandler handler;

    Accepted(JettyConnection connection, RecordingHandler handler) {
      this.connection = connection;
      this.handler = handler;
    }
  }
}
