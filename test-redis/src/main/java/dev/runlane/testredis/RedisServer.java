package dev.runlane.testredis;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.jspecify.annotations.Nullable;

/**
 * A real {@code redis-server} for tests: its own process on a free loopback port, persistence off,
 * a temp dir, stopped by its PID. {@link #restart()} brings it back on the same port, empty.
 *
 * <p>Without a {@code redis-server} binary the tests are skipped with a loud reason, or fail when
 * the environment variable {@code CI} is {@code true}.
 *
 * <p><b>Thread safety:</b> {@link #shared()} is safe to call from any thread; a server's start and
 * stop are meant for one test thread.
 */
public final class RedisServer implements AutoCloseable {
  private static final List<String> CANDIDATES =
      List.of("/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server");
  private static @Nullable RedisServer shared;

  private final Path binary;
  private final Path dir;
  private final int port;
  private @Nullable Process process; // set by launch(); null once stopped

  private RedisServer(Path binary, Path dir, int port) {
    this.binary = binary;
    this.dir = dir;
    this.port = port;
  }

  /** One server for the whole test JVM (tests use unique key prefixes); stopped at JVM exit. */
  public static synchronized RedisServer shared() {
    if (shared == null || !shared.isRunning()) {
      shared = start();
      RedisServer s = shared;
      Runtime.getRuntime().addShutdownHook(new Thread(s::close, "redis-server-stop"));
    }
    return shared;
  }

  /** A new server of its own (for tests that stop or restart Redis). */
  public static RedisServer start() {
    Path binary = binary();
    IOException last = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      try {
        Path dir = Files.createTempDirectory("runlane-redis-");
        RedisServer s = new RedisServer(binary, dir, freePort());
        s.launch();
        return s;
      } catch (IOException e) {
        last = e;
      }
    }
    throw new IllegalStateException("could not start redis-server: " + last, last);
  }

  /** The redis-server binary; skips (or, with CI=true, fails) the calling test if there is none. */
  public static Path binary() {
    Path found = null;
    for (String c : CANDIDATES) {
      if (Files.isExecutable(Path.of(c))) {
        found = Path.of(c);
        break;
      }
    }
    if (found == null) {
      String path = System.getenv("PATH");
      if (path != null) {
        for (String d : path.split(java.io.File.pathSeparator)) {
          Path p = Path.of(d, "redis-server");
          if (Files.isExecutable(p)) {
            found = p;
            break;
          }
        }
      }
    }
    if (found == null) {
      String reason =
          "*** redis-server is not installed: the Redis engine's tests cannot run. "
              + "Install it (Debian: apt-get install redis-server). ***";
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new AssertionError(reason + " (CI=true: failing instead of skipping)");
      }
      System.err.println(reason + " Skipping.");
      Assumptions.abort(reason);
      throw new AssertionError(reason); // not reached: abort throws
    }
    return found;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private void launch() throws IOException {
    ProcessBuilder pb =
        new ProcessBuilder(
            binary.toString(),
            "--port", Integer.toString(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", dir.toString(),
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--loglevel", "warning",
            "--maxmemory-policy", "noeviction");
    pb.redirectErrorStream(true);
    pb.redirectOutput(dir.resolve("redis.log").toFile());
    Process started = pb.start();
    process = started;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      if (!started.isAlive()) {
        throw new IOException("redis-server exited with " + started.exitValue() + ": " + log());
      }
      if (ping()) {
        return;
      }
      sleep(20);
    }
    stop();
    throw new IOException("redis-server did not answer PING within 10 s on port " + port);
  }

  private String log() {
    try {
      return Files.readString(dir.resolve("redis.log"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no log)";
    }
  }

  /** True if the server answers PING. */
  public boolean ping() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      s.setSoTimeout(500);
      OutputStream out = s.getOutputStream();
      out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[7];
      int n = in.readNBytes(buf, 0, 7);
      return n == 7 && new String(buf, StandardCharsets.US_ASCII).equals("+PONG\r\n");
    } catch (IOException e) {
      return false;
    }
  }

  public int port() {
    return port;
  }

  public String uri() {
    return "redis://127.0.0.1:" + port;
  }

  public boolean isRunning() {
    Process p = process;
    return p != null && p.isAlive();
  }

  /** The server's process id. */
  public long pid() {
    Process p = process;
    if (p == null) {
      throw new IllegalStateException("redis-server is stopped");
    }
    return p.pid();
  }

  /** Stops the server by its PID and waits for it to exit. */
  public void stop() {
    Process p = process;
    if (p == null) {
      return;
    }
    p.destroy();
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    process = null;
  }

  /** Freezes the server ({@code kill -STOP}): connections stay open, nothing is answered. */
  public void pause() {
    signal("-STOP");
  }

  /** Thaws a frozen server ({@code kill -CONT}); its data is intact. */
  public void resume() {
    signal("-CONT");
  }

  private void signal(String sig) {
    try {
      Process k = new ProcessBuilder("kill", sig, Long.toString(pid())).start();
      k.waitFor(5, TimeUnit.SECONDS);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Starts a stopped server again on the same port: empty (persistence is off). */
  public void restart() {
    stop();
    try {
      launch();
    } catch (IOException e) {
      throw new IllegalStateException("could not restart redis-server on port " + port, e);
    }
  }

  @Override
  public void close() {
    stop();
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      // a temp dir left behind is harmless
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
