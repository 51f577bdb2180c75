package dev.runlane;

/**
 * A connection's command budget: a token bucket of {@code burst} commands refilled at {@code
 * perSecond}. A command over budget is answered {@code RATE_LIMITED} and not executed; a
 * connection that sends {@code burst} more commands while out of budget is flooding and is closed
 * with {@link dev.runlane.transport.CloseReason#RATE_LIMITED}. Pings are liveness, not commands:
 * they are never charged.
 *
 * <p><b>Thread safety:</b> not thread-safe; used from the connection's inbound thread only (rule
 * T7.1 serializes it).
 */
final class CommandBudget {
  /** The answer for one command. */
  enum Verdict {
    EXECUTE,
    REFUSE,
    CLOSE
  }

  private final double burst;
  private final double perNano;
  private double tokens;
  private long lastNanos;
  private int refusedInARow;

  /** {@code perSecond <= 0} turns the budget off. */
  CommandBudget(int burst, double perSecond, long nowNanos) {
    this.burst = Math.max(1, burst);
    this.perNano = perSecond / 1e9;
    this.tokens = this.burst;
    this.lastNanos = nowNanos;
  }

  Verdict charge(long nowNanos) {
    if (perNano <= 0) {
      return Verdict.EXECUTE;
    }
    long elapsed = Math.max(0, nowNanos - lastNanos);
    lastNanos = nowNanos;
    tokens = Math.min(burst, tokens + elapsed * perNano);
    if (tokens >= 1) {
      tokens -= 1;
      refusedInARow = 0;
      return Verdict.EXECUTE;
    }
    refusedInARow++;
    return refusedInARow > burst ? Verdict.CLOSE : Verdict.REFUSE;
  }
}
