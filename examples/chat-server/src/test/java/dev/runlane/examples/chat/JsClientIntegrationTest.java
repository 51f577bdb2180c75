package dev.runlane.examples.chat;

import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The JavaScript client ({@code clients/js}) against the real example server: each test starts the
 * server on a free port and runs one node script of {@code clients/js/test/integration} with the
 * server's URL in env {@code RUNLANE_URL}; the script checks what the client promises and prints
 * {@code OK <name> …}. Node (>= 20) comes from {@code -Drunlane.node}, env {@code RUNLANE_NODE} or the
 * PATH and is never downloaded; without it the tests are skipped with a loud notice, or fail when env
 * {@code CI=true}.
 */
class JsClientIntegrationTest {
  static final Path SCRIPTS = Path.of(System.getProperty("user.dir")).resolve("../../clients/js/test/integration").normalize();
  static final Path PAGE_SCRIPT = Path.of(System.getProperty("user.dir")).resolve("src/test/js/page-in-node.mjs");
  static final Duration SCRIPT_TIMEOUT = Duration.ofSeconds(150);

  static String node;
  static List<String> nodeFlags;

  ChatServer server;

  @BeforeAll
  static void findNode() throws Exception {
    String problem = null;
    node = locateNode();
    int major = node == null ? 0 : nodeMajor(node);
    if (node == null) {
      problem = "no node on the PATH (set RUNLANE_NODE or -Drunlane.node)";
    } else if (major < 20) {
      problem = node + " is older than Node 20";
    } else if (!Files.isDirectory(SCRIPTS)) {
      problem = "no scripts at " + SCRIPTS;
    }
    if (problem != null) {
      String msg = "JsClientIntegrationTest needs Node.js >= 20 and clients/js: " + problem;
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        fail(msg + " (CI=true: failing instead of skipping)");
      }
      System.err.println("=".repeat(78) + "\nSKIPPED: " + msg + "\n" + "=".repeat(78));
      Assumptions.abort(msg);
    }
    // Node 20 and 21 have the global WebSocket only behind this flag
    nodeFlags = major < 22 ? List.of("--experimental-websocket", "--no-warnings") : List.of();
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void reconnectStormOf50ClientsKeepsEverySeqContiguousWithOneEnd() throws Exception {
    server = ChatServer.builder().port(0).pace(Duration.ofMillis(15)).approvalEvery(0).build().start();
    Result r = runScript("reconnect-storm.mjs", Map.of(), null);
    r.assertOk("reconnect-storm");
  }

  @Test
  void aReloadAfterEvictionAnnouncesExactlyTheMissingSeqs() throws Exception {
    server = ChatServer.builder().port(0).pace(Duration.ofMillis(10)).approvalEvery(0).replayCapacity(16).build().start();
    Result r = runScript("truncation.mjs", Map.of("REPLAY_CAPACITY", "16"), null);
    r.assertOk("truncation");
  }

  @Test
  void aServerRestartYieldsUnknownRunThenEpochChanged() throws Exception {
    server = ChatServer.builder().port(0).pace(Duration.ofMillis(15)).approvalEvery(0).build().start();
    int port = server.port();
    Result r =
        runScript(
            "epoch-change.mjs",
            Map.of(),
            (line, stdin) -> {
              if (!"READY_FOR_RESTART".equals(line)) {
                return;
              }
              try {
                server.close();
                server = ChatServer.builder().port(port).pace(Duration.ofMillis(15)).approvalEvery(0).build().start();
                stdin.write("RESTARTED\n".getBytes(StandardCharsets.UTF_8));
                stdin.flush();
              } catch (Exception e) {
                throw new IllegalStateException("restart failed", e);
              }
            });
    r.assertOk("epoch-change");
  }

  @Test
  void thePairedStreamSocketCarriesTheEventsAndItsLossIsResumedExactly() throws Exception {
    server = ChatServer.builder().port(0).pace(Duration.ofMillis(15)).streamTransport(true).build().start();
    Result r = runScript("stream-pairing.mjs", Map.of(), null);
    r.assertOk("stream-pairing");
  }

  @Test
  void anApprovalIsSeenByEveryClientAndResolvedByOne() throws Exception {
    server = ChatServer.builder().port(0).pace(Duration.ofMillis(5)).approvalEvery(0).build().start();
    Result r = runScript("approvals.mjs", Map.of(), null);
    r.assertOk("approvals");
  }

