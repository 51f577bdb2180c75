package dev.runlane.spec;

import static dev.runlane.spec.ClusterFixture.await;
import static dev.runlane.spec.ClusterFixture.seqs;
import static dev.runlane.spec.ClusterFixture.terminals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.Approval;
import dev.runlane.ErrorCode;
import dev.runlane.FailureReason;
import dev.runlane.InvariantCheck;
import dev.runlane.Result;
import dev.runlane.RunHandle;
import dev.runlane.RunOutcome;
import dev.runlane.RunState;
import dev.runlane.StartRequest;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.WireMessage;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The cluster promises one at a time, on three nodes sharing a {@link
 * dev.runlane.testkit.SharedMemoryCluster}: a run started on one node is resumed and followed on
 * the others exactly, commands reach its node, one run per session and one end per run hold across
 * nodes, a lost node's runs end once, and store trouble is a typed refusal.
 */
class ClusterBasicsTest {
  private final ClusterFixture fx = new ClusterFixture(3);

  @AfterEach
  void close() {
    fx.close();
  }

  private static List<Long> range(long from, long to) {
    return LongStream.rangeClosed(from, to).boxed().toList();
  }

  @Test
  void aRunStartedOnOneNodeIsResumedExactlyAndFollowedLiveOnAnother() {
    RunHandle run = fx.node(0).startRun(StartRequest.of("s1", "alice")).orElseThrow();
    for (int i = 0; i < 10; i++) {
      run.publish("token", "t" + i);
    }
    InMemoryConnection b = fx.open(1, "alice");
    b.sendText("sub s1 4 " + run.epoch() + " " + run.runId());
    WireMessage ack = b.last("subscribed");
    assertEquals("EXACT", ack.require("status"));
    assertEquals(11, ack.num("head"));
    assertEquals(range(5, 11), seqs(b, run.runId()), "exactly lastSeq + 1 .. head, from the store");
    for (int i = 0; i < 5; i++) {
      run.publish("token", "live" + i);
    }
    run.complete("done");
    await("the terminal on node 1", () -> terminals(b, run.runId()).size() == 1);
    fx.settle();
    assertEquals(range(5, 17), seqs(b, run.runId()), "no gap, no duplicate at the handoff");
    assertEquals(1, terminals(b, run.runId()).size());
    assertEquals("COMPLETED", terminals(b, run.runId()).get(0).require("state"));
  }

  @Test
  void aFollowerOnAnotherNodeResumesTheSessionsRunningRunAndAFinishedOneAnswersFinished() {
    RunHandle run = fx.node(0).startRun(StartRequest.of("s2", "alice")).orElseThrow();
    run.publish("token", "a");
    InMemoryConnection c = fx.open(2, "alice");
    c.sendText("sub s2 0");
    assertEquals("EXACT", c.last("subscribed").require("status"));
    assertEquals(run.runId(), c.last("subscribed").require("run"));
    run.publish("token", "b");
    run.complete(null);
    await("the terminal on node 2", () -> terminals(c, run.runId()).size() == 1);
    assertEquals(range(1, 4), seqs(c, run.runId()));

    InMemoryConnection late = fx.open(1, "alice");
    late.sendText("sub s2 2 " + run.epoch() + " " + run.runId());
    WireMessage ack = late.last("subscribed");
    assertEquals("FINISHED", ack.require("status"));
    assertEquals(range(3, 4), seqs(late, run.runId()));
    assertEquals(1, terminals(late, run.runId()).size());
  }

  @Test
  void typedResumeResultsAreTheSameOnEveryNode() {
    RunHandle run = fx.node(0).startRun(StartRequest.of("s3", "alice")).orElseThrow();
    run.publish("token", "a");
    InMemoryConnection b = fx.open(1, "alice");
    b.sendText("sub s3 1 wrong-epoch " + run.runId());
    assertEquals("EPOCH_CHANGED", b.last("subscribed").require("status"));
    b.sendText("sub s3 1 - run_does_not_exist");
    assertEquals("UNKNOWN_RUN", b.last("subscribed").require("status"));
    InMemoryConnection fresh = fx.open(2, "alice");
    fresh.sendText("sub s-none 0");
    assertEquals("NO_RUN_YET", fresh.last("subscribed").require("status"));
    run.complete(null);
    fx.settle();
  }

