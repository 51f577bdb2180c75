package dev.runlane.clients.js;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Runs the client's unit tests with {@code node --test} for Maven's test phase (exec-maven-plugin
 * forks it). Node comes from {@code -Drunlane.node=PATH}, env {@code RUNLANE_NODE} or the PATH;
 * nothing is ever downloaded. Without a usable node (>= 20) it exits 1 when env {@code CI=true},
 * otherwise it prints a loud notice and exits 0 (the tests are skipped, not passed).
 */
public final class NodeTestRunner {
  private static final long TIMEOUT_MINUTES = 5;

  private NodeTestRunner() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    List<String> files = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      for (String f : args[i].split("[,\\s]+")) {
        if (!f.isBlank()) {
          files.add(f);
        }
      }
    }
    String node = findNode();
    String problem = node == null ? "no node on the PATH (set RUNLANE_NODE or -Drunlane.node)" : tooOld(node);
    if (problem != null) {
      boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
      String line = "=".repeat(78);
      System.err.println(line);
      System.err.println((ci ? "FAILED" : "SKIPPED") + ": the JavaScript client's tests need Node.js >= 20: " + problem);
      System.err.println(ci ? "CI=true: a missing node fails the build." : "Install Node.js 20+ to run them; CI=true makes this a failure.");
      System.err.println(line);
      System.exit(ci ? 1 : 0);
      return;
    }
    List<String> cmd = new ArrayList<>(List.of(node, "--test", "--test-reporter=dot"));
    cmd.addAll(files);
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).inheritIO().start();
    if (!p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      System.err.println("node --test did not finish within " + TIMEOUT_MINUTES + " minutes");
      System.exit(1);
      return;
    }
    int code = p.exitValue();
    System.out.println(code == 0 ? "node --test: all JavaScript client tests passed (" + files + ")" : "node --test failed: exit " + code);
    System.exit(code);
  }

  /** The node executable to use, or null. */
  static String findNode() {
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
      Path candidate = Path.of(d, windows ? "node.exe" : "node");
      if (!d.isEmpty() && Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    return null;
  }

  /** Null if {@code node --version} is 20 or newer, else why not. */
  static String tooOld(String node) throws Exception {
    Process p = new ProcessBuilder(node, "--version").redirectErrorStream(true).start();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return node + " --version did not answer";
    }
    String v = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
    try {
      int major = Integer.parseInt(v.replaceFirst("^v", "").split("\\.")[0]);
      return major >= 20 ? null : node + " is " + v + ", older than 20";
    } catch (NumberFormatException e) {
      return node + " --version answered " + v;
    }
  }
}
