package dev.runlane.transport.jetty;

import java.io.ByteArrayOutputStream;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A JDK WebSocket client listener that reassembles messages: a {@code String} for text, a {@code
 * byte[]} for binary, in arrival order.
 */
final class ClientRecorder implements WebSocket.Listener {

  final BlockingQueue<Object> messages = new LinkedBlockingQueue<>();
  final CountDownLatch ended = new CountDownLatch(1);
  final AtomicInteger pongs = new AtomicInteger();
  volatile int closeCode = -1;
  volatile String closeReason = "";
  volatile Throwable error;
  /** Messages received when the close (or error) arrived. */
  volatile int messagesAtEnd = -1;

  private final StringBuilder text = new StringBuilder();
  private final ByteArrayOutputStream binary = new ByteArrayOutputStream();

  @Override
  public void onOpen(WebSocket webSocket) {
    webSocket.request(1);
  }

  @Override
  public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
    text.append(data);
    if (last) {
      messages.add(text.toString());
      text.setLength(0);
    }
    webSocket.request(1);
    return null;
  }

  @Override
  public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
    byte[] chunk = new byte[data.remaining()];
    data.get(chunk);
    binary.write(chunk, 0, chunk.length);
    if (last) {
      messages.add(binary.toByteArray());
      binary.reset();
    }
    webSocket.request(1);
    return null;
  }

  @Override
  public CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
    pongs.incrementAndGet();
    webSocket.request(1);
    return null;
  }

  @Override
  public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
    closeCode = statusCode;
    closeReason = reason;
    messagesAtEnd = messages.size();
    ended.countDown();
    return null; // the JDK client then answers with a close frame of its own
  }

  @Override
  public void onError(WebSocket webSocket, Throwable error) {
    this.error = error;
    messagesAtEnd = messages.size();
    ended.countDown();
  }

  Object nextMessage() throws InterruptedException {
    Object m = messages.poll(10, TimeUnit.SECONDS);
    if (m == null) {
      throw new AssertionError("no message reached the client within 10 s");
    }
    return m;
  }

  void awaitEnd() throws InterruptedException {
    if (!ended.await(10, TimeUnit.SECONDS)) {
      throw new AssertionError("the client saw no close or error within 10 s");
    }
  }
}
