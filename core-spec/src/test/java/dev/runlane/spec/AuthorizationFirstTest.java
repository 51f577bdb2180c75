package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.Approval;
import dev.runlane.ErrorCode;
import dev.runlane.Result;
import dev.runlane.RunHandle;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.WireMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * P1 and P8: a principal the authorizer refuses learns nothing of another user's activity. Every
 * command is authorized before the session's runs are looked at, so the stranger's answers are
 * the same whether the victim is idle, running, or waiting on an approval (issue 12, item 1).
 */
class AuthorizationFirstTest {
  private static final int WORLDS = 4;

  /** What the victim is doing in its session "v" while the stranger probes. */
  private static RunHandle[] world(LifecycleFixture f, int kind) {
    InMemoryConnection victim = f.open("victim");
    RunHandle first = f.start("v", "victim", victim);
    first.publish("delta", "secret");
    switch (kind) {
      case 0: // idle: its last run completed
        first.complete("done");
        return new RunHandle[] {first};
      case 1: // running
        return new RunHandle[] {first};
      case 2: // running, with a pending approval
        first.requestApproval("rm -rf", Duration.ofMinutes(5), (a, r, d, p) -> {});
        return new RunHandle[] {first};
      default: // aborted, then a second run is running
        f.rl.abort(first.runId(), "victim").orElseThrow();
        return new RunHandle[] {first, f.start("v", "victim", victim)};
    }
  }

  /** A random probe of the victim's session, on the wire and through the host API. */
  private static List<String> probe(LifecycleFixture f, long seed, RunHandle[] runs) {
    Random rnd = new Random(seed);
    InMemoryConnection stranger = f.open("mallory");
    List<String> answers = new ArrayList<>();
    // ids a stranger could hold: guessed ones, and (worst case) the victim's real ids leaked to it
    String[] runIds = {"run_guess", runs[0].runId(), runs[runs.length - 1].runId()};
    for (int i = 0; i < 12; i++) {
      String runId = runIds[rnd.nextInt(runIds.length)];
      int before = stranger.frames().size();
      switch (rnd.nextInt(8)) {
        case 0 -> stranger.sendText("abort v");
        case 1 -> stranger.sendText("abort v " + runId);
        case 2 -> stranger.sendText("sub v 0");
        case 3 -> stranger.sendText("sub v 1 - " + runId);
        case 4 -> stranger.sendText("start v hello");
        case 5 -> stranger.sendText("resolve ap_guess yes");
        case 6 -> answers.add("api abortSession " + code(f.rl.abortSession("v", "mallory")));
        default -> answers.add("api subscribe " + code(f.rl.subscribe(stranger.id(), dev.runlane.SubscribeTarget.session("v", 0, null), dev.runlane.AttachMode.ADDITIVE)));
      }
      List<WireMessage> got = stranger.messages();
      for (int k = before; k < got.size(); k++) {
        WireMessage m = got.get(k);
        answers.add(m.type() + " " + m.get("code") + " " + m.get("session"));
      }
    }
    return answers;
  }

  private static String code(Result<?> r) {
    return r.refusalCode().map(ErrorCode::name).orElse("OK");
  }

  @Test
  void aRefusedPrincipalGetsTheSameAnswersWhateverTheVictimIsDoing() {
    for (long seed = 1; seed <= 150; seed++) {
      List<String> reference = null;
      for (int kind = 0; kind < WORLDS; kind++) {
        try (LifecycleFixture f = new LifecycleFixture(b -> b.runtimeExecutor(r -> {}))) {
          RunHandle[] runs = world(f, kind);
          List<String> answers = probe(f, seed, runs);
          assertTrue(answers.stream().noneMatch(a -> a.startsWith("run_event") || a.startsWith("approval")), "seed " + seed + " world " + kind + ": the stranger received the victim's events: " + answers);
          if (reference == null) {
            reference = answers;
          } else {
            assertEquals(reference, answers, "seed " + seed + ": world " + kind + " answers differ from world 0");
          }
        }
      }
    }
  }

  @Test
  void approvalsOfAnotherUserAreAnsweredAsUnknown() {
    try (LifecycleFixture f = new LifecycleFixture()) {
      InMemoryConnection victim = f.open("victim");
      RunHandle run = f.start("v", "victim", victim);
      Approval ap = run.requestApproval("tool", null, (a, r, d, p) -> {});
      InMemoryConnection stranger = f.open("mallory");
      stranger.sendText("resolve " + ap.approvalId() + " yes");
      assertEquals("UNKNOWN_APPROVAL", stranger.last("error").get("code"));
      stranger.sendText("resolve ap_never_issued yes");
      assertEquals("UNKNOWN_APPROVAL", stranger.last("error").get("code"));
      assertEquals(1, f.rl.snapshot().pendingApprovals(), "the approval is still pending");
    }
  }
}
