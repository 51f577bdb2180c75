package dev.runlane.examples.springboot;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A TCP proxy on loopback in front of the server, so a test can cut every connection at once, as a
 * network drop does (no close event, no close frame: the sockets just end). It also notes whether a
 * request carried a {@code Last-Event-ID} header, i.e. whether a browser's {@code EventSource}
 * reconnected by itself.
 */
final class DroppingProxy implements AutoCloseable {
  private final ServerSocket listener;
  private final int target;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final AtomicBoolean sawLastEventId = new AtomicBoolean();
  private volatile boolean closed;

  DroppingProxy(int target) throws IOException {
    this.target = target;
    this.listener = new ServerSocket();
    listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    Thread t = new Thread(this::accept, "dropping-proxy");
    t.setDaemon(true);
    t.start();
  }

  int port() {
    return listener.getLocalPort();
  }

  boolean sawLastEventId() {
    return sawLastEventId.get();
  }

  /** Cuts every open connection (both directions) at once. */
  void dropAll() {
    for (Socket s : sockets) {
      quietly(s);
    }
    sockets.clear();
  }

  private void accept() {
    while (!closed) {
      try {
        Socket client = listener.accept();
        Socket server = new Socket(InetAddress.getLoopbackAddress(), target);
        sockets.add(client);
        sockets.add(server);
        pipe(client, server, true);
        pipe(server, client, false);
      } catch (IOException e) {
        if (closed) {
          return;
        }
      }
    }
  }

  private void pipe(Socket from, Socket to, boolean requests) {
    Thread t =
        new Thread(
            () -> {
              byte[] buf = new byte[16 * 1024];
              try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n; (n = in.read(buf)) >= 0; ) {
                  if (requests && new String(buf, 0, n, StandardCharsets.ISO_8859_1).toLowerCase().contains("\nlast-event-id:")) {
                    sawLastEventId.set(true);
                  }
                  out.write(buf, 0, n);
                  out.flush();
                }
              } catch (IOException e) {
                // dropped or closed
              } finally {
                quietly(from);
                quietly(to);
              }
            },
            "dropping-proxy-pipe");
    t.setDaemon(true);
    t.start();
  }

  private static void quietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // already closed
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    listener.close();
    dropAll();
  }
}
