package dev.runlane.tck;

import dev.runlane.transport.Connection;
import dev.runlane.transport.InboundHandler;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * A sink that keeps every accepted connection, keyed by principal, so that the kit can pair each
 * client peer with its server side. What it answers with is up to the {@code handlers} function:
 * a {@link RecordingHandler} at the SPI level, Runlane's handler end to end.
 */
final class ServerRecorder implements ConnectionSink {

  /** One accepted connection (a stream transport has its pairing). */
  static final class Accepted {
    final Connection connection;
    final InboundHandler handler;
    final @Nullable String pairedWith;
    final long generation;

    Accepted(Connection connection, InboundHandler handler, @Nullable String pairedWith, long generation) {
      this.connection = connection;
      this.handler = handler;
      this.pairedWith = pairedWith;
      this.generation = generation;
    }

    RecordingHandler recording() {
      return (RecordingHandler) handler;
    }
  }

  /** Answers a connection (and for a stream transport its primary's id and generation). */
  interface Handlers {
    InboundHandler accept(Connection connection, @Nullable String pairedWith, long generation);
  }

  private final ConcurrentHashMap<String, BlockingQueue<Accepted>> primaries = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, BlockingQueue<Accepted>> streams = new ConcurrentHashMap<>();
  private final Handlers handlers;

  ServerRecorder(Handlers handlers) {
    this.handlers = handlers;
  }

  /** A recorder answering every connection with a fresh {@link RecordingHandler}. */
  static ServerRecorder recording() {
    return new ServerRecorder((c, p, g) -> new RecordingHandler());
  }

  @Override
  public InboundHandler accept(Connection connection) {
    InboundHandler h = handlers.accept(connection, null, 0);
    queue(primaries, connection.principal()).add(new Accepted(connection, h, null, 0));
    return h;
  }

  @Override
  public InboundHandler acceptStream(Connection streamTransport, String connectionId, long generation) {
    InboundHandler h = handlers.accept(streamTransport, connectionId, generation);
    queue(streams, streamTransport.principal())
        .add(new Accepted(streamTransport, h, connectionId, generation));
    return h;
  }

  private static BlockingQueue<Accepted> queue(
      ConcurrentHashMap<String, BlockingQueue<Accepted>> map, String principal) {
    return map.computeIfAbsent(principal, k -> new LinkedBlockingQueue<>());
  }

  /** The next connection accepted for {@code principal}, or null after the timeout. */
  @Nullable Accepted next(String principal, Duration timeout) throws InterruptedException {
    return queue(primaries, principal).poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** The next stream transport accepted for {@code principal}, or null after the timeout. */
  @Nullable Accepted nextStream(String principal, Duration timeout) throws InterruptedException {
    return queue(streams, principal).poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }
}