  @Test
  void anAbortIssuedOnAnotherNodeEndsTheRunOnceAndEveryNodesRecipientsGetTheTerminal() {
    RunHandle run = fx.node(0).startRun(StartRequest.of("s4", "alice")).orElseThrow();
    InMemoryConnection a = fx.open(0, "alice");
    a.sendText("sub s4 0");
    InMemoryConnection c = fx.open(2, "alice");
    c.sendText("sub s4 0");
    Result<RunOutcome> r = fx.node(1).abort(run.runId(), "alice");
    assertTrue(r.isOk(), "abort from node 1: " + r);
    assertEquals(RunState.ABORTED, run.state());
    await("the terminal on node 2", () -> terminals(c, run.runId()).size() == 1);
    assertEquals("run.aborted", terminals(c, run.runId()).get(0).require("kind"));
    assertEquals(1, terminals(a, run.runId()).size());
    assertFalse(fx.node(2).abort(run.runId(), "alice").isOk(), "a second abort finds no running run");
  }

  @Test
  void aClientAbortOnAnotherNodeNamingTheRunReachesIt() {
    RunHandle run = fx.node(0).startRun(StartRequest.of("s4b", "alice")).orElseThrow();
    InMemoryConnection b = fx.open(1, "alice");
    b.sendText("abort s4b " + run.runId());
    await("the abort", () -> run.state() == RunState.ABORTED);
    InMemoryConnection b2 = fx.open(1, "alice");
    RunHandle next = fx.node(2).startRun(StartRequest.of("s4c", "alice")).orElseThrow();
    b2.sendText("abort s4c");
    await("the session abort", () -> next.state() == RunState.ABORTED);
  }

  @Test
  void oneRunningRunPerSessionAcrossNodes() {
    RunHandle run = fx.node(0).startRun(StartRequest.of("s5", "alice")).orElseThrow();
    Result<RunHandle> second = fx.node(1).startRun(StartRequest.of("s5", "alice"));
    assertEquals(ErrorCode.RUN_IN_PROGRESS, ((Result.Refused<RunHandle>) second).code());
    run.complete(null);
    RunHandle next = fx.node(1).startRun(StartRequest.of("s5", "alice")).orElseThrow();
    assertEquals(RunState.RUNNING, next.state());
    next.complete(null);
    fx.settle();
  }

  @Test
  void anotherPrincipalCannotUseASessionOwnedOnAnotherNode() {
    RunHandle run = fx.node(0).startRun(StartRequest.of("s6", "alice")).orElseThrow();
    run.complete(null);
    Result<RunHandle> r = fx.node(1).startRun(StartRequest.of("s6", "mallory"));
    assertFalse(r.isOk(), "mallory may not start in alice's session on another node: " + r);
    InMemoryConnection m = fx.open(2, "mallory");
    m.sendText("sub s6 0");
    assertTrue(m.last("subscribed") == null, "mallory may not follow alice's session on another node");
  }

  @Test
  void stickyApprovalsAreInTheAckOnAnotherNodeAndAnAnswerThereReachesTheRuntimeOnce() {
    RunHandle run = fx.node(0).startRun(StartRequest.of("s7", "alice")).orElseThrow();
    List<Approval.Resolution> resolved = new CopyOnWriteArrayList<>();
    Approval ap = run.requestApproval("tool", null, (a, res, d, p) -> resolved.add(res));
    InMemoryConnection b = fx.open(1, "alice");
    b.sendText("sub s7 0");
    assertEquals(ap.approvalId(), b.last("subscribed").require("approvals"));
    b.sendText("resolve " + ap.approvalId() + " yes");
    assertEquals(List.of(Approval.Resolution.ANSWERED), resolved);
    await("the resolution on node 1", () -> b.last("approval_resolved") != null);
    InMemoryConnection c = fx.open(2, "alice");
    c.sendText("sub s7 0");
    fx.settle();
    assertEquals("", c.last("subscribed").fields().getOrDefault("approvals", ""), "resolved approvals are not sticky");
    b.sendText("resolve " + ap.approvalId() + " again");
    assertEquals(1, resolved.size(), "answered once");
    run.complete(null);
    fx.settle();
  }

