package dev.runlane.benchmarks;

import dev.runlane.RunlaneBuilder;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.Result;
import dev.runlane.codec.WireCodec;
import org.jspecify.annotations.Nullable;

/**
 * Shared set-up: a Runlane on {@link FrozenTime} with the given codec, and runs started or failing
 * loudly.
 *
 * <p><b>Thread safety:</b> stateless helpers.
 */
public final class Fixtures {
  private Fixtures() {}

  /** Runlane's default replay capacity (events kept per run), see {@code RunlaneBuilder}. */
  public static final int DEFAULT_REPLAY_CAPACITY = 1024;

  /** A builder with the benchmark clock and {@code codec}; every other setting is the default. */
  public static RunlaneBuilder builder(WireCodec codec) {
    return Runlane.builder().codec(codec).timeSource(new FrozenTime());
  }

  /** Starts a run in {@code session} for {@code principal}, with {@code connectionId} as recipient. */
  public static RunHandle start(
      Runlane rl, String session, String principal, @Nullable String connectionId) {
    StartRequest req = StartRequest.of(session, principal);
    if (connectionId != null) {
      req = req.fromConnection(connectionId);
    }
    Result<RunHandle> r = rl.startRun(req);
    if (!r.isOk()) {
      throw new IllegalStateException("could not start a run in " + session + ": " + r);
    }
    return r.orElseThrow();
  }

  /** Registers {@code n} connections {@code prefix0..prefix(n-1)}, principal from {@code principalOf}. */
  public static BenchConnection[] connect(
      Runlane rl, String prefix, int n, java.util.function.IntFunction<String> principalOf) {
    BenchConnection[] out = new BenchConnection[n];
    for (int i = 0; i < n; i++) {
      out[i] = new BenchConnection(prefix + i, principalOf.apply(i));
      rl.connect(out[i]);
    }
    return out;
  }

  /** The median of {@code values} (which it sorts). */
  public static double median(double[] values) {
    java.util.Arrays.sort(values);
    int n = values.length;
    if (n == 0) {
      return Double.NaN;
    }
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  }
}
