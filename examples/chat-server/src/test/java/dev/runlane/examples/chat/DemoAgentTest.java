package dev.runlane.examples.chat;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.runlane.RunHandle;
import dev.runlane.RunOutcome;
import dev.runlane.RunState;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.Result;
import dev.runlane.protocol.json.JsonWireCodec;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Payload;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The demo agent against Runlane without sockets: its answers, its approval and its cancel. */
class DemoAgentTest {
  static final ObjectMapper M = new ObjectMapper();
  final ManualTimeSource time = new ManualTimeSource();
  final BlockingQueue<RunOutcome> ended = new ArrayBlockingQueue<>(10);
  final DemoAgent agent = new DemoAgent(Duration.ZERO, 0, Duration.ofSeconds(30));
  final Runlane rl =
      Runlane.builder().codec(new JsonWireCodec()).runtime(agent).timeSource(time).runListener(ended::add).build();

  @AfterEach
  void close() {
    rl.close();
  }

  // follows the session, so it receives the runs' control frames (approval requests)
  final InMemoryConnection follower = new InMemoryTransport(rl).open("alice");

  {
    follower.sendText("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"alice/chat\"}]}");
  }

  RunHandle start(String prompt) {
    Result<RunHandle> r = rl.startAndRun(StartRequest.of("alice/chat", "alice").withInput(prompt));
    return r.orElseThrow();
  }

  /** Waits until the follower has received an approval request; returns its approval id. */
  String awaitApproval() throws Exception {
    for (int i = 0; i < 4000; i++) {
      for (Frame f : follower.frames()) {
        JsonNode n = M.readTree(((Payload.Text) f.payload()).text());
        if ("approval_requested".equals(n.path("kind").asText())) {
          return n.get("approvalId").asText();
        }
      }
      Thread.sleep(5);
    }
    throw new AssertionError("no approval raised");
  }

  @Test
  void completesWithTheAnswerItAdvertises() throws Exception {
    RunHandle run = start("What is Runlane?");
    RunOutcome o = ended.poll(20, TimeUnit.SECONDS);
    assertNotNull(o);
    assertEquals(RunState.COMPLETED, o.state());
    DemoAgent.Answer a = (DemoAgent.Answer) o.result();
    assertNotNull(a);
    assertEquals(DemoAgent.answer("What is Runlane?", true), a.text());
    assertEquals(run.headSeq(), o.terminalSeq());
    // the run's end is reported from inside complete(); the agent's thread returns just after it
    for (int i = 0; i < 2000 && agent.activeRuns() > 0; i++) {
      Thread.sleep(5);
    }
    assertEquals(0, agent.activeRuns(), "the agent's thread returned after completing");
  }

  @Test
  void anUnansweredApprovalExpiresAndTheAgentAnswersWithoutTheTool() throws Exception {
    RunHandle run = start("please approve");
    assertTrue(awaitApproval().startsWith("ap_"));
    time.advance(Duration.ofSeconds(31)); // the approval's expiry runs on Runlane's clock
    RunOutcome o = ended.poll(20, TimeUnit.SECONDS);
    assertNotNull(o);
    assertEquals(RunState.COMPLETED, o.state());
    assertEquals(DemoAgent.answer("please approve", false), ((DemoAgent.Answer) o.result()).text());
  }

  @Test
  void abortWhileWaitingForApprovalStopsTheAgent() throws Exception {
    RunHandle run = start("approve it");
    awaitApproval();
    assertTrue(rl.abort(run.runId(), "alice").isOk());
    RunOutcome o = ended.poll(20, TimeUnit.SECONDS);
    assertNotNull(o);
    assertEquals(RunState.ABORTED, o.state());
    for (int i = 0; i < 2000 && agent.activeRuns() > 0; i++) {
      Thread.sleep(5);
    }
    assertEquals(0, agent.activeRuns(), "the agent's thread returned");
    assertNull(ended.poll(50, TimeUnit.MILLISECONDS), "exactly one end");
  }

  @Test
  void splitKeepsEveryCharacter() {
    long seed = Long.getLong("runlane.seed", System.nanoTime());
    Random rnd = new Random(seed);
    String alphabet = "ab \n\t.é\u2028";
    for (int i = 0; i < 500; i++) {
      StringBuilder sb = new StringBuilder();
      int n = rnd.nextInt(30);
      for (int j = 0; j < n; j++) {
        sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
      }
      String s = sb.toString();
      List<String> tokens = DemoAgent.split(s);
      assertEquals(s, String.join("", tokens), "seed " + seed);
      for (String t : tokens) {
        assertFalse(t.isEmpty(), "seed " + seed);
      }
    }
  }

  @Test
  void answersVaryByPromptAndAreStable() {
    assertEquals(DemoAgent.answer("a", true), DemoAgent.answer("a", true));
    long distinct = List.of("a", "b", "c", "d", "e", "f").stream().map(p -> DemoAgent.answer(p, true).substring(0, 12)).distinct().count();
    assertTrue(distinct > 1, "canned but varied");
    assertTrue(DemoAgent.answer("approve", true).contains("1 word and 7 characters") || DemoAgent.answer("approve", true).contains("1 word in 7 characters"));
    assertTrue(DemoAgent.asksForApproval("Please APPROVE"));
    assertFalse(DemoAgent.asksForApproval("hello"));
  }
}
