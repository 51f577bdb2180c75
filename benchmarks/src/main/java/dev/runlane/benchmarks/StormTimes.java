package dev.runlane.benchmarks;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.DataFormatException;
import org.HdrHistogram.Histogram;

/**
 * The reconnection storm's moments per connection, as histograms: in a {@link WireClient} process
 * they are recorded (one instance, owned by its selector thread); in the {@link WireLoadHarness}
 * one instance merges every client process's answer and turns the sum into the storm's figures.
 *
 * <p>All moments are one client process's {@code System.nanoTime()}, read on its selector thread
 * when it gets to the bytes (a busy client thread stamps late, never early):
 *
 * <ul>
 *   <li><b>drop</b>: the {@code drop} command, before the process closes all its sockets and
 *       opens new ones;
 *   <li><b>upgraded</b>: the read that holds the end of the {@code 101} response's headers;
 *   <li><b>welcome</b>: the read of Runlane's {@code welcome} frame (sent by {@code
 *       Runlane.connect}, which the adapter calls once the upgrade is done);
 *   <li><b>ack</b>: the read of the {@code subscribed} answer;
 *   <li><b>caught up</b>: the ack, or the first run event after it, at which the connection has
 *       every event up to the ack's {@code replayTo}.
 * </ul>
 *
 * <p>Histograms: {@code back} (drop → ack), {@code caught} (drop → caught up), {@code upgraded}
 * (drop → upgraded: the connection re-established), {@code resume} (upgraded → caught up: Runlane's
 * resume over a fresh socket), {@code ackUp} (upgraded → ack) and {@code welcomeUp} (upgraded →
 * welcome: the server's side of the upgrade up to Runlane's first frame).
 *
 * <p><b>Thread safety:</b> not thread-safe; one thread records, encodes or merges.
 */
final class StormTimes {
  /** The histograms' names in a client's {@code stats} answer, in this order. */
  static final String[] NAMES = {"back", "caught", "upgraded", "resume", "ackUp", "welcomeUp"};

  private final Histogram back = WireClient.newHistogram();
  private final Histogram caught = WireClient.newHistogram();
  private final Histogram upgraded = WireClient.newHistogram();
  private final Histogram resume = WireClient.newHistogram();
  private final Histogram ackUp = WireClient.newHistogram();
  private final Histogram welcomeUp = WireClient.newHistogram();
  private long dropAt;

  /** A storm starts: every histogram is emptied. */
  void drop(long now) {
    dropAt = now;
    for (Histogram h : all()) {
      h.reset();
    }
  }

  /** A dropped connection's upgrade completed at {@code now}; returns the stamp to keep for it. */
  long upgraded(long now) {
    upgraded.recordValue(Math.max(0, now - dropAt));
    return now;
  }

  /** A dropped connection, upgraded at {@code upgradedAt}, received its welcome at {@code now}. */
  void welcomed(long upgradedAt, long now) {
    welcomeUp.recordValue(Math.max(0, now - upgradedAt));
  }

  /** A dropped connection, upgraded at {@code upgradedAt}, was acknowledged at {@code now}. */
  void acked(long upgradedAt, long now) {
    back.recordValue(Math.max(0, now - dropAt));
    ackUp.recordValue(Math.max(0, now - upgradedAt));
  }

  /** A dropped connection, upgraded at {@code upgradedAt}, was caught up at {@code now}. */
  void caughtUp(long upgradedAt, long now) {
    caught.recordValue(Math.max(0, now - dropAt));
    resume.recordValue(Math.max(0, now - upgradedAt));
  }

  /** {@code " back B64 caught B64 ... welcomeUp B64"} ({@link #NAMES}), for a {@code stats} answer. */
  String encode() {
    StringBuilder sb = new StringBuilder();
    Histogram[] hs = all();
    for (int i = 0; i < NAMES.length; i++) {
      sb.append(' ').append(NAMES[i]).append(' ').append(WireClient.encode(hs[i]));
    }
    return sb.toString();
  }

  /** Adds one client process's histograms, from its {@code stats} answer parsed by {@link WireLoadHarness#kv}. */
  void add(Map<String, String> stats) throws DataFormatException {
    Histogram[] hs = all();
    for (int i = 0; i < NAMES.length; i++) {
      hs[i].add(WireLoadHarness.decode(stats.get(NAMES[i])));
    }
  }

  /**
   * The storm figures of the merged histograms, in milliseconds: the harness's existing {@code
   * stormBack*}, {@code stormCaughtUp*} and {@code stormReconnected}, then {@code stormUpgraded*}
   * (drop → 101), {@code stormResume*} (101 → caught up) and {@code stormAckAfterUpgrade*} (101 →
   * ack) and {@code stormWelcomeAfterUpgrade*} (101 → welcome), each p50, p99 and max, with the
   * counts of connections behind the new ones.
   */
  Map<String, Object> figures() {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("stormBackP10Ms", ms(back.getValueAtPercentile(10)));
    r.put("stormBackP50Ms", ms(back.getValueAtPercentile(50)));
    r.put("stormBackP90Ms", ms(back.getValueAtPercentile(90)));
    r.put("stormBackP99Ms", ms(back.getValueAtPercentile(99)));
    r.put("stormBackMaxMs", ms(back.getMaxValue()));
    r.put("stormCaughtUpP50Ms", ms(caught.getValueAtPercentile(50)));
    r.put("stormCaughtUpMaxMs", ms(caught.getMaxValue()));
    r.put("stormReconnected", caught.getTotalCount());
    spread(r, "stormUpgraded", upgraded);
    spread(r, "stormResume", resume);
    spread(r, "stormAckAfterUpgrade", ackUp);
    spread(r, "stormWelcomeAfterUpgrade", welcomeUp);
    r.put("stormUpgradedCount", upgraded.getTotalCount());
    r.put("stormResumeCount", resume.getTotalCount());
    return r;
  }

  private static void spread(Map<String, Object> r, String key, Histogram h) {
    r.put(key + "P50Ms", ms(h.getValueAtPercentile(50)));
    r.put(key + "P99Ms", ms(h.getValueAtPercentile(99)));
    r.put(key + "MaxMs", ms(h.getMaxValue()));
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  private Histogram[] all() {
    return new Histogram[] {back, caught, upgraded, resume, ackUp, welcomeUp};
  }
}
