package dev.runlane.cluster.redis;

import static dev.runlane.cluster.redis.RedisLink.bytes;

import dev.runlane.RunOutcome;
import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.RunDirectory;
import dev.runlane.engine.RunRecord;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The run directory in Redis. A session's hash holds its running run and its latest run; each run's
 * record hash (same slot) holds what {@link RunRecord} says plus the log's head, oldest seq, the
 * recorded end (its terminal seq: the fence) and outcome. {@link #claim} and {@link #end} are each
 * one Lua script ({@link Scripts#CLAIM}, {@link Scripts#END}), atomic on that slot, one round trip:
 * a compare-and-set that Redis executes with no other command in between, so two nodes claiming one
 * session at the same instant get one winner, and two ends of one run get one. A {@code
 * WATCH}/{@code MULTI} transaction would need two round trips and a retry loop under contention, on
 * a connection of its own ({@code WATCH} is per connection, and the main connection is shared and
 * pipelined), and could not fence an append as cheaply.
 *
 * <p>Before the claim, pipelined on the same connection, the run is put in its node's running-runs
 * hash (so the sweeper finds it even if the node dies right after the claim) and its run-id pointer
 * is written; a refused claim removes both.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
final class RedisDirectory implements RunDirectory {
  private static final Logger LOG = LoggerFactory.getLogger(RedisDirectory.class);
  private static final int CACHED = 100_000;

  private final RedisLink link;
  private final Keys keys;
  private final String member;
  private final Function<String, @Nullable StreamRunLog> localLog;
  private final Map<String, String> sessionOfRun =
      new LinkedHashMap<>(16, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
          return size() > CACHED;
        }
      };

  RedisDirectory(RedisLink link, Keys keys, String member, Function<String, @Nullable StreamRunLog> localLog) {
    this.link = link;
    this.keys = keys;
    this.member = member;
    this.localLog = localLog;
  }

  /** The session of {@code runId}: cached, else read from its pointer; null if Redis does not know it. */
  @Nullable String sessionOf(String runId) {
    synchronized (sessionOfRun) {
      String s = sessionOfRun.get(runId);
      if (s != null) {
        return s;
      }
    }
    byte @Nullable [] v = link.await(link.async().get(keys.pointer(runId)), "session of run " + runId);
    if (v == null) {
      return null;
    }
    String s = RedisLink.string(v);
    remember(runId, s);
    return s;
  }

  void remember(String runId, String sessionId) {
    synchronized (sessionOfRun) {
      sessionOfRun.put(runId, sessionId);
    }
  }

  @Override
  public Optional<String> claim(RunRecord run) {
    RedisAsyncCommands<String, byte[]> c = link.async();
    String runId = run.runId();
    String sessionId = run.sessionId();
    // pipelined, in order, before the script: the sweeper finds the run even if this node dies now
    c.hset(keys.nodeRuns(member), runId, bytes(sessionId));
    c.set(keys.pointer(runId), bytes(sessionId));
    CompletableFuture<byte @Nullable []> r =
        Scripts.CLAIM.call(
            c,
            ScriptOutputType.VALUE,
            new String[] {keys.session(sessionId), keys.run(sessionId, runId)},
            bytes(runId),
            bytes(sessionId),
            bytes(run.epoch()),
            bytes(run.nodeId()),
            bytes(run.owner()),
            bytes(run.sessionOwner()),
            bytes(Long.toString(Math.max(1, run.retentionMillis()))),
            bytes(keys.started(sessionId)),
            CommandCodec.record(run));
    byte @Nullable [] holder;
    try {
      holder = link.await(r, "claim of session " + sessionId);
    } catch (StoreUnavailableException e) {
      forget(runId);
      throw e;
    }
    if (holder == null) {
      remember(runId, sessionId);
      return Optional.empty();
    }
    forget(runId);
    return Optional.of(RedisLink.string(holder));
  }

  private void forget(String runId) {
    link.async().hdel(keys.nodeRuns(member), runId);
    link.async().del(keys.pointer(runId));
  }

  @Override
  public boolean end(RunOutcome outcome, @Nullable EncodedFrame terminal) {
    String runId = outcome.runId();
    String sessionId = outcome.sessionId();
    StreamRunLog log = terminal == null ? localLog.apply(runId) : null;
    if (log != null) {
      log.flush(); // every accepted frame is stored before the end is: the terminal follows them
    }
    byte[] empty = new byte[0];
    CompletableFuture<Long> r =
        Scripts.END.call(
            link.async(),
            ScriptOutputType.INTEGER,
            new String[] {
              keys.session(sessionId), keys.run(sessionId, runId), keys.log(sessionId, runId),
              keys.approvals(sessionId, runId)
            },
            bytes(runId),
            CommandCodec.outcome(outcome),
            bytes(Long.toString(outcome.terminalSeq())),
            terminal == null ? new byte[] {'0'} : new byte[] {'1'},
            terminal == null ? empty : FrameFields.payload(terminal),
            terminal == null ? empty : FrameFields.kind(terminal),
            terminal == null ? empty : FrameFields.meta(terminal),
            terminal == null ? empty : FrameFields.coalesce(terminal));
    long code = link.await(r, "end of run " + runId);
    if (code == -2) {
      if (terminal != null) {
        return false;
      }
      // The store lost the run (Redis restarted empty): no other node knows it either, so this
      // node's end is the only one; its terminal reaches this node's recipients only.
      LOG.warn("Redis has no record of run {} (restarted empty?); ending it on this node only", runId);
      if (log != null) {
        log.markEnded();
      }
      return true;
    }
    if (code < 1) {
      return false;
    }
    RedisAsyncCommands<String, byte[]> c = link.async();
    c.pexpire(keys.pointer(runId), code); // the script answers the record's retention
    c.hdel(keys.nodeRuns(member), runId);
    if (log != null) {
      log.markEnded();
    }
    return true;
  }

  @Override
  public Optional<RunRecord> lookup(String runId) {
    String sessionId = sessionOf(runId);
    if (sessionId == null) {
      return Optional.empty();
    }
    return record(sessionId, runId);
  }

  Optional<RunRecord> record(String sessionId, String runId) {
    Map<String, byte[]> h = link.await(link.async().hgetall(keys.run(sessionId, runId)), "record of run " + runId);
    return Optional.ofNullable(parse(runId, h));
  }

  static @Nullable RunRecord parse(String runId, Map<String, byte[]> h) {
    byte[] session = h.get("session");
    byte[] epoch = h.get("epoch");
    byte[] node = h.get("node");
    byte[] owner = h.get("owner");
    byte[] sowner = h.get("sowner");
    byte[] ret = h.get("ret");
    if (session == null || epoch == null || node == null || owner == null || sowner == null || ret == null) {
      return null;
    }
    byte[] outcome = h.get("outcome");
    return new RunRecord(
        runId,
        RedisLink.string(session),
        RedisLink.string(epoch),
        RedisLink.string(node),
        RedisLink.string(owner),
        RedisLink.string(sowner),
        Long.parseLong(RedisLink.string(ret)),
        outcome == null ? null : CommandCodec.outcome(outcome));
  }

  @Override
  public Optional<RunRecord> latest(String sessionId) {
    byte @Nullable [] latest =
        link.await(link.async().hget(keys.session(sessionId), "latest"), "latest run of " + sessionId);
    if (latest == null) {
      return Optional.empty();
    }
    String runId = RedisLink.string(latest);
    remember(runId, sessionId);
    return record(sessionId, runId);
  }

  @Override
  public Optional<String> running(String sessionId) {
    byte @Nullable [] v =
        link.await(link.async().hget(keys.session(sessionId), "running"), "running run of " + sessionId);
    return v == null ? Optional.empty() : Optional.of(RedisLink.string(v));
  }
}
