package dev.runlane.spec;

import static dev.runlane.spec.LifecycleFixture.assertOneTerminal;
import static dev.runlane.spec.LifecycleFixture.events;
import static dev.runlane.testkit.RunlaneAssertions.assertNoEvents;
import static dev.runlane.testkit.RunlaneAssertions.assertSeqRange;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.InvariantCheck;
import dev.runlane.Runlane;
import dev.runlane.RunHandle;
import dev.runlane.RunState;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.TextCodec;
import dev.runlane.testkit.WireMessage;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The lifecycle commands a client sends (through {@link TextCodec}): {@code start}, {@code abort},
 * {@code resolve}. Refusals come back as {@code error code=...} on the sending connection only.
 */
class LifecycleInboundTest {
  LifecycleFixture fx = new LifecycleFixture();

  @AfterEach
  void close() {
    fx.close();
  }

  /** Frame counts of connections that must not hear about another connection's command. */
  static int[] counts(InMemoryConnection... cs) {
    int[] out = new int[cs.length];
    for (int i = 0; i < cs.length; i++) {
      out[i] = cs[i].frames().size();
    }
    return out;
  }

  @Test
  void startWithoutARuntimeIsUnsupported() {
    Runlane rl = InvariantCheck.track(Runlane.builder().codec(new TextCodec()).timeSource(new ManualTimeSource()).build());
    try {
      InMemoryConnection a = new InMemoryTransport(rl).open("alice");
      a.sendText("start s1 hello");
      WireMessage err = a.last("error");
      assertNotNull(err);
      assertEquals("UNSUPPORTED", err.get("code"));
      assertEquals("s1", err.get("session"));
      assertTrue(rl.currentRun("s1").isEmpty());
      assertNoEvents(a);
    } finally {
      rl.close();
    }
  }

  @Test
  void startRunsTheRuntimeWithTheInputAndTheSenderFollows() {
    AtomicReference<Object> input = new AtomicReference<>();
    fx.body =
        (run, in) -> {
          input.set(in);
          run.publish("delta", "hi");
          run.complete("bye");
        };
    InMemoryConnection a = fx.open("alice");
    a.sendText("start s1 " + TextCodec.enc("hello world"));
    RunHandle run = fx.rl.currentRun("s1").orElseThrow();
    assertEquals("hello world", input.get());
    assertEquals("alice", run.owner());
    List<WireMessage> ev = events(a, run.runId());
    assertEquals("run.started", ev.get(0).get("kind"));
    assertEquals("hello world", ev.get(0).get("data"));
    assertSeqRange(a, run.runId(), 1, 3);
    assertOneTerminal(a, run.runId(), "run.completed");
    assertNull(a.last("error"));

    // the sender follows the session: a run started by the host (e.g. a scheduled turn) reaches it
    RunHandle hostRun = fx.start("s1", "alice", null);
    hostRun.publish("delta", "scheduled");
    assertSeqRange(a, hostRun.runId(), 1, 2);
  }

  @Test
  void startWhileRunningIsRunInProgressForTheSenderOnly() {
    List<Runnable> later = new java.util.ArrayList<>();
    try (LifecycleFixture f = new LifecycleFixture(b -> b.runtimeExecutor(later::add))) {
      InMemoryConnection a = f.open("alice");
      InMemoryConnection tab2 = f.open("alice");
      InMemoryConnection bob = f.open("bob");
      a.sendText("start s1 one");
      RunHandle run = f.rl.currentRun("s1").orElseThrow();
      tab2.sendText("sub s1 0");
      int[] before = counts(a, bob);

      tab2.sendText("start s1 two");

      WireMessage err = tab2.last("error");
      assertEquals("RUN_IN_PROGRESS", err.get("code"));
      assertEquals("s1", err.get("session"));
      assertEquals(before[0], a.frames().size(), "the error went to another tab");
      assertEquals(before[1], bob.frames().size());
      assertEquals(1, later.size(), "a refused start must not run a runtime");
      assertEquals(1, run.headSeq());
      assertEquals(RunState.RUNNING, run.state());

      bob.sendText("start s1 mine");
      assertEquals("SESSION_NOT_FOUND", bob.last("error").get("code"), "bob may not even see s1");
      assertEquals(1, later.size());
    }
  }

  @Test
  void abortCommandsAndTheirErrors() {
    List<Runnable> later = new java.util.ArrayList<>();
    try (LifecycleFixture f = new LifecycleFixture(b -> b.runtimeExecutor(later::add))) {
      InMemoryConnection a = f.open("alice");
      InMemoryConnection tab2 = f.open("alice");
      InMemoryConnection bob = f.open("bob");
      a.sendText("start s1 one");
      RunHandle run = f.rl.currentRun("s1").orElseThrow();
      tab2.sendText("sub s1 0");

      bob.sendText("abort s1");
      assertEquals("SESSION_NOT_FOUND", bob.last("error").get("code"));
      assertEquals(RunState.RUNNING, run.state());

      int[] before = counts(bob);
      tab2.sendText("abort s1");
      assertEquals(RunState.ABORTED, run.state());
      assertOneTerminal(a, run.runId(), "run.aborted");
      assertOneTerminal(tab2, run.runId(), "run.aborted");
      assertNull(tab2.last("error"));
      assertEquals(before[0], bob.frames().size());

      int aBefore = a.frames().size();
      tab2.sendText("abort s1");
      assertEquals("NO_ACTIVE_RUN", tab2.last("error").get("code"));
      assertEquals(aBefore, a.frames().size());

      tab2.sendText("abort");
      assertEquals("SESSION_ID_REQUIRED", tab2.last("error").get("code"));
      tab2.sendText("abort -");
      assertEquals("SESSION_ID_REQUIRED", tab2.last("error").get("code"));

      // the runtime of the aborted run finally runs: its output is dropped, the net loses
      later.get(0).run();
      assertSeqRange(a, run.runId(), 1, 2);
      assertEquals(1, f.endedOf(run).size());
    }
  }

  @Test
  void resolveCommandErrors() {
    InMemoryConnection a = fx.open("alice");
    a.sendText("resolve");
    assertEquals("INVALID_PAYLOAD", a.last("error").get("code"));
    a.sendText("resolve ap_unknown yes");
    assertEquals("UNKNOWN_APPROVAL", a.last("error").get("code"));
    assertTrue(a.isOpen());
  }
}
