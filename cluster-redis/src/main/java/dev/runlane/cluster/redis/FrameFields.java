package dev.runlane.cluster.redis;

import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.FrameMeta;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.Payload;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * How one frame of a run is stored as a stream entry: {@code p} the payload bytes (the codec's,
 * shared by every node), {@code m} lane and payload kind, {@code x} the frame's {@link FrameMeta}
 * (type, seq, outcome, approval), {@code c} the coalescing key if any. A sequenced frame's entry id
 * is {@code <seq>-0}; an unsequenced one (approval, status) written after frame {@code h} is {@code
 * <h>-<n>}, n >= 1, so {@code XRANGE <from>-0 <to>-0} plus a filter on {@code -0} is the replay,
 * and {@code XREAD} from {@code <afterSeq>-0} hands both kinds in write order.
 *
 * <p><b>Thread safety:</b> stateless.
 */
final class FrameFields {
  private FrameFields() {}

  static byte[] payload(EncodedFrame f) {
    Payload p = f.frame().payload();
    if (p instanceof Payload.Text t) {
      ByteBuffer b = t.utf8();
      byte[] bytes = new byte[b.remaining()];
      b.get(bytes);
      return bytes;
    }
    return ((Payload.Binary) p).toByteArray();
  }

  static byte[] kind(EncodedFrame f) {
    return new byte[] {
      (byte) (f.lane() == Lane.CONTROL ? 'c' : 's'),
      (byte) (f.frame().payload() instanceof Payload.Text ? 't' : 'b')
    };
  }

  static byte[] meta(EncodedFrame f) {
    FrameMeta m = f.meta();
    return m == null ? new byte[0] : CommandCodec.meta(m);
  }

  static byte[] coalesce(EncodedFrame f) {
    String ck = f.coalesceKey();
    return ck == null ? new byte[0] : RedisLink.bytes(ck);
  }

  /** The frame of a stream entry's fields. */
  static EncodedFrame decode(Map<String, byte[]> body) {
    return frame(body.get("p"), body.get("m"), body.get("x"), body.get("c"));
  }

  private static EncodedFrame frame(
      byte @Nullable [] bytes, byte @Nullable [] kind, byte @Nullable [] meta, byte @Nullable [] ck) {
    if (bytes == null || kind == null || kind.length < 2) {
      throw new IllegalStateException("not a Runlane frame entry");
    }
    Lane lane = kind[0] == 'c' ? Lane.CONTROL : Lane.STREAM;
    Payload payload = kind[1] == 'b' ? Payload.binary(bytes) : Payload.utf8Text(bytes);
    return new EncodedFrame(
        new Frame(lane, payload),
        ck == null || ck.length == 0 ? null : RedisLink.string(ck),
        meta == null || meta.length == 0 ? null : CommandCodec.meta(meta));
  }

  /** The whole frame as one value (a pending approval in its hash). */
  static byte[] blob(EncodedFrame f) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(b)) {
      for (byte[] part : new byte[][] {payload(f), kind(f), meta(f), coalesce(f)}) {
        out.writeInt(part.length);
        out.write(part);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return b.toByteArray();
  }

  static EncodedFrame fromBlob(byte[] blob, int offset) {
    try {
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(blob, offset, blob.length - offset));
      byte[][] parts = new byte[4][];
      for (int i = 0; i < 4; i++) {
        parts[i] = new byte[in.readInt()];
        in.readFully(parts[i]);
      }
      return frame(parts[0], parts[1], parts[2], parts[3]);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The seq part of an entry id {@code <seq>-<n>}. */
  static long seq(String entryId) {
    int dash = entryId.indexOf('-');
    return Long.parseLong(dash < 0 ? entryId : entryId.substring(0, dash));
  }

  /** The sub part of an entry id: 0 for a sequenced frame, n >= 1 for a signal. */
  static long sub(String entryId) {
    int dash = entryId.indexOf('-');
    return dash < 0 ? 0 : Long.parseLong(entryId.substring(dash + 1));
  }

  static String id(long seq) {
    return seq + "-0";
  }
}