  @Test
  void aLostNodesRunsEndOnceAsFailedAndEveryOtherNodesRecipientsGetIt() {
    List<RunOutcome> endedOn1 = new CopyOnWriteArrayList<>();
    RunHandle run = fx.node(0).startRun(StartRequest.of("s8", "alice")).orElseThrow();
    run.publish("token", "a");
    InMemoryConnection b = fx.open(1, "alice");
    b.sendText("sub s8 0");
    InMemoryConnection c = fx.open(2, "alice");
    c.sendText("sub s8 0 - " + run.runId());
    fx.cluster.kill("n0");
    await("the lost node's terminal on node 1", () -> terminals(b, run.runId()).size() == 1);
    await("the lost node's terminal on node 2", () -> terminals(c, run.runId()).size() == 1);
    WireMessage t = terminals(b, run.runId()).get(0);
    assertEquals("FAILED", t.require("state"));
    assertEquals(FailureReason.NODE_LOST.name(), t.require("reason"));
    assertTrue(t.require("message").contains("n0"), t.require("message"));
    assertEquals(range(1, 3), seqs(b, run.runId()), "nothing published before the death is lost");
    assertEquals(range(1, 3), seqs(c, run.runId()));
    assertTrue(fx.cluster.lostNodes().contains("n0"));
    // the session is free again, on a surviving node
    RunHandle next = fx.node(1).startRun(StartRequest.of("s8", "alice")).orElseThrow();
    next.complete(null);
    fx.settle();
    dev.runlane.Runlane dead = fx.nodes.remove(0);
    dev.runlane.InvariantCheck.untrack(dead); // cut off: its own view no longer describes the cluster
    dead.close();
  }

  @Test
  void storeTroubleIsATypedRefusalAndTheNodeRecovers() {
    RunHandle run = fx.node(0).startRun(StartRequest.of("s9", "alice")).orElseThrow();
    fx.cluster.storeDown(true);
    Result<Long> p = run.publish("token", "x");
    assertEquals(ErrorCode.ENGINE_UNAVAILABLE, ((Result.Refused<Long>) p).code());
    Result<RunHandle> s = fx.node(1).startRun(StartRequest.of("s9b", "alice"));
    assertEquals(ErrorCode.ENGINE_UNAVAILABLE, ((Result.Refused<RunHandle>) s).code());
    Result<RunOutcome> abort = fx.node(2).abort(run.runId(), "alice");
    assertEquals(ErrorCode.ENGINE_UNAVAILABLE, ((Result.Refused<RunOutcome>) abort).code());
    assertEquals(RunState.RUNNING, run.state(), "nothing happened to the run");
    InMemoryConnection b = fx.open(1, "alice");
    b.sendText("sub s9 0 - " + run.runId());
    assertEquals("ENGINE_UNAVAILABLE", b.last("error").require("code"));
    fx.cluster.storeDown(false);
    assertEquals(2L, run.publish("token", "y").orElseThrow(), "the refused event took no seq");
    b.sendText("sub s9 0 - " + run.runId());
    assertEquals("EXACT", b.last("subscribed").require("status"));
    run.complete(null);
    await("the terminal on node 1", () -> terminals(b, run.runId()).size() == 1);
    assertEquals(range(1, 3), seqs(b, run.runId()));
  }

  @Test
  void aMirrorNobodyReceivesIsRetiredAndItsTailClosed() {
    RunHandle run = fx.node(0).startRun(StartRequest.of("s10", "alice")).orElseThrow();
    InMemoryConnection b = fx.open(1, "alice");
    b.sendText("sub s10 0 - " + run.runId());
    assertEquals(1, fx.node(1).runCount());
    b.clientClose(dev.runlane.transport.CloseReason.NORMAL);
    assertEquals(0, fx.node(1).runCount(), "the mirror left with its last recipient");
    assertEquals(0, fx.cluster.openTails());
    run.complete(null);
    fx.settle();
  }

