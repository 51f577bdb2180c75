package dev.runlane.cluster.redis;

/**
 * Every Redis key of one engine, under its prefix. Keys that one script touches share a Redis
 * Cluster hash slot through a {@code {...}} hash tag: a session's directory hash is alone in its
 * slot ({@code {s:<session>}}), a run's stream and metadata share one ({@code {r:<run>}}), a node's
 * lease, running-runs hash and sweep claim share one ({@code {n:<member>}}). No script spans two
 * slots.
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

  /** A session's directory hash: running run, its owner, the latest run. */
  String session(String sessionId) {
    return prefix + ":{s:" + sessionId + "}";
  }

  /** A run's stream: one entry per sequenced frame, id {@code <seq>-0}. */
  String log(String runId) {
    return prefix + ":{r:" + runId + "}:log";
  }

  /** A run's metadata hash: owner member, session, epoch, state. */
  String run(String runId) {
    return prefix + ":{r:" + runId + "}:meta";
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
