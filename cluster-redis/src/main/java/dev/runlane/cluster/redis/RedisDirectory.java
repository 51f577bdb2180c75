package dev.runlane.cluster.redis;

import static dev.runlane.cluster.redis.RedisLink.bytes;

import dev.runlane.engine.RunDirectory;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * The run directory in Redis: one hash per session ({@code {s:<session>}}) holding its running run
 * and that run's owner node. {@link #claim} and {@link #end} are each one Lua script, atomic on the
 * session's hash, one round trip: a compare-and-set that Redis executes with no other command in
 * between, so two nodes claiming one session at the same instant get one winner, and two ends of one
 * run get one. (A {@code WATCH}/{@code MULTI} transaction would need two round trips and a retry loop
 * under contention, on a dedicated connection, since {@code WATCH} is per connection and the main
 * connection is shared and pipelined.)
 *
 * <p>Beside the claim, pipelined on the same connection and sent <em>before</em> the script, the
 * run is recorded in its owner's running-runs hash and its metadata hash: if the node dies right
 * after the claim, the sweeper still finds the run. A refused claim removes both again.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
final class RedisDirectory implements RunDirectory {
  private static final RedisLink.Script CLAIM =
      new RedisLink.Script(
          """
          local cur = redis.call('HGET', KEYS[1], 'running')
          if cur then return cur end
          redis.call('HSET', KEYS[1], 'running', ARGV[1], 'owner', ARGV[2], 'latest', ARGV[1])
          redis.call('PERSIST', KEYS[1])
          return false
          """);

  /** 1: this call ended the run; 0: it was not running (another end won). */
  private static final RedisLink.Script END =
      new RedisLink.Script(
          """
          if redis.call('HGET', KEYS[1], 'running') == ARGV[1] then
            redis.call('HDEL', KEYS[1], 'running', 'owner')
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
            return 1
          end
          return 0
          """);

  private final RedisLink link;
  private final Keys keys;
  private final String member;
  private final long retentionMillis;
  private final java.util.function.Consumer<String> onEnded;

  RedisDirectory(
      RedisLink link, Keys keys, String member, long retentionMillis, java.util.function.Consumer<String> onEnded) {
    this.onEnded = onEnded;
    this.link = link;
    this.keys = keys;
    this.member = member;
    this.retentionMillis = retentionMillis;
  }

  @Override
  public Optional<String> claim(String sessionId, String runId) {
    RedisAsyncCommands<String, byte[]> c = link.async();
    // pipelined, in order, before the script: the sweeper finds the run even if this node dies now
    c.hset(keys.nodeRuns(member), runId, bytes(sessionId));
    c.hset(keys.run(runId), java.util.Map.of("owner", bytes(member), "session", bytes(sessionId)));
    CompletableFuture<byte @Nullable []> r =
        CLAIM.call(c, ScriptOutputType.VALUE, new String[] {keys.session(sessionId)}, bytes(runId), bytes(member));
    byte @Nullable [] holder;
    try {
      holder = link.await(r, "claim of session " + sessionId);
    } catch (StoreUnavailableException e) {
      forget(runId);
      throw e;
    }
    if (holder == null) {
      return Optional.empty();
    }
    forget(runId);
    return Optional.of(RedisLink.string(holder));
  }

  private void forget(String runId) {
    link.async().hdel(keys.nodeRuns(member), runId);
    link.async().del(keys.run(runId));
  }

  @Override
  public boolean end(String sessionId, String runId) {
    RedisAsyncCommands<String, byte[]> c = link.async();
    CompletableFuture<Long> r =
        END.call(
            c,
            ScriptOutputType.INTEGER,
            new String[] {keys.session(sessionId)},
            bytes(runId),
            bytes(Long.toString(retentionMillis)));
    boolean won = link.await(r, "end of run " + runId) == 1L;
    if (won) {
      // the run's metadata lives for the retention; its stream gets the same TTL with the terminal
      c.pexpire(keys.run(runId), retentionMillis);
      c.hdel(keys.nodeRuns(member), runId);
      onEnded.accept(runId);
    }
    return won;
  }

  @Override
  public Optional<String> running(String sessionId) {
    byte @Nullable [] v = link.await(link.async().hget(keys.session(sessionId), "running"), "running of " + sessionId);
    return v == null ? Optional.empty() : Optional.of(RedisLink.string(v));
  }
}
