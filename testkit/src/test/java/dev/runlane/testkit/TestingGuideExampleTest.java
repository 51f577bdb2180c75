package dev.runlane.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.Result;
import org.junit.jupiter.api.Test;

/** The sample of docs/guides/testing.md, kept compiling and passing. */
class TestingGuideExampleTest {

  @Test
  void reloadResumesAfterLastSeq() {
    ManualTimeSource time = new ManualTimeSource();
    Runlane runlane = Runlane.builder().codec(new TextCodec()).timeSource(time).build();
    InMemoryTransport transport = new InMemoryTransport(runlane);

    InMemoryConnection alice = transport.open("alice");
    RunHandle run =
        runlane.startRun(StartRequest.of("s1", "alice").fromConnection(alice.id())).orElseThrow();
    run.publish("delta", "Hel");
    run.publish("delta", "lo");

    // a reload: a new connection resumes after seq 2
    InMemoryConnection reloaded = transport.open("alice");
    reloaded.sendText("sub s1 2 " + run.epoch());
    run.complete(null);

    RunlaneAssertions.assertSeqs(reloaded, run.runId(), 3, 4); // the rest, then the terminal
    assertEquals("EXACT", reloaded.last("subscribed").get("status"));
    RunlaneAssertions.assertSeqs(alice, run.runId(), 1, 2, 3, 4);
    runlane.close();
  }
}
