package dev.runlane;

import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * The sessions of this node: created when first used, retired when nothing keeps them alive (no
 * run held, nobody following). A retired session is marked dead under its lock, so a caller that
 * raced with the retirement looks it up again.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; per-session state is guarded by the session's
 * monitor (lock order: session, then run, then outbox).
 */
final class Sessions implements SessionState.Owner {
  private final ConcurrentHashMap<String, SessionState> sessions = new ConcurrentHashMap<>();

  /** Told, under the session's lock, when a session gets its first follower and when it has none left. */
  interface Watcher {
    void followed(SessionState s);

    void unfollowed(SessionState s);
  }

  private volatile @Nullable Watcher watcher;

  void watcher(Watcher w) {
    this.watcher = w;
  }

  /** The live session with this id, created if absent. It may die before the caller locks it. */
  SessionState open(String sessionId) {
    return sessions.computeIfAbsent(sessionId, id -> new SessionState(this, id));
  }

  @Nullable SessionState get(String sessionId) {
    return sessions.get(sessionId);
  }

  /** The session's owner, or null if it has none yet (or is unknown). */
  @Nullable String ownerOf(String sessionId) {
    SessionState s = sessions.get(sessionId);
    return s == null ? null : s.owner;
  }

  int size() {
    return sessions.size();
  }

  Collection<SessionState> all() {
    return sessions.values();
  }

  /** Adds a follower. Call under the session's lock. */
  void followLocked(SessionState s, ConnectionState c) {
    if (s.followers.add(c)) {
      c.follows.add(s);
      if (c.isClosed()) { // closeLocally already walked c.follows: undo
        s.followers.remove(c);
        c.follows.remove(s);
      } else if (s.followers.size() == 1 && watcher != null) {
        watcher.followed(s);
      }
    }
  }

  /** Undoes a follow made under this lock (its subscribe failed). Under the session's lock. */
  void unfollowLocked(SessionState s, ConnectionState c) {
    s.followers.remove(c);
    c.follows.remove(s);
    if (s.followers.isEmpty()) {
      noneLeft(s);
    }
    retireIfIdleLocked(s);
  }

  private void noneLeft(SessionState s) {
    Watcher w = watcher;
    if (w != null) {
      w.unfollowed(s);
    }
  }

  @Override
  public void unfollow(SessionState s, ConnectionState c) {
    synchronized (s) {
      unfollowLocked(s, c);
    }
  }

  /** Drops {@code s} from its followers' view and the registry if nothing keeps it. Under its lock. */
  void retireIfIdleLocked(SessionState s) {
    if (s.idleLocked() && !s.dead) {
      s.dead = true;
      sessions.remove(s.sessionId, s);
      noneLeft(s);
    }
  }

  /** The run was evicted: the session no longer holds it, and may retire. */
  void runEvicted(String sessionId, Run run) {
    SessionState s = sessions.get(sessionId);
    if (s != null) {
      synchronized (s) {
        if (s.current == run) {
          s.current = null;
          retireIfIdleLocked(s);
        }
      }
    }
  }
}
