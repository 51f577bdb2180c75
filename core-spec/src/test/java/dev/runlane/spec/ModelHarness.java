package dev.runlane.spec;

import dev.runlane.Action;
import dev.runlane.AttachMode;
import dev.runlane.Authorizer;
import dev.runlane.FailureReason;
import dev.runlane.InvariantCheck;
import dev.runlane.ResumeStatus;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.Result;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.SubscribeTarget;
import dev.runlane.spec.RunlaneModel.Ack;
import dev.runlane.spec.RunlaneModel.Ev;
import dev.runlane.spec.RunlaneModel.Obs;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.TextCodec;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Frame;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Drives a real {@link Runlane} (in-memory transport, manual clock) and a {@link RunlaneModel}
 * with the same operations, and after every step checks:
 *
 * <ul>
 *   <li>every connection received exactly the observations the model predicts (events with seq and
 *       kind, acks, notices, errors), in order;
 *   <li>isolation as a policy, independent of the model: no connection received an event of a run
 *       unless it started it or the authorizer allows its principal on the run's session;
 *   <li>per connection and run, events are contiguous from the last ack's {@code replayFrom} (or
 *       from the first event after an attach) and nothing follows a terminal event;
 *   <li>registries: live connection count, each held run's recipients, run and session counts.
 * </ul>
 *
 * Failures carry the seed, the step and the last operations.
 */
final class ModelHarness implements AutoCloseable {
  static final Duration RETENTION = Duration.ofSeconds(60);

  final long seed;
  final ManualTimeSource time = new ManualTimeSource();
  final Runlane rl;
  final InMemoryTransport tx;
  final RunlaneModel model;

  private final Map<String, InMemoryConnection> wires = new LinkedHashMap<>();
  private final Map<String, Integer> read = new HashMap<>();
  private final Map<String, Integer> sendCalls = new HashMap<>();
  private final Map<String, RunHandle> handles = new LinkedHashMap<>();
  /** What each connection received during the last step. */
  private final Map<String, List<Obs>> lastObs = new HashMap<>();
  /** Per connection and run: the next seq the current segment must deliver. */
  private final Map<String, Map<String, Long>> nextSeq = new HashMap<>();
  /** Per connection: runs whose terminal event it has received in the current segment. */
  private final Map<String, Set<String>> ended = new HashMap<>();
  private final Deque<Supplier<String>> trace = new ArrayDeque<>();
  private Runnable afterStep = () -> {};
  private int step;
  private int ids;
  private int publishes;

  ModelHarness(long seed, Authorizer auth, int capacity, boolean replayFinished) {
    this.seed = seed;
    this.rl =
        InvariantCheck.track(SpecEngine.builder()
            .codec(new TextCodec())
            .timeSource(time)
            .authorizer(auth)
            .replayCapacity(capacity)
            .replayFinishedRuns(replayFinished)
            .retention(RETENTION)
            .idleTimeout(Duration.ZERO)
            .heartbeatInterval(Duration.ZERO)
            .sendStallTimeout(Duration.ZERO)
            .build());
    this.tx = new InMemoryTransport(rl);
    this.model = new RunlaneModel(auth, capacity, replayFinished, RETENTION.toNanos());
  }

  @Override
  public void close() {
    rl.close();
  }

  // ------------------------------------------------------------------ stepping

  private <T> T step(Supplier<String> what, Supplier<T> op) {
    step++;
    int n = step;
    trace.addLast(() -> n + ": " + what.get());
    if (trace.size() > 30) {
      trace.removeFirst();
    }
    try {
      T result = op.get();
      verify();
      InvariantCheck.checkNow(rl);
      afterStep.run();
      return result;
    } catch (AssertionError e) {
      throw new AssertionError(context() + "\n  failure: " + e.getMessage(), e);
    }
  }

  private void run(Supplier<String> what, Runnable op) {
    step(what, () -> {
      op.run();
      return null;
    });
  }

  String context() {
    return "seed " + seed + " (rerun just this one with -Drunlane.seed=" + seed + " -Drunlane.model.sequences=1), step "
        + step + ", last operations:\n    " + String.join("\n    ", trace.stream().map(Supplier::get).toList());
  }

  /** Fails with the seed and trace. */
  AssertionError failure(String message) {
    return new AssertionError(context() + "\n  failure: " + message);
  }

  /** Runs {@code check} after every step's own checks (e.g. a client-side protocol checker). */
  void afterStep(Runnable check) {
    this.afterStep = check;
  }

  // ------------------------------------------------------------------ state for generators

  List<String> connIds() {
    return new ArrayList<>(wires.keySet());
  }

