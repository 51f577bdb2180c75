package dev.runlane.spec;

import static dev.runlane.testkit.RunlaneAssertions.assertSeqs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.Authorizer;
import dev.runlane.InvariantCheck;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.Result;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.TextCodec;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A client can ask for takeover on subscribe: its principal's other sockets stop receiving the run. */
class TakeoverOnTheWireTest {

  @Test
  void takeoverSubscribeRetiresTheSamePrincipalsStaleSocketsOnly() {
    Runlane rl =
        InvariantCheck.track(Runlane.builder()
            .codec(new TextCodec())
            .timeSource(new ManualTimeSource())
            .idleTimeout(Duration.ZERO)
            // alice and bob share session s
            .authorizer((p, a, s, owner) -> Authorizer.Decision.ALLOW)
            .build());
    InMemoryTransport tx = new InMemoryTransport(rl);
    InMemoryConnection stale = tx.open("alice");
    InMemoryConnection bob = tx.open("bob");
    RunHandle run =
        rl.startRun(StartRequest.of("s", "alice").fromConnection(stale.id())).orElseThrow();
    bob.sendText("sub s 0");
    run.publish("delta", "a"); // seq 2

    InMemoryConnection reloaded = tx.open("alice");
    reloaded.sendText("subx s 2 " + run.epoch());
    assertEquals("EXACT", reloaded.last("subscribed").get("status"));
    run.publish("delta", "b"); // seq 3

    assertSeqs(stale, run.runId(), 1, 2); // taken over: no seq 3
    assertSeqs(reloaded, run.runId(), 3); // no duplicate of what it passed as lastSeq
    assertSeqs(bob, run.runId(), 1, 2, 3); // another principal is untouched
    assertEquals(Set.of(bob.id(), reloaded.id()), rl.recipientsOf(run.runId()));
    assertTrue(stale.isOpen(), "the stale socket stays open for its other runs");
    rl.close();
  }
}
