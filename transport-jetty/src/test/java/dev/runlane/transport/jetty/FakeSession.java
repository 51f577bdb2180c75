package dev.runlane.transport.jetty;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;

/** A scriptable Jetty {@link Session} stand-in, built as a dynamic proxy. */
final class FakeSession {

  volatile boolean open = true;
  /** What a send does with its callback; default: succeed once. */
  volatile BiConsumer<Object, Callback> onSend = (message, callback) -> callback.succeed();

  final List<Object> sent = new CopyOnWriteArrayList<>();
  final List<String> closes = new CopyOnWriteArrayList<>();
  final AtomicInteger disconnects = new AtomicInteger();
  final AtomicInteger pongs = new AtomicInteger();
  final AtomicInteger pings = new AtomicInteger();
  volatile boolean throwOnPing;

  final Session session =
      (Session)
          Proxy.newProxyInstance(
              Session.class.getClassLoader(), new Class<?>[] {Session.class}, this::invoke);

  private Object invoke(Object proxy, Method method, Object[] args) {
    switch (method.getName()) {
      case "isOpen":
        return open;
      case "sendText":
        sent.add(args[0]);
        onSend.accept(args[0], (Callback) args[1]);
        return null;
      case "sendBinary":
        {
          ByteBuffer buffer = (ByteBuffer) args[0];
          byte[] bytes = new byte[buffer.remaining()];
          buffer.get(bytes); // consumes the view, as a real write would
          sent.add(bytes);
          onSend.accept(bytes, (Callback) args[1]);
          return null;
        }
      case "sendPing":
        pings.incrementAndGet();
        if (throwOnPing) {
          throw new IllegalStateException("test: ping failed");
        }
        return null;
      case "sendPong":
        pongs.incrementAndGet();
        return null;
      case "close":
        if (args != null && args.length == 3) {
          closes.add(args[0] + ":" + args[1]);
          open = false;
        }
        return null;
      case "disconnect":
        disconnects.incrementAndGet();
        open = false;
        return null;
      case "getMaxFrameSize":
        return 65_536L;
      case "toString":
        return "FakeSession";
      case "hashCode":
        return System.identityHashCode(proxy);
      case "equals":
        return proxy == args[0];
      default:
        if (method.getReturnType() == void.class) {
          return null; // setters
        }
        throw new UnsupportedOperationException(method.getName());
    }
  }
}
