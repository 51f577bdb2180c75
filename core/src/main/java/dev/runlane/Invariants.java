package dev.runlane;

import dev.runlane.engine.Engine;
import dev.runlane.engine.RunLog;

/**
 * The engine's structural invariants, checked on a quiescent engine by {@link
 * Runlane#checkInvariants()} (tests call it after every spec test). Each failure names what broke.
 *
 * <p><b>Thread safety:</b> takes each session's and run's lock in the engine's order while it
 * reads them; call it only when no other call is in progress.
 */
final class Invariants {
  private Invariants() {}

  static void check(Connections connections, Sessions sessions, Runs runs, Engine engine, HostHooks hooks, RemoteRuns remote) {
    long held = 0;
    for (Run r : runs.all()) {
      synchronized (r) {
        held += r.log().retainedBytes();
      }
    }
    require(held == hooks.retainedBytes.get(), "the retention budget counts " + hooks.retainedBytes.get() + " bytes, the logs hold " + held);
    for (ConnectionState c : connections.all()) {
      require(!c.isClosed(), "closed connection " + c.id + " is still registered");
      require(connections.get(c.id) == c, "connection " + c.id + " is registered under another instance");
      for (ConnectionState.RunLink l : c.runLinks) {
        require(l instanceof RunEdge, "unknown run link " + l);
        RunEdge e = (RunEdge) l;
        require(e.connection == c, "connection " + c.id + " holds another connection's edge");
        Run r = (Run) e.run;
        require(r.edges().contains(e), "connection " + c.id + " links run " + r.runId() + " which lost the edge");
      }
      for (ConnectionState.Followed f : c.follows) {
        SessionState s = (SessionState) f;
        synchronized (s) {
          require(s.followers.contains(c), "connection " + c.id + " follows session " + s.sessionId + " that lost it");
          require(!s.dead && sessions.get(s.sessionId) == s, "connection " + c.id + " follows dead session " + s.sessionId);
        }
      }
    }
    for (SessionState s : sessions.all()) {
      synchronized (s) {
        require(!s.dead, "dead session " + s.sessionId + " is still registered");
        require(!s.idleLocked(), "idle session " + s.sessionId + " was not retired");
        for (ConnectionState c : s.followers) {
          require(!c.isClosed() && connections.get(c.id) == c, "session " + s.sessionId + " is followed by closed connection " + c.id);
          require(c.follows.contains(s), "session " + s.sessionId + " has follower " + c.id + " that does not know it");
        }
        Run cur = s.current;
        require(cur == null || runs.get(cur.runId()) == cur, "session " + s.sessionId + " holds an evicted run");
      }
    }
    int runningMirrors = 0;
    for (Run r : runs.all()) {
      SessionState s = sessions.get(r.sessionId());
      String running;
      boolean directoryKnown = true;
      try {
        running = engine.directory().running(r.sessionId()).orElse(null);
      } catch (dev.runlane.engine.EngineUnavailableException e) {
        running = null; // a closed (or cut-off) cluster engine: the store's side is not checked
        directoryKnown = false;
      }
      if (r.mirror && !r.state().isTerminal()) {
        runningMirrors++;
        require(r.recipientsSnapshot().length > 0, "running mirror " + r.runId() + " has no recipient: it should have been retired");
      }
      if (!r.state().isTerminal()) {
        require(r.mirror || (s != null && s.current == r), "running run " + r.runId() + " is not its session's current run");
        require(!directoryKnown || r.runId().equals(running), "running run " + r.runId() + " does not hold its session in the directory");
      } else {
        require(!r.runId().equals(running), "ended run " + r.runId() + " still holds its session in the directory");
        require(r.outcome().isPresent(), "ended run " + r.runId() + " has no outcome");
      }
      synchronized (r) {
        RunLog log = r.log();
        long head = log.head();
        long oldest;
        try {
          oldest = log.oldest();
        } catch (dev.runlane.engine.EngineUnavailableException e) {
          oldest = head + 1; // a mirror's store is not reachable any more
        }
        require(head >= 1, "run " + r.runId() + " has no run.started event");
        require(oldest >= 1 && oldest <= head + 1, "run " + r.runId() + " log oldest " + oldest + " vs head " + head);
        if (!r.endedElsewhere() || r.mirror) {
          r.outcome().ifPresent(o -> require(o.terminalSeq() == head, "run " + r.runId() + " logged past its terminal event"));
        }
        for (RunEdge e : r.edges()) {
          require(!e.isEmpty(), "run " + r.runId() + " keeps an empty edge to " + e.connection.id);
          require(!e.connection.isClosed(), "run " + r.runId() + " keeps an edge to closed connection " + e.connection.id);
          require(e.connection.runLinks.contains(e), "run " + r.runId() + " has an edge its connection " + e.connection.id + " lost");
          require(!e.recipient || !r.state().isTerminal(), "ended run " + r.runId() + " still has recipient " + e.connection.id);
        }
      }
    }
    require(remote.openTails() == runningMirrors, remote.openTails() + " tails open for " + runningMirrors + " running mirrors");
  }

  private static void require(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError("engine invariant broken: " + what);
    }
  }
}
