package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.AttachMode;
import dev.runlane.ErrorCode;
import dev.runlane.Result;
import dev.runlane.RunHandle;
import dev.runlane.StartRequest;
import dev.runlane.SubscribeTarget;
import dev.runlane.testkit.InMemoryConnection;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * P8: one rule for ids, on the wire and at the host API (issue 12, items 2 and 3). A blank session
 * id is {@code SESSION_ID_REQUIRED}; any other id outside the grammar (control characters, unpaired
 * surrogates, longer than 256) is {@code INVALID_PAYLOAD}; nothing is started, nothing is
 * followed, and the id a client sent is never silently changed.
 */
class IdGrammarTest {
  private static final List<String> BAD =
      List.of("me/\u0000chat", "me/chat\ud800", "a\udc00b", "tab\there", "del\u007f", "c1\u0085", "x".repeat(257));

  @Test
  void blankIdsGetTheSameAnswerFromEveryHostCall() {
    try (LifecycleFixture f = new LifecycleFixture()) {
      InMemoryConnection a = f.open("alice");
      for (String blank : List.of("", "  ")) {
        assertEquals(ErrorCode.SESSION_ID_REQUIRED, code(f.rl.startRun(StartRequest.of(blank, "alice"))));
        assertEquals(ErrorCode.SESSION_ID_REQUIRED, code(f.rl.abortSession(blank, "alice")));
        assertEquals(ErrorCode.SESSION_ID_REQUIRED, code(f.rl.subscribe(a.id(), SubscribeTarget.session(blank, 0, null), AttachMode.ADDITIVE)));
        assertEquals(ErrorCode.INVALID_PAYLOAD, code(f.rl.abort(blank, "alice")));
        assertEquals(ErrorCode.INVALID_PAYLOAD, code(f.rl.resolveApproval(blank, "alice", "yes")));
      }
      assertEquals(0, f.rl.sessionCount(), "a refused call created a session");
    }
  }

  @Test
  void aNegativeLastSeqIsRefusedNotThrown() {
    try (LifecycleFixture f = new LifecycleFixture()) {
      InMemoryConnection a = f.open("alice");
      Result<?> r = f.rl.subscribe(a.id(), SubscribeTarget.session("s", -1, null), AttachMode.ADDITIVE);
      assertEquals(ErrorCode.INVALID_PAYLOAD, code(r));
      assertEquals("INVALID_PAYLOAD", a.last("error").get("code"));
    }
  }

  @Test
  void idsOutsideTheGrammarAreRefusedAtTheApi() {
    try (LifecycleFixture f = new LifecycleFixture()) {
      InMemoryConnection a = f.open("alice");
      RunHandle run = f.start("ok", "alice", a);
      for (String bad : BAD) {
        assertEquals(ErrorCode.INVALID_PAYLOAD, code(f.rl.startRun(StartRequest.of(bad, "alice"))), bad);
        assertEquals(ErrorCode.INVALID_PAYLOAD, code(f.rl.subscribe(a.id(), SubscribeTarget.session(bad, 0, null), AttachMode.ADDITIVE)), bad);
        assertEquals(ErrorCode.INVALID_PAYLOAD, code(f.rl.subscribe(a.id(), new SubscribeTarget("ok", bad, 0, null), AttachMode.ADDITIVE)), bad);
        assertEquals(ErrorCode.INVALID_PAYLOAD, code(f.rl.abortSession(bad, "alice")), bad);
        assertEquals(ErrorCode.INVALID_PAYLOAD, code(f.rl.abort(bad, "alice")), bad);
        assertEquals(ErrorCode.INVALID_PAYLOAD, code(f.rl.resolveApproval(bad, "alice", null)), bad);
      }
      assertTrue(run.publish("delta", "still fine").isOk(), "the good run was disturbed");
      assertEquals(1, f.rl.sessionCount(), "a refused id created a session");
    }
  }

  @Test
  void idsOutsideTheGrammarAreRefusedOnTheWireAndTheConnectionCarriesOn() {
    try (LifecycleFixture f = new LifecycleFixture(b -> b.runtimeExecutor(r -> {}))) {
      InMemoryConnection a = f.open("alice");
      for (String bad : BAD) {
        if (bad.contains("\t")) {
          continue; // the text codec splits words on spaces and tabs; the JSON codec test covers it
        }
        for (String cmd : List.of("start " + bad + " hi", "sub " + bad + " 0", "abort " + bad, "unsub " + bad, "resolve " + bad + " y")) {
          a.sendText(cmd);
          assertEquals("INVALID_PAYLOAD", a.last("error").get("code"), cmd);
        }
      }
      assertEquals(0, f.rl.sessionCount(), "a refused id created a session");
      a.sendText("start good hi");
      assertTrue(f.rl.currentRun("good").isPresent(), "the connection no longer works");
      assertFalse(f.rl.currentRun("me/chat").isPresent());
    }
  }

  @Test
  void validIdsAreKeptExactly() {
    try (LifecycleFixture f = new LifecycleFixture()) {
      InMemoryConnection a = f.open("alice");
      String id = "alice/chat-\u00e9\ud83d\ude00"; // a paired surrogate is fine
      RunHandle run = f.start(id, "alice", a);
      assertEquals(id, run.sessionId());
      assertEquals(id, f.rl.currentRun(id).orElseThrow().sessionId());
    }
  }

  private static ErrorCode code(Result<?> r) {
    return r.refusalCode().orElseThrow(() -> new AssertionError("expected a refusal, got " + r));
  }
}
