package dev.runlane.examples.chat;

import dev.runlane.cluster.redis.RedisEngine;
import java.time.Duration;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the chat example and logs its address.
 *
 * <pre>
 * mvn -B -q -pl examples/chat-server -am compile -Prun                     # http://localhost:8080/
 * mvn -B -q -pl examples/chat-server -am compile -Prun -Drunlane.example.port=9090 -Drunlane.example.pace=60
 * </pre>
 *
 * <p>Options (each also as a system property {@code runlane.example.NAME}): {@code --port} (default
 * 8080, 0 for any free port), {@code --host} (default localhost; 0.0.0.0 to accept other machines),
 * {@code --pace} (milliseconds per token, default 30), {@code --approval-every} (ask for an approval
 * on every n-th run too, default 0: only for prompts containing "approve"), {@code --history} (the
 * conversation history's JDBC URL, default an in-memory H2 database), {@code --stream-transport}
 * (true: offer clients a second socket for the stream lane; default false), {@code --redis} (a
 * Redis URI: run as one node of a cluster on that Redis, e.g. {@code redis://127.0.0.1:6379}; default
 * none, runs live in this process), {@code --node} (the node's name in the cluster; default {@code
 * chat-PORT}, made unique per process).
 *
 * <p>Two nodes on one machine (see {@code docs/concepts/cluster.md}):
 *
 * <pre>
 * redis-server --port 6390 --save '' --appendonly no &amp;
 * mvn -B -q -pl examples/chat-server -am compile -Prun -Drunlane.example.port=8081 -Drunlane.example.redis=redis://127.0.0.1:6390
 * mvn -B -q -pl examples/chat-server -am compile -Prun -Drunlane.example.port=8082 -Drunlane.example.redis=redis://127.0.0.1:6390
 * </pre>
 *
 * <p><b>Thread safety:</b> a program entry point.
 */
public final class ChatServerMain {
  private static final Logger LOG = LoggerFactory.getLogger(ChatServerMain.class);

  private ChatServerMain() {}

  /** Runs the server until the process is stopped (Ctrl+C). */
  public static void main(String[] args) throws Exception {
    ChatServer.Builder b = ChatServer.builder();
    String port = option(args, "port");
    String host = option(args, "host");
    String pace = option(args, "pace");
    String every = option(args, "approval-every");
    String history = option(args, "history");
    String stream = option(args, "stream-transport");
    String redis = option(args, "redis");
    String node = option(args, "node");
    try {
      if (port != null) {
        b.port(Integer.parseInt(port));
      }
      if (host != null) {
        b.host(host);
      }
      if (pace != null) {
        b.pace(Duration.ofMillis(Long.parseLong(pace)));
      }
      if (every != null) {
        b.approvalEvery(Integer.parseInt(every));
      }
      if (history != null) {
        b.historyUrl(history);
      }
      if (stream != null) {
        b.streamTransport(Boolean.parseBoolean(stream));
      }
      if (redis != null && !redis.isEmpty()) {
        // unique per process: a restarted node is a new node, whose predecessor's runs a survivor ends
        String name = (node != null ? node : "chat-" + (port != null ? port : "8080")) + "-" + ProcessHandle.current().pid();
        b.engine(RedisEngine.builder().redis(redis).nodeId(name).build());
        System.out.println("cluster node " + name + " on " + redis);
      }
    } catch (IllegalArgumentException e) {
      System.err.println("bad option: " + e.getMessage());
      System.err.println("usage: [--port=8080] [--host=localhost] [--pace=30] [--approval-every=0] [--history=jdbc:h2:file:./chat-history] [--stream-transport=true] [--redis=redis://127.0.0.1:6379] [--node=NAME]");
      System.exit(2);
      return;
    }
    ChatServer server = b.build().start();
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "chat-server-shutdown"));
    // stdout, not only the log: the address must show even under "mvn -q"
    String banner =
        "Runlane chat example running at "
            + server.uri()
            + " (pace "
            + (pace == null ? "30" : pace)
            + " ms per token). Open it in two browsers with two names; press Ctrl+C to stop.";
    System.out.println(banner);
    LOG.debug(banner);
    server.join();
  }

  /** {@code --name=value} or {@code --name value} from args, else the system property. */
  static @Nullable String option(String[] args, String name) {
    String flag = "--" + name;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals(flag) && i + 1 < args.length) {
        return args[i + 1];
      }
      if (args[i].startsWith(flag + "=")) {
        return args[i].substring(flag.length() + 1);
      }
    }
    return System.getProperty("runlane.example." + name.toLowerCase(Locale.ROOT));
  }
}
