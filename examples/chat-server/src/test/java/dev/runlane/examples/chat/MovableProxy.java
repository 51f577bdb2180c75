package dev.runlane.examples.chat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A load balancer in miniature for tests: a TCP proxy on a loopback port that forwards each new
 * connection to the current backend; {@link #moveTo} points it at another backend and cuts every
 * connection it holds, as a deploy or a lost node does. The page behind it keeps one origin.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; a thread per direction per connection.
 */
final class MovableProxy implements AutoCloseable {
  private final ServerSocket listener;
  private final Set<Socket> live = ConcurrentHashMap.newKeySet();
  private volatile int backendPort;
  private volatile boolean closed;

  MovableProxy(int backendPort) throws IOException {
    this.backendPort = backendPort;
    this.listener = new ServerSocket(0, 512, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::accept, "movable-proxy");
    t.setDaemon(true);
    t.start();
  }

  int port() {
    return listener.getLocalPort();
  }

  /** New connections go to {@code port}; every connection held now is cut. */
  void moveTo(int port) {
    this.backendPort = port;
    for (Socket s : live) {
      closeQuietly(s);
    }
  }

  private void accept() {
    while (!closed) {
      Socket client;
      try {
        client = listener.accept();
      } catch (IOException e) {
        return;
      }
      Socket backend = new Socket();
      try {
        backend.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), backendPort), 5_000);
      } catch (IOException e) {
        closeQuietly(client);
        closeQuietly(backend);
        continue;
      }
      live.add(client);
      live.add(backend);
      pump(client, backend);
      pump(backend, client);
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t =
        new Thread(
            () -> {
              byte[] buf = new byte[16 * 1024];
              try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n; (n = in.read(buf)) >= 0; ) {
                  out.write(buf, 0, n);
                  out.flush();
                }
              } catch (IOException e) {
                // cut by moveTo() or by either side: close both below
              } finally {
                closeQuietly(from);
                closeQuietly(to);
                live.remove(from);
                live.remove(to);
              }
            },
            "movable-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // closing
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      listener.close();
    } catch (IOException e) {
      // closing
    }
    for (Socket s : live) {
      closeQuietly(s);
    }
  }
}
