package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.transport.CloseReason;
import dev.runlane.testkit.InMemoryConnection;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * P8: a connection that floods commands is answered {@code RATE_LIMITED}, then closed with 4029;
 * pings are liveness and never charged; nobody else is disturbed (issue 12, item 5).
 */
class CommandBudgetTest {

  private static int errors(InMemoryConnection c, String code) {
    return c.messages(m -> m.type().equals("error") && code.equals(m.get("code"))).size();
  }

  @Test
  void aBurstOverTheBudgetIsRefusedThenRefilledByTime() {
    try (LifecycleFixture f = new LifecycleFixture(b -> b.commandRate(10, 5))) {
      InMemoryConnection a = f.open("alice");
      for (int i = 0; i < 10; i++) {
        a.sendText("unsub s" + i);
      }
      assertEquals(0, errors(a, "RATE_LIMITED"), "within the burst");
      a.sendText("start s1 hi");
      assertEquals("RATE_LIMITED", a.last("error").get("code"));
      assertTrue(f.rl.currentRun("s1").isEmpty(), "a refused command was executed");
      f.time.advance(Duration.ofSeconds(1)); // 5 more
      a.sendText("start s1 hi");
      assertTrue(f.rl.currentRun("s1").isPresent(), "the budget did not refill");
      assertTrue(a.isOpen());
    }
  }

  @Test
  void pingsAreNeverCharged() {
    try (LifecycleFixture f = new LifecycleFixture(b -> b.commandRate(2, 1))) {
      InMemoryConnection a = f.open("alice");
      for (int i = 0; i < 500; i++) {
        a.sendText("ping");
      }
      assertEquals(0, errors(a, "RATE_LIMITED"));
      assertEquals(500, a.messages("heartbeat").size());
      a.sendText("start s1 hi");
      assertTrue(f.rl.currentRun("s1").isPresent());
      assertTrue(a.isOpen());
    }
  }

  @Test
  void aConnectionThatKeepsFloodingIsClosedAndOnlyIt() {
    try (LifecycleFixture f = new LifecycleFixture(b -> b.commandRate(5, 1))) {
      InMemoryConnection flood = f.open("mallory");
      InMemoryConnection alice = f.open("alice");
      var run = f.start("a1", "alice", alice);
      for (int i = 0; i < 5 + 5; i++) {
        flood.sendText("unsub x");
      }
      assertEquals(5, errors(flood, "RATE_LIMITED"), "refused, not yet closed");
      assertTrue(flood.isOpen());
      flood.sendText("unsub x");
      assertEquals(CloseReason.RATE_LIMITED, flood.closeReason());
      assertEquals(4029, CloseReason.RATE_LIMITED.code());
      assertTrue(run.publish("delta", "alice carries on").isOk());
      assertTrue(alice.isOpen());
      assertNull(alice.last("error"));
    }
  }

  @Test
  void aZeroRateTurnsTheBudgetOff() {
    try (LifecycleFixture f = new LifecycleFixture(b -> b.commandRate(1, 0))) {
      InMemoryConnection a = f.open("alice");
      for (int i = 0; i < 1000; i++) {
        a.sendText("unsub s");
      }
      assertEquals(0, errors(a, "RATE_LIMITED"));
      assertFalse(a.closeReason() != null);
    }
  }
}
