package dev.runlane;

import java.util.LinkedHashSet;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A session on this node: its owner, its current (or last, until evicted) run and the connections
 * that follow it. Lock order: a session's monitor is taken before a run's monitor, never after.
 *
 * <p><b>Thread safety:</b> mutable state guarded by {@code this}; {@code owner} and {@code current}
 * are also readable without the lock.
 */
final class SessionState implements ConnectionState.Followed {

  /** The registry that holds sessions: told when a follower leaves, so an idle session retires. */
  interface Owner {
    void unfollow(SessionState s, ConnectionState c);
  }

  private final Owner registry;
  final String sessionId;
  volatile @Nullable String owner; // written under this
  volatile @Nullable Run current; // written under this
  // guarded by this; sized for one follower (a table of 2, 24 bytes, where the default 16 take 80)
  final Set<ConnectionState> followers = new LinkedHashSet<>(2);
  boolean dead; // guarded by this: removed from the registry, callers must look up again

  SessionState(Owner registry, String sessionId) {
    this.registry = registry;
    this.sessionId = sessionId;
  }

  /** Whether nothing keeps this session alive (no run held, nobody following). Call under this. */
  boolean idleLocked() {
    return current == null && followers.isEmpty();
  }

  @Override
  public String sessionId() {
    return sessionId;
  }

  @Override
  public void unfollow(ConnectionState c) {
    registry.unfollow(this, c);
  }
}