  List<String> openConnIds() {
    List<String> out = new ArrayList<>();
    for (RunlaneModel.Conn c : model.conns.values()) {
      if (c.open) {
        out.add(c.id);
      }
    }
    return out;
  }

  String principalOf(String connId) {
    return model.conns.get(connId).principal;
  }

  boolean isOpen(String connId) {
    return model.conns.get(connId).open;
  }

  /** Every run ever started (handles stay usable after eviction). */
  List<String> runIds() {
    return new ArrayList<>(handles.keySet());
  }

  RunHandle handle(String runId) {
    return handles.get(runId);
  }

  @Nullable RunlaneModel.MRun modelRun(String runId) {
    return model.allRuns.get(runId);
  }

  /** The observations {@code connId} received in the last step (empty if none). */
  List<Obs> received(String connId) {
    return lastObs.getOrDefault(connId, List.of());
  }

  int publishes() {
    return publishes;
  }

  // ------------------------------------------------------------------ operations

  String open(String principal) {
    String id = "c" + (++ids);
    return step(() -> "open " + id + " for " + principal, () -> {
      InMemoryConnection w = tx.open(principal, id, Set.of());
      wires.put(id, w);
      model.open(id, principal);
      return id;
    });
  }

  /** Starts a run; returns its id, or null if refused. */
  @Nullable String start(String session, String principal, @Nullable String connId, boolean follow) {
    return step(() -> "start in " + session + " by " + principal + (connId == null ? "" : " from " + connId) + (follow ? " following" : ""), () -> {
      StartRequest req = StartRequest.of(session, principal);
      if (connId != null) {
        req = req.fromConnection(connId);
      }
      if (follow) {
        req = req.following();
      }
      Result<RunHandle> r = rl.startRun(req);
      if (r.isOk()) {
        RunHandle h = r.orElseThrow();
        handles.put(h.runId(), h);
      }
      String id = model.start(session, principal, connId, follow, r);
      if (id != null) {
        trace.addLast(() -> "   -> " + id);
      }
      return id;
    });
  }

  void publish(String runId) {
    run(() -> "publish to " + runId, () -> {
      String kind = "delta";
      model.publish(runId, kind, handles.get(runId).publish(kind, ++publishes));
    });
  }

  void complete(String runId) {
    run(() -> "complete " + runId, () -> model.end(runId, "run.completed", handles.get(runId).complete(null)));
  }

  void fail(String runId) {
    run(() -> "fail " + runId, () ->
        model.end(runId, "run.failed", handles.get(runId).fail(FailureReason.RUNTIME_ERROR, 1, "scripted")));
  }

  void abort(String runId, String principal) {
    run(() -> "abort " + runId + " by " + principal, () -> model.abort(runId, principal, rl.abort(runId, principal)));
  }

  void attach(String runId, String connId, AttachMode mode) {
    run(() -> "attach " + connId + " to " + runId + " " + mode, () -> {
      // no replay on attach: the connection's next event of the run may follow a gap
      nextSeq.computeIfAbsent(connId, k -> new HashMap<>()).remove(runId);
      model.attach(runId, connId, mode, rl.attach(runId, connId, mode));
    });
  }

  void detach(String runId, String connId) {
    run(() -> "detach " + connId + " from " + runId, () -> model.detach(runId, connId, rl.detach(runId, connId)));
  }

  /** Subscribes; returns the ack Runlane answered, or null if it refused. */
  @Nullable SubscribeAck subscribe(String connId, SubscribeTarget target, AttachMode mode) {
    return step(() -> "subscribe " + connId + " " + target + " " + mode, () -> {
      Result<SubscribeAck> r = rl.subscribe(connId, target, mode);
      model.subscribe(connId, target, mode, r);
      return r.isOk() ? r.orElseThrow() : null;
    });
  }

  void unsubscribe(String connId, String session) {
    run(() -> "unsubscribe " + connId + " from " + session, () -> {
      rl.unsubscribe(connId, session);
      model.unsubscribe(connId, session);
    });
  }

  /** The client (or the network) closes the connection. */
  void clientClose(String connId) {
    run(() -> "client closes " + connId, () -> {
      wires.get(connId).clientClose(CloseReason.NORMAL);
      model.close(connId);
    });
  }

  /** The host closes the connection. */
  void serverClose(String connId) {
    run(() -> "host disconnects " + connId, () -> {
      rl.disconnect(connId, CloseReason.NORMAL);
      model.close(connId);
    });
  }

  void noticeSession(String session, String kind) {
    run(() -> "notify session " + session + " " + kind, () -> model.noticeSession(session, kind, rl.noticeSession(session, kind, null)));
  }

  void noticeAll(String kind) {
    run(() -> "notify all " + kind, () -> {
      rl.noticeAll(kind, null);
      model.noticeAll(kind);
    });
  }

