package dev.runlane.benchmarks;

import dev.runlane.codec.Inbound;
import dev.runlane.codec.Outbound;
import dev.runlane.codec.ProtocolException;
import dev.runlane.codec.WireCodec;
import dev.runlane.transport.Payload;
import java.util.concurrent.atomic.LongAdder;

/**
 * A trivial {@link WireCodec}: every outbound message encodes to a fresh {@link Payload.Text}
 * wrapping one constant 64-character string, and the only inbound command is {@code ping}. The
 * encode costs one small allocation, so figures show Runlane's own cost, not a serializer's.
 *
 * <p>{@link #counting()} returns a codec that also counts its encodes, to verify that an event is
 * encoded once however many recipients it has.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public class BenchCodec implements WireCodec {
  /** The text every outbound payload carries: 64 ASCII characters, the size of a small delta. */
  public static final String TEXT =
      "{\"t\":\"event\",\"kind\":\"delta\",\"data\":\"0123456789abcdef0123456789\"}";

  /** A codec that counts encodes. */
  public static Counting counting() {
    return new Counting();
  }

  @Override
  public Payload encode(Outbound message) {
    return new Payload.Text(TEXT);
  }

  @Override
  public Inbound decode(Payload frame) throws ProtocolException {
    return new Inbound.Ping(null);
  }

  /** {@link BenchCodec} with an encode counter. */
  public static final class Counting extends BenchCodec {
    private final LongAdder encodes = new LongAdder();

    @Override
    public Payload encode(Outbound message) {
      encodes.increment();
      return super.encode(message);
    }

    /** Encodes so far. */
    public long encodes() {
      return encodes.sum();
    }
  }
}