  @Test
  void aSessionFollowerOnAnotherNodeGetsEveryLaterRunFromItsStart() {
    InMemoryConnection f = fx.open(1, "alice");
    f.sendText("sub s11 0");
    assertEquals("NO_RUN_YET", f.last("subscribed").require("status"));
    for (int round = 0; round < 3; round++) {
      int owner = round == 1 ? 2 : 0;
      RunHandle run = fx.node(owner).startRun(StartRequest.of("s11", "alice")).orElseThrow();
      run.publish("token", "a" + round);
      run.complete(null);
      await("run " + round + " on the follower's node", () -> terminals(f, run.runId()).size() == 1);
      assertEquals(range(1, 3), seqs(f, run.runId()), "run.started, the event, the terminal");
    }
    f.clientClose(dev.runlane.transport.CloseReason.NORMAL);
    fx.settle();
    assertEquals(0, fx.cluster.openTails(), "no tail or session watch left once the follower left");
  }

  @Test
  void aFollowerOfAnotherPrincipalIsVettedBeforeARunStartedElsewhereReachesIt() {
    InMemoryConnection m = fx.open(1, "mallory");
    m.sendText("sub s12 0");
    RunHandle run = fx.node(0).startRun(StartRequest.of("s12", "alice")).orElseThrow();
    run.publish("token", "secret");
    run.complete(null);
    fx.settle();
    assertEquals(List.of(), seqs(m, run.runId()), "mallory follows an unowned session: alice's run must not reach her");
    m.clientClose(dev.runlane.transport.CloseReason.NORMAL);
  }

  @Test
  void aFrozenOwnerTakenForLostIsFencedAndEndsItsOwnCopyOnce() {
    List<RunOutcome> listened = new CopyOnWriteArrayList<>();
    RunHandle run = fx.node(0).startRun(StartRequest.of("s13", "alice")).orElseThrow();
    run.publish("token", "a");
    InMemoryConnection local = fx.open(0, "alice");
    local.sendText("sub s13 0 - " + run.runId());
    InMemoryConnection remote = fx.open(1, "alice");
    remote.sendText("sub s13 0 - " + run.runId());
    fx.cluster.freeze("n0", true); // stops renewing its lease, keeps its store access
    await("the survivors' terminal on node 1", () -> terminals(remote, run.runId()).size() == 1);
    assertEquals(FailureReason.NODE_LOST.name(), terminals(remote, run.runId()).get(0).require("reason"));
    fx.cluster.freeze("n0", false);
    Result<Long> late = run.publish("token", "after the survivors' end");
    assertEquals(ErrorCode.RUN_ENDED, ((Result.Refused<Long>) late).code(), "the woken owner's write is fenced");
    assertEquals(RunState.FAILED, run.state());
    assertEquals(FailureReason.NODE_LOST, run.outcome().orElseThrow().failureReason());
    assertFalse(run.complete(null).isOk(), "one end per run");
    fx.settle();
    assertEquals(1, terminals(local, run.runId()).size(), "the owner's own client got one terminal");
    assertEquals(range(1, 3), seqs(local, run.runId()));
    assertEquals(range(1, 3), seqs(remote, run.runId()));
    RunHandle next = fx.node(0).startRun(StartRequest.of("s13", "alice")).orElseThrow();
    next.complete(null);
    fx.settle();
  }

  @Test
  void aStoreThatLostTheRunIsNeverASilentGapOnAMirror() {
    RunHandle run = fx.node(0).startRun(StartRequest.of("s14", "alice")).orElseThrow();
    for (int i = 0; i < 5; i++) {
      run.publish("token", "t" + i);
    }
    InMemoryConnection b = fx.open(1, "alice");
    b.sendText("sub s14 0");
    fx.settle();
    assertEquals(range(1, 6), seqs(b, run.runId()));
    fx.cluster.wipe(); // the store restarted empty; node 1's mirror does not know yet
    InMemoryConnection late = fx.open(1, "alice");
    late.sendText("sub s14 3 " + run.epoch() + " " + run.runId());
    assertEquals("UNKNOWN_RUN", late.last("subscribed").require("status"), "never EXACT or TRUNCATED from a store that lost the run");
    await("node 1's mirror dropped", () -> b.last("error") != null);
    assertEquals("ENGINE_UNAVAILABLE", b.last("error").require("code"), "its recipient is told to subscribe again");
    assertEquals(range(1, 6), seqs(b, run.runId()), "what it got has no gap and no duplicate");
    InvariantCheck.untrack(fx.node(0)); // its running run's claim was wiped with the store
    b.clientClose(dev.runlane.transport.CloseReason.NORMAL);
    late.clientClose(dev.runlane.transport.CloseReason.NORMAL);
    fx.settle();
  }
}
