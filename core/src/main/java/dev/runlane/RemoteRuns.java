package dev.runlane;

import dev.runlane.codec.Outbound;
import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.Engine;
import dev.runlane.engine.EngineUnavailableException;
import dev.runlane.engine.FrameMeta;
import dev.runlane.engine.RunFeed;
import dev.runlane.engine.RunRecord;
import dev.runlane.transport.Lane;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs held by other nodes of a cluster engine: finding them in the directory, the local mirror of
 * each run this node's connections receive (its only writer is the engine's tail, see {@link
 * #remoteFrame}), retiring a mirror nobody here receives, and ending a lost node's runs once.
 * Inert with an engine whose runs are all local (no {@link Engine#feed()}).
 *
 * <p><b>Thread safety:</b> safe for concurrent use. Lock order: session, then mirror. Tails are
 * opened and closed under no mirror lock; their frames arrive on the engine's threads under none.
 */
final class RemoteRuns {
  private static final Logger LOG = LoggerFactory.getLogger(RemoteRuns.class);
  private static final RunEdge[] NONE = new RunEdge[0];
  private static final long RETRY_NANOS = 1_000_000_000L;
  private static final int MAX_RETRIES = 600;

  private final HostHooks hooks;
  private final Engine engine;
  private final @Nullable RunFeed feed;
  private final Runs runs;
  private final Sessions sessions;
  private final RunApprovals.Index approvals;
  private final Map<Run, RunFeed.Tail> tails = new ConcurrentHashMap<>();
  /** Sessions with followers here, watched for runs started on other nodes. */
  private final Map<SessionState, RunFeed.Tail> watches = new ConcurrentHashMap<>();
  private Run.@Nullable Owner owner; // set once, before any run

  RemoteRuns(HostHooks hooks, Engine engine, Runs runs, Sessions sessions, RunApprovals.Index approvals) {
    this.hooks = hooks;
    this.engine = engine;
    this.feed = engine.feed().orElse(null);
    this.runs = runs;
    this.sessions = sessions;
    this.approvals = approvals;
    if (feed != null) {
      sessions.watcher(new Sessions.Watcher() {
        @Override
        public void followed(SessionState s) {
          watch(s);
        }

        @Override
        public void unfollowed(SessionState s) {
          RunFeed.Tail t = watches.remove(s);
          if (t != null) {
            t.close();
          }
        }
      });
    }
  }

  void owner(Run.Owner o) {
    this.owner = o;
  }

  /** Whether runs may live on other nodes (the engine has a feed). */
  boolean clustered() {
    return feed != null;
  }

  /** The directory's record of {@code runId}, if clustered and known. */
  @Nullable RunRecord lookup(String runId) {
    return clustered() ? engine.directory().lookup(runId).orElse(null) : null;
  }

  /** The directory's latest run of {@code sessionId}, if clustered and known. */
  @Nullable RunRecord latest(String sessionId) {
    return clustered() ? engine.directory().latest(sessionId).orElse(null) : null;
  }

  /** The owner of {@code sessionId} as the cluster knows it (from its latest run), or null. */
  @Nullable String sessionOwner(String sessionId) {
    RunRecord r = latest(sessionId);
    return r == null ? null : r.sessionOwner();
  }

  /** Open tails of mirrors (0 when nothing leaks). */
  int openTails() {
    return tails.size();
  }

  /** Open session watches (one per session with followers here). */
  int openWatches() {
    return watches.size();
  }

  // ---------------------------------------------------------------- mirrors

  /**
   * The run of {@code rec} on this node: held already (a local run or a mirror), or a new mirror.
   * A running mirror starts at the store's head and tails from there (a head that is the terminal
   * makes an ended mirror); its pending approvals come from the store, read after the head (an
   * approval frame the tail hands again is known by its id).
   * Under a session's lock or none.
   *
   * @throws EngineUnavailableException if the store cannot be read or tailed (nothing is kept)
   */
  Run mirror(RunRecord rec) {
    return mirror(rec, false, List.of());
  }

  /**
   * As {@link #mirror(RunRecord)}; {@code fromStart} makes a new mirror start at seq 0 (its tail
   * hands the whole stored run, approvals included) with {@code attachFirst} attached before the
   * tail opens, as a local start attaches the session's followers before its first event.
   */
  Run mirror(RunRecord rec, boolean fromStart, List<ConnectionState> attachFirst) {
    Run held = runs.get(rec.runId());
    if (held != null) {
      for (ConnectionState c : attachFirst) {
        RunResume.attach(held, c, AttachMode.ADDITIVE);
      }
      return held;
    }
    Run.Owner o = java.util.Objects.requireNonNull(owner, "owner");
    var view = engine.view(rec.runId());
    RunOutcome ended = rec.outcome();
    long head = ended != null ? ended.terminalSeq() : fromStart ? 0 : view.head();
    if (ended == null && head > 0) {
      // the run may have ended since its record was read: then the head is its terminal
      List<EncodedFrame> last = new ArrayList<>(1);
      view.read(head, head, last::add);
      FrameMeta lastMeta = last.isEmpty() ? null : last.get(0).meta();
      ended = lastMeta == null ? null : lastMeta.outcome();
    }
    Run m =
        new Run(hooks, o, engine.directory(), approvals, rec.runId(), rec.sessionId(), rec.epoch(), rec.owner(),
            rec.sessionOwner(), 0, new MirrorLog(view, head), null, true);
    if (ended != null) {
      synchronized (m) {
        m.endedElsewhereLocked();
        m.terminalLocked(ended, null, false, new ArrayList<>(0));
      }
      Run prev = runs.putIfAbsent(m);
      if (prev != null) {
        return prev;
      }
      o.ended(m, ended); // retained like an ended run, then evicted
      return m;
    }
    List<EncodedFrame> pending = fromStart ? List.of() : view.pendingApprovals();
    Run prev = runs.putIfAbsent(m);
    if (prev != null) {
      for (ConnectionState c : attachFirst) {
        RunResume.attach(prev, c, AttachMode.ADDITIVE);
      }
      return prev;
    }
    for (ConnectionState c : attachFirst) {
      RunResume.attach(m, c, AttachMode.ADDITIVE);
    }
    synchronized (m) {
      for (EncodedFrame f : pending) {
        FrameMeta meta = f.meta();
        Approval a = meta == null ? null : meta.approval();
        if (a != null) {
          m.approvals.remoteRaisedLocked(a);
        }
      }
    }
    try {
      RunFeed.Tail t = java.util.Objects.requireNonNull(feed).tail(rec.runId(), head, sinkOf(m));
      tails.put(m, t);
      boolean gone;
      synchronized (m) {
        gone = m.retired || m.state.isTerminal(); // ended by its tail, or retired, before the put
      }
      if (gone && tails.remove(m, t)) {
        t.close();
      }
    } catch (EngineUnavailableException e) {
      retire(m);
      throw e;
    }
    return m;
  }

  private RunFeed.Sink sinkOf(Run m) {
    return new RunFeed.Sink() {
      @Override
      public void frame(EncodedFrame f) {
        remoteFrame(m, f);
      }

      @Override
      public void lost() {
        logLost(m);
      }
    };
  }

  /**
   * A frame of a mirror's run from the engine's tail, its only writer: under the mirror's lock it
   * advances the head and hands the frame to the local recipients, exactly as the owner did under
   * its run's lock — the mirror's lock is the linearization point of this node's subscribes. When
   * deliveries are timed, the frame is stamped here: its latency counts from its arrival on this node.
   */
  void remoteFrame(Run m, EncodedFrame received) {
    FrameMeta meta = received.meta();
    if (meta == null) {
      return;
    }
    EncodedFrame f = hooks.timesDeliveries ? received.stampedAt(hooks.time.nanoTime()) : received;
    RunEdge[] targets = NONE;
    List<RunApprovals.Pending> dropped = new ArrayList<>(0);
    boolean ended = false;
    synchronized (m) {
      if (m.retired || m.state.isTerminal()) {
        return;
      }
      switch (meta.type()) {
        case EVENT, TERMINAL -> {
          long head = m.log.head();
          if (meta.seq() <= head) {
            return; // already had it
          }
          if (meta.seq() > head + 1) {
            LOG.warn("run {}: the tail skipped seqs {}..{} (trimmed in the store)", m.runId, head + 1, meta.seq() - 1);
          }
          m.log.append(meta.seq(), f);
          RunOutcome o = meta.outcome();
          if (o != null) {
            m.endedElsewhereLocked();
            targets = m.terminalLocked(o, f, false, dropped);
            ended = true;
          } else {
            targets = m.handOffLocked(f);
          }
        }
        case APPROVAL_REQUESTED -> {
          Approval a = java.util.Objects.requireNonNull(meta.approval());
          targets = m.approvals.remoteRaisedLocked(a) ? m.handOffLocked(f) : NONE;
        }
        case APPROVAL_RESOLVED -> {
          Approval a = java.util.Objects.requireNonNull(meta.approval());
          targets = m.approvals.remoteResolvedLocked(a.approvalId()) ? m.handOffLocked(f) : NONE;
        }
        case STATUS -> targets = m.handOffLocked(f);
      }
    }
    Run.handOff(targets);
    if (ended) {
      m.afterEndedElsewhere(dropped);
    }
  }

  /**
   * Brings a running mirror up to the store's head before a subscribe that holds a position the
   * tail has not delivered yet (the client saw it on another node): the frames go through {@link
   * #remoteFrame}, as the tail's would, so nothing is handed twice and the tail skips them later.
   *
   * @throws EngineUnavailableException if the store cannot be read
   */
  void catchUp(Run m) {
    long from;
    synchronized (m) {
      if (m.retired || m.state.isTerminal()) {
        return;
      }
      from = m.log.head() + 1;
    }
    List<EncodedFrame> frames = new ArrayList<>();
    engine.view(m.runId).read(from, Long.MAX_VALUE, frames::add); // outside the lock: one range read
    for (EncodedFrame f : frames) {
      remoteFrame(m, f);
    }
  }

  /** A subscribe found the store lost the mirror's run: it is dropped (under no lock, soon). */
  void lostLater(Run m) {
    hooks.schedule(0, () -> logLost(m));
  }

  /** The store lost the run's log: the mirror is dropped and its recipients told to subscribe again. */
  private void logLost(Run m) {
    synchronized (m) {
      if (m.retired) {
        return;
      }
    }
    List<ConnectionState> told = m.recipients();
    retire(m);
    for (ConnectionState c : told) {
      c.sendError(ErrorCode.ENGINE_UNAVAILABLE, "run " + m.runId + " was lost by the engine's store; subscribe again",
          m.sessionId, null);
    }
  }

  /** A running mirror lost its last recipient: retired unless one came back meanwhile. */
  void idle(Run m) {
    SessionState s = sessions.get(m.sessionId);
    if (s != null) {
      synchronized (s) {
        if (!m.retireIfIdle()) {
          return;
        }
        if (s.current == m) {
          s.current = null;
          sessions.retireIfIdleLocked(s);
        }
      }
    } else if (!m.retireIfIdle()) {
      return;
    }
    forget(m);
  }

  /** Drops a mirror from this node whatever its recipients (the store lost it, or its tail failed). */
  private void retire(Run m) {
    SessionState s = sessions.get(m.sessionId);
    if (s != null) {
      synchronized (s) {
        m.markRetired();
        if (s.current == m) {
          s.current = null;
          sessions.retireIfIdleLocked(s);
        }
      }
    } else {
      m.markRetired();
    }
    forget(m);
  }

  /** The mirror left this node (retired or evicted): its tail is closed and its approvals unindexed. */
  void forget(Run m) {
    runs.remove(m);
    RunFeed.Tail t = tails.remove(m);
    if (t != null) {
      t.close();
    }
    List<RunApprovals.Pending> dropped;
    synchronized (m) {
      dropped = m.approvals.drainLocked();
    }
    m.approvals.droppedAtEnd(dropped);
  }

  /** A mirror's run ended: its tail ended with the terminal. */
  void ended(Run m) {
    RunFeed.Tail t = tails.remove(m);
    if (t != null) {
      t.close();
    }
  }

  /** Shutdown: every tail and watch is closed. */
  void closeAll() {
    for (Run m : new ArrayList<>(tails.keySet())) {
      forget(m);
    }
    for (SessionState s : new ArrayList<>(watches.keySet())) {
      RunFeed.Tail t = watches.remove(s);
      if (t != null) {
        t.close();
      }
    }
  }

  // ---------------------------------------------------------------- session followers across nodes

  /** {@code s} got its first follower here: runs started in it on other nodes will reach them. Under its lock. */
  private void watch(SessionState s) {
    RunFeed f = feed;
    if (f == null || watches.containsKey(s)) {
      return;
    }
    try {
      watches.put(s, f.watchSession(s.sessionId, this::startedElsewhere));
    } catch (EngineUnavailableException e) {
      LOG.debug("session {}: followers here will learn of runs on other nodes at their next subscribe", s.sessionId);
    }
  }

  /**
   * A run was started in a watched session on another node: this node's followers of the session
   * are attached to a mirror of it from seq 0 (they get {@code run.started} and everything after,
   * as a local start's followers do). Followers of another principal are vetted first, outside
   * the lock, as a local claim vets them.
   */
  private void startedElsewhere(RunRecord rec) {
    if (rec.nodeId().equals(engine.nodeId())) {
      return;
    }
    SessionState s = sessions.get(rec.sessionId());
    if (s == null) {
      return;
    }
    List<ConnectionState> candidates;
    synchronized (s) {
      candidates = new ArrayList<>(s.followers);
    }
    List<ConnectionState> allowed = new ArrayList<>();
    for (ConnectionState c : candidates) {
      if (c.principal.equals(rec.owner())
          || hooks.authorize(c.principal, Action.SUBSCRIBE, rec.sessionId(), rec.sessionOwner()) == Authorizer.Decision.ALLOW) {
        allowed.add(c);
      }
    }
    List<ConnectionState> toFlush = new ArrayList<>();
    synchronized (s) {
      if (s.dead) {
        return;
      }
      allowed.removeIf(c -> !s.followers.contains(c));
      if (allowed.isEmpty()) {
        return;
      }
      if (s.owner == null) {
        s.owner = rec.sessionOwner();
      }
      Run m;
      try {
        m = mirror(rec, true, allowed);
      } catch (EngineUnavailableException e) {
        return; // they learn of it at their next subscribe
      }
      Run cur = s.current;
      if (cur == null || cur.mirror || cur.state().isTerminal()) {
        s.current = m;
      }
      toFlush.addAll(allowed);
    }
    for (ConnectionState c : toFlush) {
      c.flush();
    }
  }

  // ---------------------------------------------------------------- runs ended here for another node

  /** The engine's callback: node {@code nodeId} is gone; each of its running runs is ended once. */
  void nodeLost(String nodeId, List<RunRecord> running) {
    LOG.warn("node {} was lost with {} running run(s); ending them", nodeId, running.size());
    for (RunRecord r : running) {
      endElsewhere(r, FailureReason.NODE_LOST, "node " + nodeId + " was lost", 0);
    }
  }

  /**
   * Ends {@code r}, which no node here runs, as failed: wins the directory's end with the terminal
   * frame at the stored head + 1 (retried if the head moved), then runs the listeners once. A store
   * that is unavailable is retried every second, at most {@value #MAX_RETRIES} times.
   */
  void endElsewhere(RunRecord r, FailureReason reason, String message, int attempt) {
    try {
      for (int i = 0; i < 8; i++) {
        long seq = engine.view(r.runId()).head() + 1;
        RunOutcome o =
            new RunOutcome(r.runId(), r.sessionId(), r.epoch(), r.owner(), RunState.FAILED, reason, ExitCode.FAILED,
                message, null, seq, null);
        EncodedFrame f =
            hooks.encode(new Outbound.RunEvent(r.runId(), r.sessionId(), r.epoch(), seq, Outbound.KIND_FAILED, o),
                Lane.STREAM, null);
        if (f == null) {
          return;
        }
        if (engine.directory().end(o, f)) {
          hooks.runEnded(o);
          return;
        }
        Optional<RunRecord> now = engine.directory().lookup(r.runId());
        if (now.isEmpty() || now.get().ended()) {
          return; // another node (or the owner) ended it
        }
      }
      LOG.warn("run {} could not be ended: its head kept moving", r.runId());
    } catch (EngineUnavailableException e) {
      if (attempt < MAX_RETRIES) {
        hooks.schedule(RETRY_NANOS, () -> endElsewhere(r, reason, message, attempt + 1));
      }
    }
  }
}
