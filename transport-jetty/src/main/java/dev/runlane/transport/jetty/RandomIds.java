package dev.runlane.transport.jetty;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * Random connection ids, 128 bits each, drawn from a {@link SecureRandom} in blocks and handed out
 * without a lock.
 *
 * <p>Why: the JDK's default {@code SecureRandom} on Linux (NativePRNG) serializes every {@code
 * nextBytes} call on process-wide locks, with a {@code /dev/urandom} read and a SHA-1 mixing step
 * per call. In the wire harness's 10,000-client reconnect storm, a call per upgrade turned that
 * lock into a convoy: up to 190 of Jetty's 200 pool threads were blocked in it at once, and the
 * pool grew to its maximum. A short lock of our own around a buffer did not help: on 2 cores with
 * 200 runnable pool threads its holder was preempted often enough that 100–170 threads still queued
 * on it. So here one {@code nextBytes} call fills a block of ids, each id claims the next 16 bytes
 * of the current block with an atomic increment, the caller that claims the middle of a block
 * draws the next block ahead of time, and the caller that claims the first slot past its end
 * installs it; a caller that comes while it does draws its id directly instead of waiting. A block
 * is installed at most once, so no bytes are ever issued twice; every id is 16 bytes of the {@code
 * SecureRandom}'s output, cleared from the block once issued.
 *
 * <p><b>Thread safety:</b> thread-safe and wait-free, except for the {@code SecureRandom}'s own
 * locks once per block (and for an id drawn directly).
 */
final class RandomIds {
  static final int ID_BYTES = 16;
  static final int DEFAULT_BLOCK_IDS = 256;

  private static final Base64.Encoder BASE64URL = Base64.getUrlEncoder().withoutPadding();

  /** A block of ids; slot i is issued to whoever claims index i. */
  private static final class Block {
    final byte[] bytes;
    final int ids;
    final AtomicInteger claimed = new AtomicInteger();

    Block(byte[] bytes) {
      this.bytes = bytes;
      this.ids = bytes.length / ID_BYTES;
    }
  }

  private final SecureRandom random;
  private final int blockIds;
  private volatile Block current = new Block(new byte[0]); // exhausted: the first call installs one
  private final AtomicReference<@Nullable Block> prepared = new AtomicReference<>();

  RandomIds(SecureRandom random, int blockIds) {
    if (blockIds < 1) {
      throw new IllegalArgumentException("blockIds must be positive: " + blockIds);
    }
    this.random = Objects.requireNonNull(random, "random");
    this.blockIds = blockIds;
  }

  /** The next id: 16 fresh random bytes, base64url without padding (22 characters). */
  String next() {
    byte[] id = new byte[ID_BYTES];
    while (true) {
      Block b = current;
      int i = b.claimed.getAndIncrement();
      if (i < b.ids) {
        int at = i * ID_BYTES;
        System.arraycopy(b.bytes, at, id, 0, ID_BYTES);
        Arrays.fill(b.bytes, at, at + ID_BYTES, (byte) 0);
        if (i == b.ids / 2) { // halfway: draw the next block before anyone has to wait for it
          try {
            prepared.set(draw());
          } catch (RuntimeException e) {
            // the installer draws instead; this caller's id is valid and is returned
          }
        }
        return BASE64URL.encodeToString(id);
      }
      if (i == b.ids) { // the first past the end installs the successor, exactly once per block
        Block next = prepared.getAndSet(null);
        try {
          current = next != null ? next : draw();
        } catch (RuntimeException e) {
          current = new Block(new byte[0]); // used up at once: the next caller installs again
          throw e;
        }
        continue;
      }
      // The block is used up and its successor is still being installed: rather than wait for a
      // thread that may have been preempted, draw this id directly.
      random.nextBytes(id);
      return BASE64URL.encodeToString(id);
    }
  }

  private Block draw() {
    byte[] bytes = new byte[blockIds * ID_BYTES];
    random.nextBytes(bytes);
    return new Block(bytes);
  }
}
