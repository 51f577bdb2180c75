package dev.runlane.tck;

import java.time.Duration;
import java.util.Objects;

/**
 * The kit's knobs: how long to wait for anything, the random seed, and how much to write to a
 * client that does not read. Printed with every failure so that it reproduces.
 *
 * <table>
 *   <caption>System properties</caption>
 *   <tr><th>property</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>{@code runlane.tck.timeoutMillis}</td><td>10000</td><td>the longest the kit waits for
 *       anything (a callback, a frame, a close); also the bound a non-blocking call must return
 *       within</td></tr>
 *   <tr><td>{@code runlane.tck.seed}</td><td>random per run</td><td>seed of the payload sizes and
 *       contents; each test derives its own from it and its name</td></tr>
 *   <tr><td>{@code runlane.tck.backlogBytes}</td><td>16777216 (16 MiB)</td><td>how much rule T2.1
 *       writes to a client that does not read: more than the socket buffers between server and
 *       client hold, so that a blocking send would block</td></tr>
 * </table>
 *
 * <p><b>Thread safety:</b> immutable.
 */
public final class TckSettings {

  /** The system property of {@link #timeout()}. */
  public static final String TIMEOUT_PROPERTY = "runlane.tck.timeoutMillis";

  /** The system property of {@link #seed()}. */
  public static final String SEED_PROPERTY = "runlane.tck.seed";

  /** The system property of {@link #backlogBytes()}. */
  public static final String BACKLOG_PROPERTY = "runlane.tck.backlogBytes";

  private static final long DEFAULT_SEED = new java.util.Random().nextLong();

  private final Duration timeout;
  private final long seed;
  private final long backlogBytes;

  private TckSettings(Duration timeout, long seed, long backlogBytes) {
    this.timeout = timeout;
    this.seed = seed;
    this.backlogBytes = backlogBytes;
  }

  /**
   * The settings from system properties, with the defaults above. Without {@code
   * runlane.tck.seed}, the seed is random but the same for every test of one JVM.
   */
  public static TckSettings fromSystemProperties() {
    long timeoutMillis = Long.getLong(TIMEOUT_PROPERTY, 10_000L);
    if (timeoutMillis < 1) {
      throw new IllegalArgumentException(TIMEOUT_PROPERTY + " must be >= 1: " + timeoutMillis);
    }
    long seed = Long.getLong(SEED_PROPERTY, DEFAULT_SEED);
    long backlog = Long.getLong(BACKLOG_PROPERTY, 16L << 20);
    if (backlog < 1) {
      throw new IllegalArgumentException(BACKLOG_PROPERTY + " must be >= 1: " + backlog);
    }
    return new TckSettings(Duration.ofMillis(timeoutMillis), seed, backlog);
  }

  /** The same settings with another timeout (e.g. shorter in a kit's own self-tests). */
  public TckSettings withTimeout(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive: " + timeout);
    }
    return new TckSettings(timeout, seed, backlogBytes);
  }

  /** The same settings with another seed. */
  public TckSettings withSeed(long seed) {
    return new TckSettings(timeout, seed, backlogBytes);
  }

  /** The same settings with another backlog size. */
  public TckSettings withBacklogBytes(long bytes) {
    if (bytes < 1) {
      throw new IllegalArgumentException("backlogBytes must be >= 1: " + bytes);
    }
    return new TckSettings(timeout, seed, bytes);
  }

  /** The longest the kit waits for anything. */
  public Duration timeout() {
    return timeout;
  }

  /** The base random seed. */
  public long seed() {
    return seed;
  }

  /** Bytes written to a client that does not read, for rule T2.1. */
  public long backlogBytes() {
    return backlogBytes;
  }

  /**
   * How long the kit watches for something that must not happen (a second callback, a second
   * close) after everything that must happen did: a quarter of the timeout, at most 250 ms.
   */
  public Duration quietPeriod() {
    return Duration.ofMillis(Math.max(1, Math.min(250, timeout.toMillis() / 4)));
  }

  /** The line appended to every failure: how to reproduce it. */
  public String reproduceWith() {
    return "[reproduce with -D"
        + SEED_PROPERTY
        + "="
        + seed
        + " -D"
        + TIMEOUT_PROPERTY
        + "="
        + timeout.toMillis()
        + " -D"
        + BACKLOG_PROPERTY
        + "="
        + backlogBytes
        + "]";
  }

  @Override
  public String toString() {
    return "TckSettings" + reproduceWith();
  }
}
