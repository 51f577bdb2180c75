package dev.runlane;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.transport.Connection;
import org.jspecify.annotations.Nullable;

/**
 * How a drain pass sends a polled backlog as joined frames ({@code Capability.JOINED_MESSAGES},
 * the JSON codec's protocol 3): consecutive text frames joined by the codec into frames of at most
 * {@link #MAX_JOINED_BYTES}, anything else alone, in order.
 *
 * <p><b>Thread safety:</b> stateless; called by the pipe's drain loop, one thread at a time per
 * pipe (rule T2.5), under no lock.
 */
final class JoinedSends {
  private JoinedSends() {}

  /** The most frames one drain pass polls at once to join into fewer transport frames. */
  static final int MAX_JOINED_FRAMES = 128;

  /**
   * The most UTF-8 bytes of one joined frame; a longer message travels alone. Small on purpose: a
   * socket stack that batches small frames copies a frame this size straight into its write buffer
   * (Jetty: a frame under a quarter of its 4 KiB output buffer), where a larger one is written from
   * the heap through one more copy; measured, 16 KiB joined frames cost the fan-out more CPU than
   * no joining, 1,000 bytes less (docs/benchmarks.md, "Joined messages").
   */
  static final int MAX_JOINED_BYTES = 1000;

  /**
   * The most bytes (counted at their protocol-1 size, an upper bound) one drain pass polls to send
   * as joined frames: several joined frames of {@link #MAX_JOINED_BYTES} each.
   */
  static final int MAX_POLLED_BYTES = 16 * MAX_JOINED_BYTES;

  /**
   * Sends {@code n} polled frames: consecutive text frames joined into frames of at most {@link
   * #MAX_JOINED_BYTES} where the codec can join them, anything else alone, in order. Every frame
   * completes exactly once, also when a wire form or a send throws.
   */
  static void send(SendCompletion.Target pipe, OutboxOwner owner, Connection transport,
      EncodedFrame[] batch, boolean @Nullable [] timed, int n) {
    dev.runlane.transport.Frame[] wires = new dev.runlane.transport.Frame[n];
    int i = 0;
    try {
      for (int k = 0; k < n; k++) {
        wires[k] = owner.wire(batch[k]);
      }
      while (i < n) {
        int j = i;
        long size = 0;
        while (j < n) {
          dev.runlane.transport.Payload p = wires[j].payload();
          long add = p.sizeInBytes() + (j > i ? 1 : 0);
          if (!(p instanceof dev.runlane.transport.Payload.Text) || (j > i && size + add > MAX_JOINED_BYTES)) {
            break;
          }
          size += add;
          j++;
        }
        if (j - i >= 2) {
          java.util.List<dev.runlane.transport.Payload> parts = new java.util.ArrayList<>(j - i);
          for (int k = i; k < j; k++) {
            parts.add(wires[k].payload());
          }
          dev.runlane.transport.Payload joined = owner.join(parts);
          if (joined != null) {
            SendCompletion.Joined done = new SendCompletion.Joined(pipe, j - i, stamped(batch, timed, i, j));
            dev.runlane.transport.Lane lane = wires[i].lane();
            i = j; // handed over: the completion now accounts for these frames, whatever happens
            try {
              transport.send(new dev.runlane.transport.Frame(lane, joined), done);
            } catch (RuntimeException | Error e) {
              done.failed(e);
            }
            continue;
          }
        }
        // alone: a binary or an over-long frame, or parts the codec would not join
        int end = Math.max(j, i + 1);
        for (; i < end; ) {
          int k = i++;
          SendCompletion done = timed != null && timed[k] ? new SendCompletion.Timed(pipe, batch[k]) : new SendCompletion(pipe);
          try {
            transport.send(wires[k], done);
          } catch (RuntimeException | Error e) {
            done.failed(e);
          }
        }
      }
    } catch (RuntimeException | Error e) {
      // a wire form or a join threw: what was not handed over fails, which closes the connection
      if (i < n) {
        new SendCompletion.Joined(pipe, n - i, null).failed(e);
      }
    }
  }

private static EncodedFrame @Nullable [] stamped(EncodedFrame[] batch, boolean @Nullable [] timed, int from, int to) {
    if (timed == null) {
      return null;
    }
    int c = 0;
    for (int k = from; k < to; k++) {
      if (timed[k]) {
        c++;
      }
    }
    if (c == 0) {
      return null;
    }
    EncodedFrame[] out = new EncodedFrame[c];
    c = 0;
    for (int k = from; k < to; k++) {
      if (timed[k]) {
        out[c++] = batch[k];
      }
    }
    return out;
  }
}
