package dev.runlane.benchmarks;

import dev.runlane.RunlaneBuilder;
import dev.runlane.codec.Inbound;
import dev.runlane.codec.Outbound;
import dev.runlane.codec.ProtocolException;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.codec.WireCodec;
import dev.runlane.transport.Payload;
import java.lang.management.ManagementFactory;
import java.lang.ref.Reference;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Figure 6: retained heap, measured as the difference of used heap after full collections, over
 * many instances: per idle connection (registered, welcomed, receiving nothing), per running run
 * whose ring holds only its {@code run.started} event, and per retained event excluding its
 * payload (the codec returns one shared payload, so only Runlane's own per-event objects and ring
 * slots are counted). The host's {@code Connection} objects and the id strings exist before the
 * first snapshot, so they are not counted.
 *
 * <p><b>Thread safety:</b> run from one thread, with nothing else allocating in the JVM.
 */
public final class MemoryHarness {
  private MemoryHarness() {}

  /** A codec that returns one shared payload: per-event figures exclude the payload. */
  static final class SharedPayloadCodec implements WireCodec {
    private final Payload shared = Payload.text(BenchCodec.TEXT);

    @Override
    public Payload encode(Outbound message) {
      return shared;
    }

    @Override
    public Inbound decode(Payload frame) throws ProtocolException {
      return new Inbound.Ping(null);
    }
  }

  /** Bytes retained per instance, by name; {@code scale} multiplies the instance counts. */
  public static Map<String, Double> run(int scale) {
    Map<String, Double> out = new LinkedHashMap<>();
    out.put("idleConnection", perIdleConnection(20_000 * scale));
    out.put("runningRun", perRunningRun(10_000 * scale, 0));
    out.put("runningRunCapacity16", perRunningRun(10_000 * scale, 16));
    out.put("retainedEvent", perRetainedEvent(200_000 * scale));
    return out;
  }

  static double perIdleConnection(int n) {
    Runlane rl = Fixtures.builder(new SharedPayloadCodec()).build();
    BenchConnection[] cs = new BenchConnection[n];
    for (int i = 0; i < n; i++) {
      cs[i] = new BenchConnection("c" + i, "u" + i);
    }
    try {
      long before = usedAfterGc();
      for (BenchConnection c : cs) {
        rl.connect(c);
      }
      long after = usedAfterGc();
      check(rl.connectionCount() == n, "connections " + rl.connectionCount());
      return (after - before) / (double) n;
    } finally {
      Reference.reachabilityFence(cs);
      rl.close();
    }
  }

  /** Per running run; {@code capacity} 0 means the default replay capacity. */
  static double perRunningRun(int n, int capacity) {
    RunlaneBuilder b = Fixtures.builder(new SharedPayloadCodec());
    if (capacity > 0) {
      b.replayCapacity(capacity);
    }
    Runlane rl = b.build();
    String[] sessions = new String[n];
    for (int i = 0; i < n; i++) {
      sessions[i] = "s" + i;
    }
    RunHandle[] runs = new RunHandle[n];
    try {
      long before = usedAfterGc();
      for (int i = 0; i < n; i++) {
        runs[i] = Fixtures.start(rl, sessions[i], "u", null);
      }
      long after = usedAfterGc();
      check(rl.runCount() == n, "runs " + rl.runCount());
      return (after - before) / (double) n;
    } finally {
      Reference.reachabilityFence(runs);
      Reference.reachabilityFence(sessions);
      rl.close();
    }
  }

  static double perRetainedEvent(int n) {
    Runlane rl = Fixtures.builder(new SharedPayloadCodec()).replayCapacity(n).build();
    RunHandle[] holder = new RunHandle[1];
    try {
      long before = usedAfterGc();
      // the ring's slots are allocated when the run starts: counted here, spread over its n events
      RunHandle run = Fixtures.start(rl, "s", "u", null);
      holder[0] = run;
      for (int i = 1; i < n; i++) {
        run.publish("delta", null);
      }
      long after = usedAfterGc();
      check(run.headSeq() == n, "head " + run.headSeq());
      return (after - before) / (double) n;
    } finally {
      Reference.reachabilityFence(holder);
      rl.close();
    }
  }

  static long usedAfterGc() {
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 5; i++) {
      System.gc();
      long u = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
      used = Math.min(used, u);
    }
    return used;
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new IllegalStateException("memory harness: " + what);
    }
  }
}
