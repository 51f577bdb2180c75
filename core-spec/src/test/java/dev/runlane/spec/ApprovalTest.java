package dev.runlane.spec;

import static dev.runlane.testkit.RunlaneAssertions.assertNoEvents;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.Action;
import dev.runlane.Approval;
import dev.runlane.AttachMode;
import dev.runlane.Authorizer;
import dev.runlane.ErrorCode;
import dev.runlane.RunHandle;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.Result;
import dev.runlane.SubscribeTarget;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.WireMessage;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Pending tool approvals (issue 4): delivered on the control lane to the run's recipients, sticky in
 * every later subscribe acknowledgement, resolved exactly once (answer, expiry or the run's end),
 * with the resolution going to the host's callback and to every recipient.
 */
class ApprovalTest {
  LifecycleFixture fx = new LifecycleFixture();

  @AfterEach
  void close() {
    fx.close();
  }

  /** Records every callback call. */
  static final class Calls implements Approval.Callback {
    record Call(Approval approval, Approval.Resolution resolution, @Nullable Object decision, @Nullable String by) {}

    final List<Call> calls = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void resolved(Approval approval, Approval.Resolution resolution, @Nullable Object decision, @Nullable String by) {
      calls.add(new Call(approval, resolution, decision, by));
    }

    Call only() {
      assertEquals(1, calls.size(), "callback calls: " + calls);
      return calls.get(0);
    }
  }

  static SubscribeAck ack(Result<SubscribeAck> r) {
    return r.orElseThrow();
  }

  static List<String> ids(List<Approval> approvals) {
    List<String> out = new ArrayList<>();
    for (Approval a : approvals) {
      out.add(a.approvalId());
    }
    return out;
  }

  /**
   * The refresh bug: the user reloads the page while a tool approval is pending. The new page's
   * subscribe acknowledgement carries the approval; answering it from there reaches the host once
   * and closes the prompt in every tab; answering again is UNKNOWN_APPROVAL.
   */
  @Test
  void pendingApprovalSurvivesRefreshAndIsResolvedOnceForEveryTab() {
    InMemoryConnection page = fx.open("alice");
    InMemoryConnection tab2 = fx.open("alice");
    InMemoryConnection bob = fx.open("bob");
    RunHandle run = fx.start("s1", "alice", page);
    tab2.sendText("sub s1 0");
    Calls cb = new Calls();
    Approval ap = run.requestApproval("rm -rf build/", null, cb);
    assertNotNull(ap);
    assertEquals(run.runId(), ap.runId());
    assertEquals("s1", ap.sessionId());
    for (InMemoryConnection c : List.of(page, tab2)) {
      WireMessage req = c.last("approval");
      assertNotNull(req, c.id() + " did not get the approval request");
      assertEquals(ap.approvalId(), req.get("id"));
      assertEquals("rm -rf build/", req.get("data"));
    }
    assertNoApprovalTraffic(bob);

    page.clientClose(CloseReason.NORMAL); // refresh
    InMemoryConnection reloaded = fx.open("alice");
    reloaded.sendText("sub s1 0");
    WireMessage ackMsg = reloaded.last("subscribed");
    assertEquals(ap.approvalId(), ackMsg.get("approvals"));
    Result<SubscribeAck> viaApi =
        fx.rl.subscribe(fx.open("alice").id(), SubscribeTarget.session("s1", 0, null), AttachMode.ADDITIVE);
    assertEquals(List.of(ap), ack(viaApi).pendingApprovals(), "the ack carries the whole approval");
    assertTrue(cb.calls.isEmpty(), "a disconnect must not resolve an approval");

    reloaded.sendText("resolve " + ap.approvalId() + " yes");

    Calls.Call call = cb.only();
    assertEquals(Approval.Resolution.ANSWERED, call.resolution());
    assertEquals("yes", call.decision());
    assertEquals("alice", call.by());
    for (InMemoryConnection c : List.of(reloaded, tab2)) {
      List<WireMessage> res = c.messages("approval_resolved");
      assertEquals(1, res.size(), c.id() + ": " + res);
      assertEquals(ap.approvalId(), res.get(0).get("id"));
      assertEquals("ANSWERED", res.get(0).get("resolution"));
      assertEquals("yes", res.get(0).get("decision"));
      assertEquals("alice", res.get(0).get("by"));
    }
    assertNoApprovalTraffic(bob);

    int tab2Before = tab2.frames().size();
    reloaded.sendText("resolve " + ap.approvalId() + " no");
    assertEquals("UNKNOWN_APPROVAL", reloaded.last("error").get("code"));
    assertEquals(tab2Before, tab2.frames().size(), "the refusal went to another tab");
    assertEquals(ErrorCode.UNKNOWN_APPROVAL, fx.rl.resolveApproval(ap.approvalId(), "alice", "no").refusalCode().orElse(null));
    cb.only();

    InMemoryConnection later = fx.open("alice");
    later.sendText("sub s1 0");
    assertEquals("", later.last("subscribed").get("approvals"), "a resolved approval is no longer pending");
  }

  static void assertNoApprovalTraffic(InMemoryConnection c) {
    assertTrue(c.messages("approval").isEmpty(), c.id() + " got " + c.messages());
    assertTrue(c.messages("approval_resolved").isEmpty(), c.id() + " got " + c.messages());
  }

  /** Requests and resolutions travel on the control lane, so they overtake a stream backlog. */
  @Test
  void approvalsTravelOnTheControlLane() {
    InMemoryConnection a = fx.open("alice");
    RunHandle run = fx.start("s1", "alice", a);
    Approval ap = run.requestApproval("tool", null, new Calls());
    fx.rl.resolveApproval(ap.approvalId(), "alice", "ok");
    int seen = 0;
    for (Frame f : a.frames()) {
      WireMessage m = dev.runlane.testkit.TextCodec.parse(f.payload());
      if (m.type().startsWith("approval")) {
        assertEquals(Lane.CONTROL, f.lane(), m.toString());
        seen++;
      }
    }
    assertEquals(2, seen);
  }

  @Test
  void expiryResolvesOnceAndTellsEveryRecipient() {
    InMemoryConnection a = fx.open("alice");
    InMemoryConnection tab2 = fx.open("alice");
    RunHandle run = fx.start("s1", "alice", a);
    tab2.sendText("sub s1 0");
    Calls cb = new Calls();
    Approval ap = run.requestApproval("deploy?", Duration.ofSeconds(30), cb);
    assertEquals(fx.time.epochMillis() + 30_000, ap.expiresAtEpochMillis());

    fx.time.advance(Duration.ofSeconds(29));
    assertTrue(cb.calls.isEmpty());
    fx.time.advance(Duration.ofSeconds(1));

    Calls.Call call = cb.only();
    assertEquals(Approval.Resolution.EXPIRED, call.resolution());
    assertNull(call.decision());
    assertNull(call.by());
    for (InMemoryConnection c : List.of(a, tab2)) {
      WireMessage res = c.last("approval_resolved");
      assertNotNull(res, c.id());
      assertEquals("EXPIRED", res.get("resolution"));
    }
    assertEquals(ErrorCode.UNKNOWN_APPROVAL, fx.rl.resolveApproval(ap.approvalId(), "alice", "late").refusalCode().orElse(null));
    fx.time.advance(Duration.ofMinutes(1));
    cb.only();
    assertEquals(dev.runlane.RunState.RUNNING, run.state(), "an expired approval does not end its run");
  }

  @Test
  void answeredApprovalDoesNotExpireLater() {
    InMemoryConnection a = fx.open("alice");
    RunHandle run = fx.start("s1", "alice", a);
    Calls cb = new Calls();
    Approval ap = run.requestApproval("x", Duration.ofSeconds(5), cb);
    assertNull(fx.rl.resolveApproval(ap.approvalId(), "alice", "yes").refusalCode().orElse(null));
    fx.time.advance(Duration.ofSeconds(10));
    assertEquals(Approval.Resolution.ANSWERED, cb.only().resolution());
    assertEquals(1, a.messages("approval_resolved").size());
  }

  @Test
  void runEndResolvesEveryPendingApproval() {
    InMemoryConnection a = fx.open("alice");
    RunHandle run = fx.start("s1", "alice", a);
    Calls cb1 = new Calls();
    Calls cb2 = new Calls();
    Approval ap1 = run.requestApproval("one", null, cb1);
    Approval ap2 = run.requestApproval("two", Duration.ofSeconds(5), cb2);
    assertNotEquals(ap1.approvalId(), ap2.approvalId());
    InMemoryConnection tab2 = fx.open("alice");
    tab2.sendText("sub s1 0");
    assertEquals(ap1.approvalId() + "," + ap2.approvalId(), tab2.last("subscribed").get("approvals"));

    assertTrue(fx.rl.abort(run.runId(), "alice").isOk());

    assertEquals(Approval.Resolution.RUN_ENDED, cb1.only().resolution());
    assertEquals(Approval.Resolution.RUN_ENDED, cb2.only().resolution());
    for (InMemoryConnection c : List.of(a, tab2)) {
      List<WireMessage> res = c.messages("approval_resolved");
      assertEquals(2, res.size(), c.id() + ": " + res);
      for (WireMessage m : res) {
        assertEquals("RUN_ENDED", m.get("resolution"));
      }
    }
    fx.time.advance(Duration.ofSeconds(10)); // ap2's expiry must not fire a second resolution
    cb2.only();
    assertEquals(ErrorCode.UNKNOWN_APPROVAL, fx.rl.resolveApproval(ap1.approvalId(), "alice", "y").refusalCode().orElse(null));
    InMemoryConnection late = fx.open("alice");
    late.sendText("sub s1 0");
    assertEquals("", late.last("subscribed").get("approvals"));
    assertNull(run.requestApproval("after the end", null, new Calls()), "an ended run cannot ask");
  }

  /** With the default authorizer another user cannot even learn that the approval exists. */
  @Test
  void otherPrincipalsCannotResolve() {
    InMemoryConnection a = fx.open("alice");
    InMemoryConnection bob = fx.open("bob");
    RunHandle run = fx.start("s1", "alice", a);
    Calls cb = new Calls();
    Approval ap = run.requestApproval("x", null, cb);
    int aBefore = a.frames().size();
    bob.sendText("resolve " + ap.approvalId() + " yes");
    assertEquals("UNKNOWN_APPROVAL", bob.last("error").get("code"));
    assertEquals(ErrorCode.UNKNOWN_APPROVAL, fx.rl.resolveApproval(ap.approvalId(), "bob", "yes").refusalCode().orElse(null));
    assertTrue(cb.calls.isEmpty());
    assertEquals(aBefore, a.frames().size());
    assertNull(fx.rl.resolveApproval(ap.approvalId(), "alice", "yes").refusalCode().orElse(null));
    cb.only();
  }

  @Test
  void authorizerDecidesWhoElseMayResolve() {
    Authorizer teamLead =
        (principal, action, sessionId, owner) -> {
          if (owner == null || principal.equals(owner)) {
            return Authorizer.Decision.ALLOW;
          }
          if (principal.equals("lead") && action == Action.RESOLVE_APPROVAL) {
            return Authorizer.Decision.ALLOW;
          }
          return Authorizer.Decision.DENY;
        };
    try (LifecycleFixture f = new LifecycleFixture(b -> b.authorizer(teamLead))) {
      InMemoryConnection a = f.open("alice");
      InMemoryConnection mallory = f.open("mallory");
      InMemoryConnection lead = f.open("lead");
      RunHandle run = f.start("s1", "alice", a);
      Calls cb = new Calls();
      Approval ap = run.requestApproval("x", null, cb);
      mallory.sendText("resolve " + ap.approvalId() + " yes");
      assertEquals("FORBIDDEN", mallory.last("error").get("code"));
      assertTrue(cb.calls.isEmpty());
      lead.sendText("resolve " + ap.approvalId() + " approved");
      assertEquals("lead", cb.only().by());
      assertEquals("lead", a.last("approval_resolved").get("by"));
      assertNull(lead.last("error"));
      assertNoEvents(lead); // resolving does not make lead a recipient
    }
  }

  @Test
  void throwingCallbackBreaksNothing() {
    InMemoryConnection a = fx.open("alice");
    RunHandle run = fx.start("s1", "alice", a);
    Approval ap =
        run.requestApproval(
            "x",
            null,
            (approval, resolution, decision, by) -> {
              throw new LifecycleFixture.Scripted("host callback bug");
            });
    assertNull(fx.rl.resolveApproval(ap.approvalId(), "alice", "yes").refusalCode().orElse(null));
    assertEquals("ANSWERED", a.last("approval_resolved").get("resolution"));
    assertEquals(ErrorCode.UNKNOWN_APPROVAL, fx.rl.resolveApproval(ap.approvalId(), "alice", "yes").refusalCode().orElse(null));
    assertTrue(run.publish("delta", "goes on").isOk());
    Approval ap2 =
        run.requestApproval(
            "y",
            null,
            (approval, resolution, decision, by) -> {
              throw new LifecycleFixture.Scripted("host callback bug");
            });
    assertTrue(run.complete(null).isOk());
    assertEquals(1, fx.endedOf(run).size());
    assertEquals(ap2.approvalId(), a.last("approval_resolved").get("id"));
  }

  @Test
  void unknownApprovalIdIsRefusedOnThatConnectionOnly() {
    InMemoryConnection a = fx.open("alice");
    InMemoryConnection tab2 = fx.open("alice");
    RunHandle run = fx.start("s1", "alice", a);
    tab2.sendText("sub s1 0");
    int before = tab2.frames().size();
    a.sendText("resolve ap_forged yes");
    assertEquals("UNKNOWN_APPROVAL", a.last("error").get("code"));
    assertEquals(before, tab2.frames().size());
    assertTrue(run.publish("delta", 1).isOk());
  }

  /** Racing answers (two tabs, expiry, the run's end): exactly one resolution per approval. */
  @Tag("stress")
  @Test
  void racingResolutionsResolveExactlyOnce() throws Exception {
    int rounds = 200 * Integer.getInteger("runlane.stress.scale", 1);
    int threads = 4;
    try (LifecycleFixture f = new LifecycleFixture()) {
      InMemoryConnection a = f.open("alice");
      for (int round = 0; round < rounds; round++) {
        RunHandle run = f.start("s" + round, "alice", a);
        Calls cb = new Calls();
        Approval ap = run.requestApproval("x", Duration.ofMillis(1), cb);
        CyclicBarrier go = new CyclicBarrier(threads);
        CountDownLatch done = new CountDownLatch(threads);
        AtomicInteger answered = new AtomicInteger();
        List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < threads; t++) {
          int id = t;
          Thread th =
              new Thread(
                  () -> {
                    try {
                      go.await(10, TimeUnit.SECONDS);
                      if (id == 0) {
                        f.time.advance(Duration.ofMillis(1)); // expiry
                      } else if (id == 1) {
                        run.complete(null); // run end
                      } else if (f.rl.resolveApproval(ap.approvalId(), "alice", "t" + id).isOk()) {
                        answered.incrementAndGet();
                      }
                    } catch (Throwable e) {
                      errors.add(e);
                    } finally {
                      done.countDown();
                    }
                  });
          th.start();
        }
        assertTrue(done.await(30, TimeUnit.SECONDS));
        assertTrue(errors.isEmpty(), errors.toString());
        Calls.Call call = cb.only();
        if (call.resolution() == Approval.Resolution.ANSWERED) {
          assertEquals(1, answered.get());
        } else {
          assertEquals(0, answered.get());
        }
        long resolvedMsgs =
            a.messages(m -> m.type().equals("approval_resolved") && ap.approvalId().equals(m.get("id"))).size();
        assertEquals(1, resolvedMsgs, "round " + round);
      }
    }
  }
}
