package dev.runlane.cluster.redis;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.Payload;
import java.nio.ByteBuffer;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * How one sequenced frame is stored as a stream entry: {@code p} the payload bytes (the codec's,
 * shared by every node), {@code m} the frame's metadata (lane and payload kind), {@code c} the
 * coalescing key if any. The entry id is the frame's seq.
 *
 * <p><b>Thread safety:</b> stateless.
 */
final class FrameFields {
  static final String PAYLOAD = "p";
  static final String META = "m";
  static final String COALESCE = "c";
  /** Present (value {@code 1}) on the run's terminal entry only: a tail ends after it. */
  static final String TERMINAL = "t";
  private static final byte[] ONE = {'1'};

  private FrameFields() {}

  /** The entry's fields, alternating name and value, for {@code XADD}. */
  static Object[] encode(EncodedFrame f, boolean terminal) {
    Payload p = f.frame().payload();
    byte[] bytes;
    char kind;
    if (p instanceof Payload.Text t) {
      ByteBuffer b = t.utf8();
      bytes = new byte[b.remaining()];
      b.get(bytes);
      kind = 't';
    } else {
      bytes = ((Payload.Binary) p).toByteArray();
      kind = 'b';
    }
    byte[] meta = {(byte) (f.lane() == Lane.CONTROL ? 'c' : 's'), (byte) kind};
    String ck = f.coalesceKey();
    java.util.ArrayList<Object> out = new java.util.ArrayList<>(8);
    out.add(PAYLOAD);
    out.add(bytes);
    out.add(META);
    out.add(meta);
    if (ck != null) {
      out.add(COALESCE);
      out.add(RedisLink.bytes(ck));
    }
    if (terminal) {
      out.add(TERMINAL);
      out.add(ONE);
    }
    return out.toArray();
  }

  /** The frame of a stream entry's fields. */
  static EncodedFrame decode(Map<String, byte[]> body) {
    byte[] bytes = body.get(PAYLOAD);
    byte[] meta = body.get(META);
    if (bytes == null || meta == null || meta.length < 2) {
      throw new IllegalStateException("not a Runlane frame entry: fields " + body.keySet());
    }
    Lane lane = meta[0] == 'c' ? Lane.CONTROL : Lane.STREAM;
    Payload payload = meta[1] == 'b' ? Payload.binary(bytes) : Payload.utf8Text(bytes);
    byte @Nullable [] ck = body.get(COALESCE);
    return new EncodedFrame(new Frame(lane, payload), ck == null ? null : RedisLink.string(ck));
  }

  /** True for the run's terminal entry. */
  static boolean terminal(Map<String, byte[]> body) {
    return body.containsKey(TERMINAL);
  }

  /** The seq of an entry id {@code <seq>-0}. */
  static long seq(String entryId) {
    int dash = entryId.indexOf('-');
    return Long.parseLong(dash < 0 ? entryId : entryId.substring(0, dash));
  }

  static String id(long seq) {
    return seq + "-0";
  }
}
