package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.argThat;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.ArgumentMatchers.isNull;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.verifyNoMoreInteractions;
import static org.mockito.Mockito.when;

import dev.runlane.Action;
import dev.runlane.AttachMode;
import dev.runlane.Authorizer;
import dev.runlane.ErrorCode;
import dev.runlane.InvariantCheck;
import dev.runlane.Result;
import dev.runlane.RunHandle;
import dev.runlane.RunListener;
import dev.runlane.RunOutcome;
import dev.runlane.RunRuntime;
import dev.runlane.RunState;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.SubscribeTarget;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.TextCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The host's hooks are called exactly as documented, where the call itself is the contract: an
 * abort calls the runtime's cancel hook once with the run and the run listener once with the
 * outcome; the authorizer is asked with the principal, the action, the session and its owner.
 */
class HostHookInteractionsTest {
  private final RunRuntime runtime = mock(RunRuntime.class);
  private final RunListener listener = mock(RunListener.class);
  private final Authorizer authorizer = mock(Authorizer.class);
  /** Runtime tasks are parked here, never run: the run stays running until the test ends it. */
  private final List<Runnable> parked = new ArrayList<>();
  private final Runlane rl =
      InvariantCheck.track(
          Runlane.builder()
              .codec(new TextCodec())
              .timeSource(new ManualTimeSource())
              .idleTimeout(Duration.ZERO)
              .heartbeatInterval(Duration.ZERO)
              .runtime(runtime)
              .runtimeExecutor(parked::add)
              .runListener(listener)
              .authorizer(authorizer)
              .build());
  private final InMemoryTransport tx = new InMemoryTransport(rl);

  @AfterEach
  void close() {
    rl.close();
  }

  @Test
  void abortCallsTheCancelHookOnceAndTheListenerOnce() throws Exception {
    when(authorizer.authorize(anyString(), any(), anyString(), any())).thenReturn(Authorizer.Decision.ALLOW);
    InMemoryConnection alice = tx.open("alice");
    RunHandle run = rl.startAndRun(StartRequest.of("s", "alice").fromConnection(alice.id())).orElseThrow();
    assertEquals(1, parked.size(), "the runtime task was handed to the executor");

    Result<RunOutcome> aborted = rl.abort(run.runId(), "alice");
    assertTrue(aborted.isOk(), aborted.toString());
    // a second abort is refused and calls nobody again
    assertTrue(rl.abort(run.runId(), "alice").refusalCode().isPresent());

    verify(runtime, times(1)).cancel(run);
    verify(runtime, never()).run(any(), any());
    verify(listener, times(1))
        .onRunEnded(argThat(o -> o.runId().equals(run.runId()) && o.state() == RunState.ABORTED));
    verifyNoMoreInteractions(runtime, listener);
  }

  @Test
  void theAuthorizerIsAskedWithThePrincipalTheActionTheSessionAndItsOwner() {
    when(authorizer.authorize(anyString(), any(), anyString(), any())).thenReturn(Authorizer.Decision.ALLOW);
    when(authorizer.authorize(eq("mallory"), any(), eq("s"), eq("alice"))).thenReturn(Authorizer.Decision.NOT_FOUND);
    InMemoryConnection alice = tx.open("alice");
    InMemoryConnection mallory = tx.open("mallory");
    verifyNoMoreInteractions(authorizer);

    rl.startRun(StartRequest.of("s", "alice").fromConnection(alice.id())).orElseThrow();
    verify(authorizer, times(1)).authorize("alice", Action.START, "s", null);

    Result<SubscribeAck> r =
        rl.subscribe(mallory.id(), SubscribeTarget.session("s", 0, null), AttachMode.ADDITIVE);
    assertEquals(ErrorCode.SESSION_NOT_FOUND, r.refusalCode().orElseThrow());
    verify(authorizer, times(1)).authorize("mallory", Action.SUBSCRIBE, "s", "alice");
    verify(authorizer, never()).authorize(eq("mallory"), eq(Action.START), anyString(), isNull());
  }
}