  /**
   * The page's own script ({@code web/app.js}, built on the client) in Node with a small DOM stand-in:
   * what {@link ChatPageBrowserTest} checks in Chromium, for machines that have no browser.
   */
  @Test
  void thePageScriptResumesAcrossReloadsApprovesAndAborts() throws Exception {
    server = ChatServer.builder().port(0).pace(Duration.ofMillis(10)).approvalEvery(0).build().start();
    String prompt = "How does resume work after a reload?";
    String approvalPrompt = "Count my words, and I will approve the tool";
    Result r =
        runScript(
            PAGE_SCRIPT,
            Map.of(
                "PROMPT", prompt,
                "ANSWER", DemoAgent.answer(prompt, true),
                "APPROVAL_PROMPT", approvalPrompt,
                "APPROVAL_ANSWER", DemoAgent.answer(approvalPrompt, true)),
            null);
    r.assertOk("page-in-node");
  }

  // ------------------------------------------------------------------ running node

  record Result(int exitCode, List<String> stdout, List<String> stderr) {
    void assertOk(String name) {
      String out = String.join("\n", stdout);
      String err = String.join("\n", stderr);
      assertEquals(0, exitCode, () -> name + " exited " + exitCode + "\nstdout:\n" + out + "\nstderr:\n" + err);
      assertTrue(stdout.stream().anyMatch(l -> l.startsWith("OK " + name)), () -> "no OK line\nstdout:\n" + out + "\nstderr:\n" + err);
      // the script's one-line summary (its figures), so a run shows what happened
      stdout.stream().filter(l -> l.startsWith("OK ")).forEach(System.out::println);
    }
  }

  Result runScript(String script, Map<String, String> env, BiConsumer<String, OutputStream> onLine)
      throws Exception {
    return runScript(SCRIPTS.resolve(script), env, onLine);
  }

  Result runScript(Path script, Map<String, String> env, BiConsumer<String, OutputStream> onLine)
      throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(node);
    cmd.addAll(nodeFlags);
    cmd.add(script.toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(script.getParent().toFile());
    pb.environment().put("RUNLANE_URL", server.uri().toString());
    pb.environment().putAll(env);
    Process p = pb.start();
    List<String> out = Collections.synchronizedList(new ArrayList<>());
    List<String> err = Collections.synchronizedList(new ArrayList<>());
    OutputStream stdin = p.getOutputStream();
    Thread o = reader(p.getInputStream(), out, line -> {
      if (onLine != null) {
        onLine.accept(line, stdin);
      }
    });
    Thread e = reader(p.getErrorStream(), err, line -> {});
    if (!p.waitFor(SCRIPT_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail(script + " did not finish within " + SCRIPT_TIMEOUT + "\nstdout:\n" + String.join("\n", out) + "\nstderr:\n" + String.join("\n", err));
    }
    o.join(5_000);
    e.join(5_000);
    stdin.close();
    return new Result(p.exitValue(), List.copyOf(out), List.copyOf(err));
  }

  static Thread reader(InputStream in, List<String> lines, java.util.function.Consumer<String> each) {
    Thread t =
        new Thread(
            () -> {
              try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                  lines.add(line);
                  each.accept(line);
                }
              } catch (IOException ignored) {
                // the process ended
              }
            },
            "node-output");
    t.setDaemon(true);
    t.start();
    return t;
  }

  static String locateNode() {
    String explicit = System.getProperty("runlane.node", System.getenv("RUNLANE_NODE"));
    if (explicit != null && !explicit.isBlank()) {
      return Files.isExecutable(Path.of(explicit)) ? explicit : null;
    }
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    boolean windows = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("win");
    for (String d : path.split(File.pathSeparator)) {
      if (!d.isEmpty() && Files.isExecutable(Path.of(d, windows ? "node.exe" : "node"))) {
        return Path.of(d, windows ? "node.exe" : "node").toString();
      }
    }
    return null;
  }

  static int nodeMajor(String node) throws Exception {
    Process p = new ProcessBuilder(node, "--version").redirectErrorStream(true).start();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return 0;
    }
    String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    try {
      return Integer.parseInt(v.replaceFirst("^v", "").split("\\.")[0]);
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
