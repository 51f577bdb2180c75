package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.InvariantCheck;
import dev.runlane.Result;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.RunlaneAssertions;
import dev.runlane.testkit.TextCodec;
import dev.runlane.transport.Capability;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Which thread writes a run's frames with write threads on (docs/concepts/threading.md, "Write
 * threads"), through the public API on batching in-memory connections: a quiet node's lone
 * recipient is written by the publishing thread, a fan-out by a write thread; either way each
 * client gets every seq once, in order.
 */
class WriteThreadPathsTest {
  Runlane rl;

  @AfterEach
  void close() {
    if (rl != null) {
      rl.close();
    }
  }

  private InMemoryConnection open(InMemoryTransport tx, String id, List<String> senders) {
    InMemoryConnection c = tx.open("alice", id, Set.of(Capability.BATCHING));
    c.onFrame(f -> senders.add(Thread.currentThread().getName()));
    return c;
  }

  private static void await(java.util.function.BooleanSupplier done, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!done.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
      Thread.sleep(1);
    }
  }

  @Test
  void aQuietNodesLoneRecipientIsWrittenByThePublisherAFanOutByAWriteThread() throws Exception {
    rl = InvariantCheck.track(Runlane.builder().writeThreads(1).codec(new TextCodec()).build());
    InMemoryTransport tx = new InMemoryTransport(rl);
    List<String> lone = new CopyOnWriteArrayList<>();
    InMemoryConnection a = open(tx, "a", lone);
    Result<RunHandle> started = rl.startRun(StartRequest.of("s1", "alice").fromConnection(a.id()));
    RunHandle solo = started.orElseThrow();
    await(() -> !a.frames().isEmpty(), "run.started");
    Thread.sleep(5); // a window with nothing in it: the node is quiet
    lone.clear();
    String me = Thread.currentThread().getName();
    for (int i = 0; i < 5; i++) {
      solo.publish("delta", "d" + i);
    }
    assertEquals(List.of(me, me, me, me, me), lone, "written before publish returned, by the publisher");
    RunlaneAssertions.assertSeqs(a, solo.runId(), 1, 2, 3, 4, 5, 6);

    List<String> fan = new CopyOnWriteArrayList<>();
    InMemoryConnection b = open(tx, "b", fan);
    InMemoryConnection c = open(tx, "c", fan);
    RunHandle shared = rl.startRun(StartRequest.of("s2", "alice").fromConnection(b.id())).orElseThrow();
    c.sendText("sub s2 1 " + shared.epoch() + " " + shared.runId());
    fan.clear();
    for (int i = 0; i < 5; i++) {
      shared.publish("delta", "f" + i);
    }
    await(() -> fan.size() == 10, "the fan-out's 10 frames");
    assertTrue(fan.stream().allMatch(n -> n.startsWith("runlane-writer-")), "a fan-out is written by a write thread: " + fan);
    RunlaneAssertions.assertSeqs(b, shared.runId(), 1, 2, 3, 4, 5, 6);
    RunlaneAssertions.assertSeqs(c, shared.runId(), 2, 3, 4, 5, 6);
  }
}
