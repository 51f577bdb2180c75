package dev.runlane.tck;

import dev.runlane.RunHandle;
import dev.runlane.RunRuntime;
import org.jspecify.annotations.Nullable;

/**
 * The runtime behind clients' {@code start} commands: input {@code N} publishes N deltas and
 * completes; {@code noend} returns without ending (the safety net must end the run); {@code throw}
 * throws.
 */
final class TckRuntime implements RunRuntime {
  @Override
  public void run(RunHandle run, @Nullable Object input) {
    String in = String.valueOf(input);
    if ("noend".equals(in)) {
      return;
    }
    if ("throw".equals(in)) {
      throw new IllegalStateException("runtime failure requested by the kit");
    }
    int n = 0;
    try {
      n = Integer.parseInt(in);
    } catch (NumberFormatException e) {
      // no deltas
    }
    for (int i = 1; i <= n; i++) {
      run.publish("delta", "d" + i);
    }
    run.complete("done");
  }
}
