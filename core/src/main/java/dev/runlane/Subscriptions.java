package dev.runlane;

import dev.runlane.codec.Outbound;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.EngineUnavailableException;
import dev.runlane.engine.RunRecord;
import dev.runlane.transport.Lane;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Recipients: subscribe (ack, exact replay, live — the resume algorithm itself runs under the
 * run's lock in {@link Run#subscribe}), attach and detach without replay, unsubscribe, and notices
 * to a session's audience. Every path authorizes before it looks at a run.
 *
 * <p><b>Thread safety:</b> safe for concurrent use. Lock order: session, then run. The authorizer
 * and the transport are called under no lock.
 */
final class Subscriptions {
  private final HostHooks hooks;
  private final Connections connections;
  private final Sessions sessions;
  private final Runs runs;
  private final RemoteRuns remote;

  Subscriptions(HostHooks hooks, Connections connections, Sessions sessions, Runs runs, RemoteRuns remote) {
    this.hooks = hooks;
    this.connections = connections;
    this.sessions = sessions;
    this.runs = runs;
    this.remote = remote;
  }

  Result<SubscribeAck> subscribe(String connectionId, SubscribeTarget target, AttachMode mode) {
    Objects.requireNonNull(connectionId, "connectionId");
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(mode, "mode");
    ConnectionState c = connections.get(connectionId);
    if (c == null) {
      return Result.refused(ErrorCode.UNKNOWN_CONNECTION, "unknown connection " + connectionId);
    }
    return subscribe(c, target, mode, null);
  }

  /** Subscribes and flushes; a refusal is also sent to the connection as a protocol error. */
  Result<SubscribeAck> subscribe(ConnectionState c, SubscribeTarget t, AttachMode mode, @Nullable String ref) {
    Result<SubscribeAck> r;
    do {
      try {
        r = doSubscribe(c, t, mode, ref);
      } catch (EngineUnavailableException e) {
        r = Result.refused(ErrorCode.ENGINE_UNAVAILABLE, "the engine's store is unavailable; subscribe again later");
      }
    } while (r == OWNER_CHANGED);
    if (r instanceof Result.Refused<SubscribeAck> no) {
      c.sendError(no.code(), no.message(), t.sessionId(), ref);
    } else {
      hooks.subscribed(c.id, r.orElseThrow().status());
    }
    c.flush();
    return r;
  }

  /** Internal retry marker of {@link #doSubscribe} (owner changed, or a mirror retired): never returned to callers. */
  private static final Result<SubscribeAck> OWNER_CHANGED =
      Result.refused(ErrorCode.INTERNAL_ERROR, "session owner changed; retry");

  private Result<SubscribeAck> doSubscribe(ConnectionState c, SubscribeTarget t, AttachMode mode, @Nullable String ref) {
    String sessionId = t.sessionId();
    int maxId = hooks.config.maxIdLength;
    Result.Refused<SubscribeAck> bad = Ids.checkSession(sessionId, maxId);
    if (bad == null && t.runId() != null) {
      bad = Ids.check("run id", t.runId(), maxId);
    }
    if (bad == null && t.epoch() != null) {
      bad = Ids.check("epoch", t.epoch(), maxId);
    }
    if (bad != null) {
      return bad;
    }
    if (t.lastSeq() < 0) {
      return Result.refused(ErrorCode.INVALID_PAYLOAD, "lastSeq must not be negative");
    }
    String runId = t.runId();
    Run target = runId == null ? null : runs.get(runId);
    if (target != null && target.mirror && target.storeLost()) {
      remote.lostLater(target); // the store lost it: what the directory says now decides
      target = null;
    }
    // held by another node: found in the directory, mirrored here once authorized
    RunRecord elsewhere = runId != null && target == null ? remote.lookup(runId) : null;
    boolean starter = target != null && target.startedBy(c);
    SessionState seen = sessions.get(sessionId);
    // A named run is authorized against the owner of the session it was started in: the session id
    // may by now name a retired and re-created session with another owner, or none.
    @Nullable String authorizedOwner =
        target != null && target.sessionId().equals(sessionId)
            ? target.sessionOwner
            : elsewhere != null && elsewhere.sessionId().equals(sessionId)
                ? elsewhere.sessionOwner()
                : seen == null ? null : seen.owner;
    @Nullable String clusterOwner = null;
    if (runId == null && authorizedOwner == null && remote.clustered()) {
      clusterOwner = remote.sessionOwner(sessionId); // the session may be owned on another node
      authorizedOwner = clusterOwner;
    }
    if (!starter) {
      Authorizer.Decision d = hooks.authorize(c.principal, Action.SUBSCRIBE, sessionId, authorizedOwner);
      if (d != Authorizer.Decision.ALLOW) {
        return d == Authorizer.Decision.DENY
            ? Result.refused(ErrorCode.FORBIDDEN, "may not subscribe to session " + sessionId)
            : Result.refused(ErrorCode.SESSION_NOT_FOUND, "session " + sessionId + " was not found");
      }
    }
    if (runId != null) {
      if (target == null && elsewhere != null && elsewhere.sessionId().equals(sessionId)) {
        target = remote.mirror(elsewhere);
      }
      if (target == null || !target.sessionId().equals(sessionId)) {
        SubscribeAck ack = noRunAck(t, false);
        c.sendControl(new Outbound.Subscribed(ack, ref));
        return Result.ok(ack);
      }
      if (target.mirror && t.lastSeq() > target.headSeq()) {
        remote.catchUp(target); // the client saw more on another node than this mirror was handed yet
      }
      SubscribeAck ack = RunResume.subscribe(target, c, t, mode, false, ref);
      if (ack == null) {
        return OWNER_CHANGED; // the mirror was retired meanwhile: look it up again
      }
      idleAfterFailedAttach(target);
      return Result.ok(ack);
    }
    // follow the session: current run resumed, later runs attached at their start
    SessionState known = sessions.get(sessionId);
    boolean alreadyFollowing = known != null && c.follows.contains(known);
    if (!alreadyFollowing && c.follows.size() >= hooks.config.maxSessionsPerConnection) {
      return Result.refused(
          ErrorCode.TOO_MANY_SUBSCRIPTIONS,
          "a connection may follow at most " + hooks.config.maxSessionsPerConnection + " sessions");
    }
    for (; ; ) {
      SessionState s = sessions.open(sessionId);
      synchronized (s) {
        if (s.dead) {
          continue;
        }
        if (c.isClosed()) {
          sessions.retireIfIdleLocked(s);
          return Result.refused(ErrorCode.UNKNOWN_CONNECTION, "connection closed");
        }
        if (s.owner == null && clusterOwner != null && clusterOwner.equals(authorizedOwner)) {
          s.owner = clusterOwner; // adopted from the directory: the session is owned on another node
        }
        if (!Objects.equals(s.owner, authorizedOwner)) {
          // a start claimed the session after the authorizer was asked: ask again (outside the lock)
          sessions.retireIfIdleLocked(s);
          return OWNER_CHANGED;
        }
        Run cur = s.current;
        if (cur != null && cur.mirror && cur.storeLost()) {
          remote.lostLater(cur);
          cur = null;
        }
        if (remote.clustered() && (cur == null || cur.mirror || cur.state().isTerminal())) {
          // the session's latest run may be on another node (a mirror's end may still be on its way)
          RunRecord latest;
          try {
            latest = remote.latest(sessionId);
            if (latest != null && (cur == null || !latest.runId().equals(cur.runId()))) {
              cur = remote.mirror(latest);
              s.current = cur;
            }
          } catch (EngineUnavailableException e) {
            sessions.retireIfIdleLocked(s);
            throw e;
          }
        }
        sessions.followLocked(s, c);
        if (c.isClosed()) {
          // Closed since the check above: its close may have walked c.follows before s was added,
          // and followLocked undid the follow. Nobody else would retire s if that left it idle.
          sessions.retireIfIdleLocked(s);
          return Result.refused(ErrorCode.UNKNOWN_CONNECTION, "connection closed");
        }
        if (cur == null) {
          SubscribeAck ack = noRunAck(t, true);
          c.enqueueControl(new Outbound.Subscribed(ack, ref)); // flushed by the caller, outside the lock
          return Result.ok(ack);
        }
        SubscribeAck ack;
        try {
          if (cur.mirror && t.lastSeq() > cur.headSeq()) {
            remote.catchUp(cur); // the client saw more on another node than this mirror was handed yet
          }
          ack = RunResume.subscribe(cur, c, t, mode, true, ref);
        } catch (EngineUnavailableException e) {
          sessions.unfollowLocked(s, c);
          throw e;
        }
        if (ack == null) {
          sessions.unfollowLocked(s, c);
          return OWNER_CHANGED; // the mirror was retired meanwhile: look it up again
        }
        return Result.ok(ack);
      }
    }
  }

  /** A mirror a subscribe created but could not attach to (the run ended, or the connection closed) may retire. */
  private void idleAfterFailedAttach(Run r) {
    if (r.mirror && !r.state().isTerminal() && r.recipientsSnapshot().length == 0) {
      remote.idle(r);
    }
  }

  /**
   * The ack when no run is held: {@link ResumeStatus#NO_RUN_YET} for a follower that had no
   * position (it gets the session's next run), {@link ResumeStatus#UNKNOWN_RUN} when the position
   * it holds is gone (evicted, restarted, never existed).
   */
  private static SubscribeAck noRunAck(SubscribeTarget t, boolean following) {
    boolean hadPosition = t.lastSeq() > 0 || t.epoch() != null || t.runId() != null;
    ResumeStatus status = following && !hadPosition ? ResumeStatus.NO_RUN_YET : ResumeStatus.UNKNOWN_RUN;
    return new SubscribeAck(
        t.sessionId(), t.runId(), null, status, false, 0, 1, 1, 0, t.lastSeq() > 0, following, List.of(), null,
        t.lastSeq());
  }

  void unsubscribe(String connectionId, String sessionId) {
    ConnectionState c = connections.get(connectionId);
    if (c != null) {
      unsubscribe(c, sessionId);
    }
  }

  void unsubscribe(ConnectionState c, String sessionId) {
    SessionState s = sessions.get(sessionId);
    if (s != null) {
      sessions.unfollow(s, c);
    }
    for (ConnectionState.RunLink l : c.runLinks) {
      if (l.isRecipient() && l.sessionId().equals(sessionId)) {
        l.detach();
      }
    }
  }

  Result<RunHandle> attach(String runId, String connectionId, AttachMode mode) {
    Objects.requireNonNull(runId, "runId");
    Objects.requireNonNull(connectionId, "connectionId");
    Objects.requireNonNull(mode, "mode");
    ConnectionState c = connections.get(connectionId);
    if (c == null) {
      return Result.refused(ErrorCode.UNKNOWN_CONNECTION, "unknown connection " + connectionId);
    }
    Run r = runs.get(runId);
    if (r == null) {
      return Result.refused(ErrorCode.UNKNOWN_RUN, "run " + runId + " is not held");
    }
    if (!r.startedBy(c)) {
      String owner = sessions.ownerOf(r.sessionId());
      Authorizer.Decision d = hooks.authorize(c.principal, Action.SUBSCRIBE, r.sessionId(), owner == null ? r.owner() : owner);
      if (d != Authorizer.Decision.ALLOW) {
        return d == Authorizer.Decision.DENY
            ? Result.refused(ErrorCode.FORBIDDEN, "may not receive run " + runId)
            : Result.refused(ErrorCode.UNKNOWN_RUN, "run " + runId + " is not held");
      }
    }
    if (r.state().isTerminal()) {
      return Result.refused(ErrorCode.RUN_ENDED, "run " + runId + " has ended");
    }
    if (RunResume.attach(r, c, mode)) {
      return Result.ok(r);
    }
    return c.isClosed()
        ? Result.refused(ErrorCode.UNKNOWN_CONNECTION, "connection " + connectionId + " closed")
        : Result.refused(ErrorCode.RUN_ENDED, "run " + runId + " has ended");
  }

  boolean detach(String runId, String connectionId) {
    ConnectionState c = connections.get(connectionId);
    Run r = runs.get(runId);
    return c != null && r != null && r.detach(c);
  }

  Set<String> recipientsOf(String runId) {
    Run r = runs.get(runId);
    if (r == null) {
      return Set.of();
    }
    Set<String> out = new LinkedHashSet<>();
    for (ConnectionState c : r.recipients()) {
      out.add(c.id);
    }
    return out;
  }

  /** A notice to every live connection; it cannot carry a run. */
  void noticeAll(String kind, @Nullable Object data) {
    EncodedFrame f = hooks.encode(new Outbound.Notice(null, kind, data), Lane.CONTROL, null);
    if (f == null) {
      return;
    }
    for (ConnectionState c : connections.all()) {
      c.enqueue(f);
      c.flush();
    }
  }

  /** A notice to the session's followers and its current run's recipients, and nobody else. */
  int noticeSession(String sessionId, String kind, @Nullable Object data) {
    SessionState s = sessions.get(sessionId);
    if (s == null) {
      return 0;
    }
    EncodedFrame f = hooks.encode(new Outbound.Notice(sessionId, kind, data), Lane.CONTROL, null);
    if (f == null) {
      return 0;
    }
    Set<ConnectionState> targets = new LinkedHashSet<>();
    synchronized (s) {
      targets.addAll(s.followers);
      Run cur = s.current;
      if (cur != null) {
        targets.addAll(cur.recipients());
      }
    }
    for (ConnectionState c : targets) {
      c.enqueue(f);
      c.flush();
    }
    return targets.size();
  }
}
