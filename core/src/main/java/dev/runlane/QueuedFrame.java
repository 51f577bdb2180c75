package dev.runlane;

import dev.runlane.engine.EncodedFrame;

/**
 * What an {@link Outbox}'s lane queues hold besides a plain {@link EncodedFrame}.
 *
 * <p><b>Thread safety:</b> guarded by the outbox that holds them.
 */
final class QueuedFrame {
  private QueuedFrame() {}

  /** A queued coalescable frame, replaceable in place while queued. */
  static final class Coalesced {
    EncodedFrame frame;

    Coalesced(EncodedFrame frame) {
      this.frame = frame;
    }
  }

  /**
   * A frame replayed from a run's ring on subscribe. The ring already holds it, so it does not
   * count against the live bounds: otherwise a client closed as slow, by construction more than the
   * bound behind, would overflow again on every resume and never catch up.
   */
  static final class Replayed {
    final EncodedFrame frame;

    Replayed(EncodedFrame frame) {
      this.frame = frame;
    }
  }
}