  void advance(Duration d) {
    if (SpecEngine.current().durable()) {
      return; // a durable engine keeps ended runs by wall-clock expiry: the model's retention does not apply
    }
    run(() -> "advance " + d, () -> {
      time.advance(d);
      model.advance(d.toNanos());
    });
  }

  // ------------------------------------------------------------------ checks

  private void verify() {
    lastObs.clear();
    for (RunlaneModel.Conn c : model.conns.values()) {
      InMemoryConnection w = wires.get(c.id);
      List<Obs> got = new ArrayList<>();
      int calls = w.sendCalls();
      if (calls != sendCalls.getOrDefault(c.id, -1)) { // copying every connection's frames each step is slow
        sendCalls.put(c.id, calls);
        List<Frame> frames = w.frames();
        int from = read.getOrDefault(c.id, 0);
        for (int i = from; i < frames.size(); i++) {
          Obs o = RunlaneModel.fromWire(TextCodec.parse(frames.get(i).payload()));
          if (o != null) {
            got.add(o);
          }
        }
        read.put(c.id, frames.size());
      }
      checkSegments(c, got); // the model-independent policy first: its message names the broken promise
      if (!got.equals(c.pending)) {
        throw new AssertionError(
            "connection " + c.id + " (" + c.principal + (c.open ? "" : ", closed") + ") received\n      "
                + got + "\n    but the model expects\n      " + c.pending);
      }
      c.pending.clear();
      if (!got.isEmpty()) {
        lastObs.put(c.id, got);
      }
      if (!c.open && w.isOpen()) {
        throw new AssertionError("connection " + c.id + " is closed in the model but its transport is open");
      }
    }
    RunlaneModel.same(model.openCount(), rl.connectionCount(), () -> "live connections (closed ones must leave the registry)");
    RunlaneModel.same(model.runs.size(), rl.runCount(), () -> "runs held");
    RunlaneModel.same(model.sessions.size(), rl.sessionCount(), () -> "sessions held");
    for (RunlaneModel.MRun r : model.runs.values()) {
      Set<String> got = rl.recipientsOf(r.id);
      for (String id : got) {
        if (!model.conns.get(id).open) {
          throw new AssertionError("closed connection " + id + " is still a recipient of " + r.id);
        }
      }
      if (!new HashSet<>(r.recipients).equals(got)) {
        throw new AssertionError("recipients of " + r.id + " are " + got + ", the model says " + r.recipients);
      }
    }
    for (String runId : handles.keySet()) {
      if (!model.runs.containsKey(runId) && !rl.recipientsOf(runId).isEmpty()) {
        throw new AssertionError("evicted run " + runId + " still has recipients " + rl.recipientsOf(runId));
      }
    }
  }

  /** The isolation policy and per-segment contiguity, stated without the model's bookkeeping. */
  private void checkSegments(RunlaneModel.Conn c, List<Obs> got) {
    Map<String, Long> next = nextSeq.computeIfAbsent(c.id, k -> new HashMap<>());
    Set<String> done = ended.computeIfAbsent(c.id, k -> new HashSet<>());
    for (Obs o : got) {
      if (o instanceof Ack) {
        Ack a = (Ack) o;
        // an UNKNOWN_RUN ack (e.g. the right run id under a wrong session) delivers nothing and
        // leaves an existing attachment alone
        if (a.run() != null && a.status() != ResumeStatus.UNKNOWN_RUN && a.status() != ResumeStatus.NO_RUN_YET) {
          next.put(a.run(), a.from());
          done.remove(a.run());
        }
      } else if (o instanceof Ev) {
        Ev e = (Ev) o;
        RunlaneModel.MRun r = model.allRuns.get(e.run());
        if (r == null) {
          throw new AssertionError(c.id + " received an event of a run nobody started: " + e);
        }
        boolean allowed =
            c.id.equals(r.startedBy)
                || model.decide(c.principal, Action.SUBSCRIBE, r.session, r.sessionOwner) == Authorizer.Decision.ALLOW;
        if (!allowed) {
          throw new AssertionError(
              "ISOLATION BROKEN: connection " + c.id + " of " + c.principal + " received " + e + " of session "
                  + r.session + " owned by " + r.sessionOwner + ", which the authorizer does not allow it to see");
        }
        if (done.contains(e.run())) {
          throw new AssertionError(c.id + " received " + e + " after the run's terminal event");
        }
        Long want = next.get(e.run());
        if (want != null && want != e.seq()) {
          throw new AssertionError(c.id + " received " + e + " but the next seq of that run must be " + want);
        }
        next.put(e.run(), e.seq() + 1);
        if (e.terminal()) {
          done.add(e.run());
        }
      }
    }
  }
}
