package dev.runlane.cluster.redis;

/**
 * Every Redis key of one engine, under its prefix. Keys that one script touches share a Redis
 * Cluster hash slot through a {@code {...}} hash tag: everything of a session and of its runs
 * (the session's directory hash, each run's record hash, stream and pending approvals) lives in the
 * session's slot ({@code {s:<session>}}), so claim, append, signal and end are each one script on
 * one shard. A run id is mapped to its session by a small pointer key in the run's own slot
 * ({@code {r:<run>}}), read once per run and cached. A node incarnation's lease, running-runs hash
 * and sweep claim share {@code {n:<member>}}.
 *
 * <p><b>Thread safety:</b> immutable.
 */
final class Keys {
  final String prefix;

  Keys(String prefix) {
    if (prefix.isEmpty() || prefix.indexOf('{') >= 0 || prefix.indexOf('}') >= 0) {
      throw new IllegalArgumentException("key prefix must be non-empty and free of braces: " + prefix);
    }
    this.prefix = prefix;
  }

  /** A session's directory hash: its running run and its latest run. */
  String session(String sessionId) {
    return prefix + ":{s:" + sessionId + "}";
  }

  /** Where a session's run starts are announced (Pub/Sub). */
  String started(String sessionId) {
    return prefix + ":{s:" + sessionId + "}:started";
  }

  /** A run's record hash: session, epoch, node, owners, retention, head, oldest, fence, outcome. */
  String run(String sessionId, String runId) {
    return prefix + ":{s:" + sessionId + "}:r:" + runId;
  }

  /** A run's stream: entry {@code <seq>-0} per sequenced frame, {@code <head>-<n>} per signal. */
  String log(String sessionId, String runId) {
    return prefix + ":{s:" + sessionId + "}:r:" + runId + ":log";
  }

  /** A run's pending approval requests: approval id -> frame. */
  String approvals(String sessionId, String runId) {
    return prefix + ":{s:" + sessionId + "}:r:" + runId + ":ap";
  }

  /** A run's session id, by run id. */
  String pointer(String runId) {
    return prefix + ":{r:" + runId + "}";
  }

  /** A node incarnation's lease ({@code SET ... PX ttl}). */
  String lease(String member) {
    return prefix + ":{n:" + member + "}:lease";
  }

  /** A node incarnation's running runs: run id -> session id. */
  String nodeRuns(String member) {
    return prefix + ":{n:" + member + "}:runs";
  }

  /** The claim on cleaning up a dead node incarnation ({@code SET NX}). */
  String sweep(String member) {
    return prefix + ":{n:" + member + "}:sweep";
  }

  /** A node incarnation's command channel (Pub/Sub): requests and replies addressed to it. */
  String channel(String member) {
    return prefix + ":{n:" + member + "}:cmd";
  }

  /** Every live node incarnation (a set, for the sweepers). */
  String nodes() {
    return prefix + ":nodes";
  }

  /** The epoch source: a random base id set at first use and a counter. */
  String epochs() {
    return prefix + ":{epoch}";
  }
}
