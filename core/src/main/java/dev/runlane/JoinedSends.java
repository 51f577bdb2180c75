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
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(JoinedSends.class);

  private JoinedSends() {}

  /** The pipe a batch goes out on. */
  interface Pipe extends SendCompletion.Target {
    /** Whether to send no more: a send of this pipe failed, or its outbox closed. */
    boolean stopped();

    /** {@code frames} polled frames will not be sent: they are no longer in flight. */
    void dropped(int frames);
  }

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
   * as joined frames: several joined frames of {@link #MAX_JOINED_BYTES} each. A pass that finds
   * room for one more send under {@code maxInFlight} polls up to this (and {@link
   * #MAX_JOINED_FRAMES}), whatever the window's frame count: counted per frame, a full window would
   * otherwise free one slot per completion and send one frame per pass, never joining again.
   */
  static final int MAX_POLLED_BYTES = 16 * MAX_JOINED_BYTES;

  /**
   * Sends {@code n} polled frames: consecutive text frames of one lane joined into frames of at
   * most {@link #MAX_JOINED_BYTES} where the codec can join them, anything else alone, in order.
   * Every frame completes exactly once, also when a wire form or a send throws; once the outbox is
   * closed (a send failed, the connection went away), the frames not yet handed over are dropped,
   * not sent.
   */
  static void send(Pipe pipe, OutboxOwner owner, Connection transport,
      EncodedFrame[] batch, boolean @Nullable [] timed, int n) {
    dev.runlane.transport.Frame[] wires = new dev.runlane.transport.Frame[n];
    int i = 0;
    try {
      for (int k = 0; k < n; k++) {
        wires[k] = owner.wire(batch[k]);
      }
      while (i < n) {
        if (i > 0 && pipe.stopped()) {
          pipe.dropped(n - i); // an earlier send failed or the connection closed: send no more
          return;
        }
        int j = i;
        long size = 0;
        while (j < n) {
          dev.runlane.transport.Payload p = wires[j].payload();
          long add = p.sizeInBytes() + (j > i ? 1 : 0);
          if (!(p instanceof dev.runlane.transport.Payload.Text)
              || (j > i && (size + add > MAX_JOINED_BYTES || wires[j].lane() != wires[i].lane()))) {
            break; // a joined frame is text, within the cap, and of one lane (its label stays true)
          }
          size += add;
          j++;
        }
        if (j - i >= 2) {
          dev.runlane.transport.Payload joined = join(owner, wires, i, j);
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
        while (i < end) {
          SendCompletion done = timed != null && timed[i] ? new SendCompletion.Timed(pipe, batch[i]) : new SendCompletion(pipe);
          int k = i++;
          try {
            transport.send(wires[k], done);
          } catch (RuntimeException | Error e) {
            done.failed(e);
          }
        }
      }
    } catch (RuntimeException | Error e) {
      // a wire form threw: what was not handed over fails, which closes the connection
      if (i < n) {
        new SendCompletion.Joined(pipe, n - i, null).failed(e);
      }
    }
  }

  /** The codec's join of {@code wires[from, to)}, or null; a codec that throws sends them alone. */
  private static dev.runlane.transport.@Nullable Payload join(
      OutboxOwner owner, dev.runlane.transport.Frame[] wires, int from, int to) {
    java.util.List<dev.runlane.transport.Payload> parts = new java.util.ArrayList<>(to - from);
    for (int k = from; k < to; k++) {
      parts.add(wires[k].payload());
    }
    try {
      return owner.join(parts);
    } catch (RuntimeException e) {
      LOG.warn("codec failed to join {} messages; sent one by one", parts.size(), e);
      return null;
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
