package dev.runlane.spec;

import static dev.runlane.testkit.RunlaneAssertions.assertNoEvents;
import static dev.runlane.testkit.RunlaneAssertions.assertSeqRange;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.ErrorCode;
import dev.runlane.InvariantCheck;
import dev.runlane.codec.Outbound;
import dev.runlane.RunHandle;
import dev.runlane.RunState;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.Result;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.TextCodec;
import dev.runlane.transport.Payload;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Starting a run (issue 4): what a start guarantees before anybody can touch the run. */
class LifecycleStartTest {

  /**
   * A run becomes reachable (currentRun, run(id), abort) only after its recipients are attached and
   * run.started is recorded as seq 1. Before this was fixed, another thread could publish or end the
   * run in between: run.started came out as seq 2 (or never), and the session's followers missed
   * the first event. The codec is called while run.started is encoded, under Runlane's locks; a
   * thread that looks for the run at that moment must not find it.
   */
  @Test
  void runIsUnreachableUntilItsStartedEventIsRecorded() throws Exception {
    AtomicReference<Runlane> rl = new AtomicReference<>();
    List<String> seenDuringStart = java.util.Collections.synchronizedList(new ArrayList<>());
    TextCodec text = new TextCodec();
    dev.runlane.codec.WireCodec spying =
        new dev.runlane.codec.WireCodec() {
          @Override
          public Payload encode(Outbound m) {
            if (m instanceof Outbound.RunEvent e && e.kind().equals("run.started")) {
              Thread other =
                  new Thread(
                      () -> {
                        Runlane r = rl.get();
                        r.currentRun(e.sessionId())
                            .ifPresent(
                                h -> {
                                  if (h.runId().equals(e.runId())) {
                                    seenDuringStart.add("currentRun");
                                    h.publish("delta", "sneaked in");
                                  }
                                });
                        r.run(e.runId()).ifPresent(h -> seenDuringStart.add("run(id)"));
                        if (r.abort(e.runId(), "alice").isOk()) {
                          seenDuringStart.add("abort");
                        }
                      });
              other.start();
              try {
                other.join(10_000);
              } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
              }
            }
            return text.encode(m);
          }

          @Override
          public dev.runlane.codec.Inbound decode(Payload frame) throws dev.runlane.codec.ProtocolException {
            return text.decode(frame);
          }
        };
    Runlane runlane =
        InvariantCheck.track(Runlane.builder().codec(spying).timeSource(new ManualTimeSource()).idleTimeout(Duration.ZERO).build());
    rl.set(runlane);
    try {
      InMemoryConnection follower = new InMemoryTransport(runlane).open("alice");
      follower.sendText("sub s1 0");
      RunHandle first = runlane.startRun(StartRequest.of("s1", "alice")).orElseThrow();
      first.complete(null);
      RunHandle run = runlane.startRun(StartRequest.of("s1", "alice")).orElseThrow();

      assertEquals(List.of(), seenDuringStart, "the run was reachable before run.started was recorded");
      assertEquals(RunState.RUNNING, run.state());
      assertEquals(1, run.headSeq());
      assertSeqRange(follower, run.runId(), 1, 1);
      assertEquals("run.started", LifecycleFixture.events(follower, run.runId()).get(0).get("kind"));
    } finally {
      runlane.close();
    }
  }

  /**
   * The starting connection becomes a recipient and, when asked, a follower without subscribing:
   * it must be the starting principal's own connection.
   */
  @Test
  void startFromAnotherPrincipalsConnectionIsForbidden() {
    try (LifecycleFixture f = new LifecycleFixture()) {
      InMemoryConnection bobs = f.open("bob");
      Result<RunHandle> r = f.rl.startRun(StartRequest.of("s1", "alice").fromConnection(bobs.id()).following());
      assertEquals(ErrorCode.FORBIDDEN, assertInstanceOf(Result.Refused.class, r).code());
      assertTrue(f.rl.currentRun("s1").isEmpty(), "a refused start created a run");
      // alice's later runs in s1 do not reach bob either
      RunHandle run = f.start("s1", "alice", null);
      run.publish("delta", "private");
      assertNoEvents(bobs);
      // an unknown (or already closed) connection is ignored, as before
      run.complete(null);
      Result<RunHandle> ok = f.rl.startRun(StartRequest.of("s1", "alice").fromConnection("gone"));
      assertTrue(ok.isOk());
    }
  }
}
