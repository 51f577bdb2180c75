package dev.runlane.benchmarks;

import dev.runlane.AttachMode;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.Result;
import dev.runlane.SubscribeTarget;

/**
 * What the figures rely on, checked before anything is measured (and by the module's tests): an
 * event is encoded once whatever its fan-out, routing reaches exactly the run's recipients in both
 * Runlane and the naive hub, the Spring peer really delivers, and a resume replays exactly the
 * missed events. Each check throws {@link IllegalStateException} when it fails.
 *
 * <p><b>Thread safety:</b> stateless; each check builds and closes its own Runlane.
 */
public final class Checks {
  private Checks() {}

  /** Runs every check; returns one line per check. */
  public static String all() {
    StringBuilder sb = new StringBuilder();
    sb.append(encodeOnce(1_000, 100)).append('\n');
    sb.append(routingExact(1_000, 100)).append('\n');
    sb.append(springDelivers(10, 10)).append('\n');
    sb.append(resumeExact()).append('\n');
    return sb.toString();
  }

  /** Publishes {@code events} to a run with {@code recipients}: one encode and n sends per event. */
  public static String encodeOnce(int recipients, int events) {
    BenchCodec.Counting codec = BenchCodec.counting();
    try (Runlane rl = Fixtures.builder(codec).build()) {
      BenchConnection[] cs = Fixtures.connect(rl, "c", recipients, i -> "u");
      RunHandle run = FanOutBenchmark.fanOutRun(rl, cs);
      long encodes0 = codec.encodes();
      long sends0 = 0;
      for (BenchConnection c : cs) {
        sends0 += c.sends;
      }
      for (int i = 0; i < events; i++) {
        run.publish("delta", PublishBenchmark.DATA);
      }
      long sends = -sends0;
      for (BenchConnection c : cs) {
        sends += c.sends;
      }
      long encodes = codec.encodes() - encodes0;
      require(encodes == events, "encodes: " + encodes + " for " + events + " events");
      require(sends == (long) events * recipients, "deliveries: " + sends);
      return "encode once: " + events + " events x " + recipients + " recipients -> " + encodes
          + " encodes, " + sends + " deliveries";
    }
  }

  /** {@code runs} runs with one recipient each among {@code connections}: each gets only its own. */
  public static String routingExact(int connections, int runs) {
    try (Runlane rl = Fixtures.builder(new BenchCodec()).build()) {
      BenchConnection[] cs = Fixtures.connect(rl, "c", connections, i -> "u" + i);
      RunHandle[] rs = new RunHandle[runs];
      for (int r = 0; r < runs; r++) {
        rs[r] = Fixtures.start(rl, "s" + r, "u" + r, "c" + r);
      }
      long[] before = new long[connections];
      for (int i = 0; i < connections; i++) {
        before[i] = cs[i].sends;
      }
      for (int r = 0; r < runs; r++) {
        rs[r].publish("delta", PublishBenchmark.DATA);
      }
      NaiveBroadcastHub hub = new NaiveBroadcastHub(new BenchCodec());
      BenchConnection[] ns = new BenchConnection[connections];
      for (int i = 0; i < connections; i++) {
        ns[i] = new BenchConnection("n" + i, "u" + i);
        if (i < runs) {
          hub.register(ns[i], "run_" + i);
        } else {
          hub.register(ns[i]);
        }
      }
      for (int r = 0; r < runs; r++) {
        hub.publish("run_" + r, "s" + r, "delta", PublishBenchmark.DATA);
      }
      for (int i = 0; i < connections; i++) {
        long want = i < runs ? 1 : 0;
        require(cs[i].sends - before[i] == want, "runlane: connection " + i + " got " + (cs[i].sends - before[i]));
        require(ns[i].sends == want, "naive: connection " + i + " got " + ns[i].sends);
      }
      return "routing: " + runs + " runs among " + connections
          + " connections -> each recipient got exactly its run's event (Runlane and naive hub)";
    }
  }

  /** The Spring peer delivers each event to the run's sessions only. */
  public static String springDelivers(int runs, int perRun) {
    SpringPeer peer = new SpringPeer(runs, perRun);
    try {
      for (int r = 0; r < runs; r++) {
        peer.publish(r, new BenchCodec().encode(new dev.runlane.codec.Outbound.Heartbeat(0)));
      }
      long d = peer.delivered();
      require(d == (long) runs * perRun, "spring delivered " + d);
      return "spring peer: " + runs + " events to " + runs + " topics x " + perRun
          + " sessions -> " + d + " deliveries";
    } finally {
      peer.stop();
    }
  }

  /** A resume with lastSeq = head - 1000 replays exactly 1,000 events after the ack. */
  public static String resumeExact() {
    try (Runlane rl = Fixtures.builder(new BenchCodec()).build()) {
      RunHandle run = ResumeBenchmark.resumableRun(rl);
      BenchConnection c = new BenchConnection("r", "u");
      rl.connect(c);
      long sends0 = c.sends;
      SubscribeTarget t =
          new SubscribeTarget("s", run.runId(), run.headSeq() - ResumeBenchmark.MISSED, run.epoch());
      Result<SubscribeAck> r = rl.subscribe("r", t, AttachMode.ADDITIVE);
      require(r.isOk(), "subscribe: " + r);
      SubscribeAck ack = r.orElseThrow();
      require(ack.replayCount() == ResumeBenchmark.MISSED, "replayed " + ack.replayCount());
      require(c.sends - sends0 == ResumeBenchmark.MISSED + 1, "frames " + (c.sends - sends0));
      require(rl.detach(run.runId(), "r"), "detach");
      // the benchmark's operation: a new connection each time, disconnected after its replay
      for (int i = 0; i < 3; i++) {
        BenchConnection n = new BenchConnection("n" + i, "u");
        rl.connect(n);
        long before = n.sends;
        Result<SubscribeAck> again = rl.subscribe(n.id(), t, AttachMode.ADDITIVE);
        require(
            again.isOk()
                && again.orElseThrow().replayCount() == ResumeBenchmark.MISSED
                && n.sends - before == ResumeBenchmark.MISSED + 1,
            "reconnect " + i + ": " + again + ", frames " + (n.sends - before));
        rl.disconnect(n.id(), dev.runlane.transport.CloseReason.NORMAL);
      }
      return "resume: lastSeq = head - " + ResumeBenchmark.MISSED + " -> ack + "
          + ack.replayCount() + " events (" + ack.status() + ")";
    }
  }

  private static void require(boolean ok, String what) {
    if (!ok) {
      throw new IllegalStateException("benchmark check failed: " + what);
    }
  }
}
