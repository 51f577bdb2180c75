package dev.runlane.cluster.redis;

import dev.runlane.testredis.RedisServer;

import dev.runlane.RunState;
import dev.runlane.engine.RunLog;
import dev.runlane.engine.RunRecord;
import java.util.List;

/**
 * Memory per run and per event in Redis (docs/concepts/cluster.md), on a redis-server of its own:
 * {@code MEMORY USAGE} of one run's keys at several event counts, and {@code used_memory} before and
 * after 1,000 runs of 100 events. Run like {@link RedisClusterHarness}:
 *
 * <pre>
 * java -cp ... dev.runlane.cluster.redis.RedisMemoryProbe [payload=100]
 * </pre>
 */
public final class RedisMemoryProbe {
  private RedisMemoryProbe() {}

  public static void main(String[] args) throws Exception {
    int payload = 100;
    for (String a : args) {
      if (a.startsWith("payload=")) {
        payload = Integer.parseInt(a.substring(8));
      }
    }
    try (RedisServer redis = RedisServer.start(); Fixtures fx = new Fixtures(redis)) {
      RedisEngine e = fx.engine("mem");
      RedisLink link = e.link();
      Keys k = e.keys();
      System.out.println("payload of each event: ~" + payload + " bytes (JSON text)");
      for (int events : List.of(0, 1, 10, 100, 1000)) {
        String run = "m" + events;
        String session = "ms" + events;
        RunRecord r = Fixtures.record(e, session, run);
        e.directory().claim(r);
        RunLog log = e.newLog(run, 10_000, 0);
        for (long seq = 1; seq <= events; seq++) {
          log.append(seq, Fixtures.event(seq, payload - 20));
        }
        while (e.view(run).head() < events) {
          Thread.sleep(1);
        }
        long stream = usage(link, k.log(session, run));
        long record = usage(link, k.run(session, run));
        long sess = usage(link, k.session(session));
        long pointer = usage(link, k.pointer(run));
        long nodeRuns = usage(link, k.nodeRuns(e.nodeId()));
        System.out.printf(
            "events %5d: stream %8d B, record %4d B, session %4d B, pointer %3d B (node's running-runs hash %d B for %s runs)%n",
            events, stream, record, sess, pointer, nodeRuns, "all");
      }
      long before = usedMemory(link);
      int runs = 1000;
      int events = 100;
      for (int i = 0; i < runs; i++) {
        String run = "bulk" + i;
        RunRecord r = Fixtures.record(e, "bs" + i, run);
        e.directory().claim(r);
        RunLog log = e.newLog(run, 10_000, 0);
        for (long seq = 1; seq <= events; seq++) {
          log.append(seq, Fixtures.event(seq, payload - 20));
        }
        if (i % 2 == 0) {
          dev.runlane.RunOutcome o = Fixtures.outcome(r, events + 1, RunState.COMPLETED);
          e.directory().end(o, null);
          log.append(events + 1, Fixtures.terminal(o));
        }
      }
      while (e.view("bulk" + (runs - 1)).head() < events) {
        Thread.sleep(1);
      }
      Thread.sleep(200);
      long after = usedMemory(link);
      System.out.printf(
          "used_memory: +%d B for %d runs of %d events (half ended): %.0f B per run, %.1f B per event all in%n",
          after - before, runs, events, (after - before) / (double) runs, (after - before) / (double) (runs * events));
    }
  }

  private static long usage(RedisLink link, String key) {
    Long v = link.await(link.async().memoryUsage(key), "MEMORY USAGE");
    return v == null ? 0 : v;
  }

  private static long usedMemory(RedisLink link) {
    String info = link.await(link.async().info("memory"), "INFO memory");
    for (String line : info.split("\r?\n")) {
      if (line.startsWith("used_memory:")) {
        return Long.parseLong(line.substring("used_memory:".length()).trim());
      }
    }
    throw new IllegalStateException("no used_memory in INFO");
  }
}
