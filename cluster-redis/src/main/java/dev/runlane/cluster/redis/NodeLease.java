package dev.runlane.cluster.redis;

import io.lettuce.core.SetArgs;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.time.Duration;
import dev.runlane.engine.NodeLossListener;
import dev.runlane.engine.RunRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node incarnation's lease and the sweeper of dead ones. The lease is {@code SET {n:<member>}:lease
 * <member> PX ttl}, renewed every ttl/3 on the engine's scheduler thread; the member is registered
 * in the set of nodes. Every node sweeps every ttl/2: a registered member whose lease is gone is
 * dead; one node wins its cleanup ({@code SET {n:<member>}:sweep NX PX}), reads its running runs and
 * reports the records of those not ended to the {@link NodeLossListener} (core ends each once
 * through the directory), then forgets
 * the member. A sweep that dies half-way is taken over by another node when its claim expires; the
 * runs it already ended are not ended twice (the directory's end is once per run).
 *
 * <p><b>Thread safety:</b> runs on the engine's scheduler thread; {@link #listener} is volatile.
 */
final class NodeLease {
  private static final Logger LOG = LoggerFactory.getLogger(NodeLease.class);


  private final RedisLink link;
  private final Keys keys;
  private final String member;
  private final Duration ttl;
  private final ScheduledExecutorService scheduler;
  private volatile @Nullable NodeLossListener listener;
  private @Nullable ScheduledFuture<?> renewal;
  private @Nullable ScheduledFuture<?> sweeping;
  private volatile boolean stopped;
  /** When the lease was last taken or renewed (System.nanoTime). */
  private volatile long renewedAt;

  private final RedisDirectory directory;

  NodeLease(
      RedisLink link, Keys keys, RedisDirectory directory, String member, Duration ttl,
      ScheduledExecutorService scheduler) {
    this.directory = directory;
    this.link = link;
    this.keys = keys;
    this.member = member;
    this.ttl = ttl;
    this.scheduler = scheduler;
  }

  void listener(@Nullable NodeLossListener l) {
    this.listener = l;
  }

  /** Takes the lease (waiting for Redis) and starts renewing it and sweeping. */
  void start() {
    RedisAsyncCommands<String, byte[]> c = link.async();
    long t = System.nanoTime();
    link.await(c.set(keys.lease(member), RedisLink.bytes(member), SetArgs.Builder.px(ttl.toMillis())), "node lease");
    renewedAt = t;
    link.await(c.sadd(keys.nodes(), RedisLink.bytes(member)), "node registration");
    long renewEvery = Math.max(1, ttl.toMillis() / 3);
    renewal = scheduler.scheduleWithFixedDelay(this::renew, renewEvery, renewEvery, TimeUnit.MILLISECONDS);
    long sweepEvery = Math.max(1, ttl.toMillis() / 2);
    sweeping = scheduler.scheduleWithFixedDelay(this::sweepSafely, sweepEvery, sweepEvery, TimeUnit.MILLISECONDS);
  }

  private void renew() {
    if (stopped) {
      return;
    }
    try {
      RedisAsyncCommands<String, byte[]> c = link.async();
      long t = System.nanoTime();
      link.await(c.set(keys.lease(member), RedisLink.bytes(member), SetArgs.Builder.px(ttl.toMillis())), "lease renewal");
      renewedAt = t;
      // after a Redis restarted empty the registration is gone too: register again, idempotently
      c.sadd(keys.nodes(), RedisLink.bytes(member));
    } catch (RuntimeException e) {
      LOG.warn("node {} could not renew its lease: {}", member, e.toString());
    }
  }

  /**
   * True while the lease certainly still holds in Redis: it was renewed less than half a TTL ago
   * (measured from before the renewal was sent). A node whose lease may have expired (it froze, or
   * could not reach Redis) cannot know whether a survivor ended its runs, so its appends wait for
   * Redis's answer and a fenced one fails at once.
   */
  boolean fresh() {
    return !stopped && System.nanoTime() - renewedAt < ttl.toNanos() / 2;
  }

  /** Pretends the last renewal is old (tests of a frozen owner). */
  void ageForTests() {
    renewedAt = System.nanoTime() - ttl.toNanos();
  }

  private void sweepSafely() {
    if (stopped) {
      return;
    }
    try {
      sweep();
    } catch (RuntimeException e) {
      LOG.debug("sweep failed: {}", e.toString());
    }
  }

  /** One sweep: reports every dead member's running runs once. Returns the members this call cleaned up. */
  List<String> sweep() {
    RedisAsyncCommands<String, byte[]> c = link.async();
    Set<byte[]> members = link.await(c.smembers(keys.nodes()), "SMEMBERS nodes");
    List<String> cleaned = new ArrayList<>();
    for (byte[] mb : members) {
      String m = RedisLink.string(mb);
      if (m.equals(member)) {
        continue;
      }
      long alive = link.await(c.exists(keys.lease(m)), "EXISTS lease");
      if (alive > 0) {
        continue;
      }
      String won =
          link.await(
              c.set(keys.sweep(m), RedisLink.bytes(member), SetArgs.Builder.nx().px(Math.max(30_000, 3 * ttl.toMillis()))),
              "sweep claim");
      if (!"OK".equals(won)) {
        continue; // another node is cleaning it up
      }
      Map<String, byte[]> held = link.await(c.hgetall(keys.nodeRuns(m)), "HGETALL runs");
      List<RunRecord> runs = new ArrayList<>();
      for (Map.Entry<String, byte[]> e : held.entrySet()) {
        directory
            .record(RedisLink.string(e.getValue()), e.getKey())
            .filter(r -> !r.ended())
            .ifPresent(runs::add);
      }
      if (!runs.isEmpty()) {
        LOG.warn("node {} is gone (its lease expired); ending its {} running run(s)", m, runs.size());
      }
      NodeLossListener l = listener;
      if (!runs.isEmpty()) {
        if (l == null) {
          c.del(keys.sweep(m)); // nobody to end them yet: leave them to a node that can
          continue;
        }
        l.nodeLost(m, runs);
      }
      link.await(c.del(keys.nodeRuns(m)), "DEL runs");
      link.await(c.srem(keys.nodes(), mb), "SREM nodes");
      cleaned.add(m);
    }
    return cleaned;
  }

  /** Stops renewing; if no run of this node is still running, gives the lease back. */
  void stop(boolean release) {
    stopped = true;
    if (renewal != null) {
      renewal.cancel(false);
    }
    if (sweeping != null) {
      sweeping.cancel(false);
    }
    if (!release) {
      return;
    }
    try {
      RedisAsyncCommands<String, byte[]> c = link.async();
      long running = link.await(c.hlen(keys.nodeRuns(member)), "HLEN runs");
      if (running == 0) {
        link.await(c.srem(keys.nodes(), RedisLink.bytes(member)), "SREM nodes");
        link.await(c.del(keys.lease(member)), "DEL lease");
      }
      // else: the lease expires and a sweeper ends the runs left behind
    } catch (RuntimeException e) {
      LOG.debug("could not release the lease of {}: {}", member, e.toString());
    }
  }
}
