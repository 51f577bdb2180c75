package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.InvariantCheck;
import dev.runlane.RunHandle;
import dev.runlane.RunState;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.Result;
import dev.runlane.TimeSource;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.TextCodec;
import dev.runlane.testkit.RunlaneAssertions;
import dev.runlane.testsupport.CapturedLogs;
import dev.runlane.transport.CloseReason;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/** A host TimeSource that refuses tasks must not break publishing, ending or closing. */
class ThrowingTimeSourceTest {

  static final class Refusing implements TimeSource {
    @Override
    public long nanoTime() {
      return 0;
    }

    @Override
    public long epochMillis() {
      return 0;
    }

    @Override
    public Cancellable schedule(long delayNanos, Runnable task) {
      throw new IllegalStateException("timer is shut down");
    }
  }

  @Test
  void publishEndAndCloseCarryOn() {
    Runlane rl = InvariantCheck.track(Runlane.builder().codec(new TextCodec()).timeSource(new Refusing()).build());
    InMemoryTransport tx = new InMemoryTransport(rl);
    InMemoryConnection a = tx.open("alice");
    RunHandle r =
        rl.startRun(StartRequest.of("s", "alice").fromConnection(a.id()).withTimeout(Duration.ofSeconds(5))).orElseThrow();
    assertDoesNotThrow(() -> r.publish("delta", 1));
    assertDoesNotThrow(() -> r.requestApproval("ok?", Duration.ofSeconds(1), (ap, res, d, p) -> {}));
    assertDoesNotThrow(() -> r.complete(null)); // schedules retention
    assertEquals(RunState.COMPLETED, r.state());
    RunlaneAssertions.assertSeqs(a, r.runId(), 1, 2, 3);
    assertDoesNotThrow(() -> rl.disconnect(a.id(), CloseReason.NORMAL)); // schedules the terminate
    assertEquals(0, rl.connectionCount());
    rl.close();
    // each refused schedule is reported, with the time source's own exception
    assertFalse(CapturedLogs.matching(Level.ERROR, "the TimeSource refused a task").isEmpty());
    for (CapturedLogs.Entry e : CapturedLogs.matching(Level.ERROR, "the TimeSource refused a task")) {
      assertTrue(e.error() instanceof IllegalStateException, e.render());
    }
  }
}
