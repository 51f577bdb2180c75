package dev.runlane.examples.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.Runlane;
import dev.runlane.protocol.json.JsonWireCodec;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.WireMessage;
import dev.runlane.transport.Connection;
import dev.runlane.transport.InboundHandler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's ten-line example is this file's code, compiled and run: the test fails if the
 * README's block and the region between the markers below drift apart.
 */
class ReadmeExampleTest {

  /** Stands in for the host's model client. */
  interface Model {
    List<String> stream(Object input);
  }

  static Runlane tenLines(Model model, Connection myConnection) {
    // README:begin
    Runlane runlane = Runlane.builder()
        .codec(new JsonWireCodec())                 // the wire format (runlane-protocol-json)
        .runtime((run, input) -> {                  // your agent: publish events, then end the run
          for (String token : model.stream(input)) run.publish("delta", token);
          run.complete(null);
        })
        .build();

    // in your WebSocket open handler, once the user is authenticated:
    InboundHandler inbound = runlane.connect(myConnection);  // forward frames and the close to it
    // README:end
    ((InMemoryConnection) myConnection).bind(inbound);
    return runlane;
  }

  @Test
  void theReadmeBlockIsThisCode() throws Exception {
    Path root = Path.of("").toAbsolutePath();
    while (!Files.exists(root.resolve("README.md")) || !Files.exists(root.resolve("core"))) {
      root = root.getParent();
    }
    String readme = Files.readString(root.resolve("README.md"));
    Matcher m = Pattern.compile("## Ten lines\\s+```java\\n(.*?)```", Pattern.DOTALL).matcher(readme);
    assertTrue(m.find(), "README has a ten-line java block");
    String source =
        Files.readString(root.resolve("examples/chat-server/src/test/java/dev/runlane/examples/chat/ReadmeExampleTest.java"));
    String region = source.substring(source.indexOf("// README:begin\n") + 16, source.indexOf("    // README:end"));
    StringBuilder dedented = new StringBuilder();
    for (String line : region.split("\n", -1)) {
      dedented.append(line.startsWith("    ") ? line.substring(4) : line).append('\n');
    }
    assertEquals(m.group(1).strip(), dedented.toString().strip());
  }

  @Test
  void theReadmeCodeStreamsARun() {
    InMemoryConnection alice = new InMemoryConnection("c1", "alice", Set.of());
    try (Runlane runlane = tenLines(input -> List.of("Hel", "lo"), alice)) {
      alice.sendText("{\"type\":\"chat.send\",\"sessionId\":\"alice/chat\",\"content\":\"hi\"}");
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (alice.messages(mm -> mm.type().equals("event") && "run.completed".equals(mm.get("kind"))).isEmpty()
          && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
      List<WireMessage> events = alice.messages("event");
      assertEquals(List.of("run.started", "delta", "delta", "run.completed"), events.stream().map(e -> e.get("kind")).toList());
    }
  }
}
