package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.InvariantCheck;
import dev.runlane.Runlane;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.TextCodec;
import dev.runlane.transport.Capability;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Commands travel on the primary: a frame on the paired stream transport keeps the pair alive but
 * is never executed, so the primary's commands are never handled on two threads at once (T7.1).
 */
class StreamTransportInboundTest {

  @Test
  void framesOnTheStreamTransportAreActivityNotCommands() {
    ManualTimeSource time = new ManualTimeSource();
    Runlane rl =
        InvariantCheck.track(Runlane.builder()
            .codec(new TextCodec())
            .timeSource(time)
            .heartbeatInterval(Duration.ZERO)
            .idleTimeout(Duration.ofSeconds(10))
            .build());
    InMemoryTransport tx = new InMemoryTransport(rl);
    InMemoryConnection primary = tx.open("alice", "p1", Set.of(Capability.STREAM_TRANSPORT));
    long generation = primary.messages("welcome").get(0).num("generation");
    InMemoryConnection stream = tx.openStream(primary, generation);
    assertEquals(1, primary.messages("stream_paired").size());

    stream.sendText("ping"); // not executed: no heartbeat answer anywhere
    stream.sendText("start s1 hello");
    assertNull(primary.last("heartbeat"));
    assertNull(primary.last("error"));
    assertTrue(rl.currentRun("s1").isEmpty(), "a command on the stream transport must not run");

    // ... but it counts as activity: the pair outlives the idle timeout while the stream talks
    for (int i = 0; i < 4; i++) {
      time.advance(Duration.ofSeconds(4));
      stream.activity();
      stream.sendText("ping");
    }
    assertTrue(primary.isOpen() && stream.isOpen(), "activity on the stream transport keeps the pair alive");
    rl.close();
  }
}
