package dev.runlane.transport;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The bytes of one already-encoded frame: text or binary.
 *
 * <p>A payload is encoded once and the same instance is handed to every recipient (rule T2.4), so
 * it is immutable: {@link Binary#data()} returns a fresh read-only view each call.
 *
 * <p><b>Thread safety:</b> immutable; safe to share between connections and threads.
 */
public sealed interface Payload permits Payload.Text, Payload.Binary {

  /** The payload's size in bytes (UTF-8 length for text), used for outbox byte budgets. */
  int sizeInBytes();

  /** Creates a text payload. */
  static Payload.Text text(String text) {
    return new Text(text);
  }

  /** Creates a binary payload holding a copy of {@code bytes}. */
  static Payload.Binary binary(byte[] bytes) {
    return new Binary(ByteBuffer.wrap(bytes.clone()));
  }

  /**
   * A text (UTF-8) payload, e.g. a JSON document for a WebSocket text frame.
   *
   * @param text the text; never null
   */
  record Text(String text) implements Payload {
    public Text {
      Objects.requireNonNull(text, "text");
    }

    @Override
    public int sizeInBytes() {
      // Cheap upper-bound-free estimate: exact for ASCII, which JSON frames almost always are.
      String s = text;
      int n = s.length();
      for (int i = 0; i < n; i++) {
        if (s.charAt(i) >= 0x80) {
          return s.getBytes(StandardCharsets.UTF_8).length;
        }
      }
      return n;
    }
  }

  /**
   * A binary payload.
   *
   * @param data the bytes; the record keeps a private read-only copy of the remaining bytes
   */
  record Binary(ByteBuffer data) implements Payload {
    public Binary {
      Objects.requireNonNull(data, "data");
      ByteBuffer copy = ByteBuffer.allocate(data.remaining());
      copy.put(data.duplicate());
      copy.flip();
      data = copy.asReadOnlyBuffer();
    }

    /** Returns a new read-only view of the bytes, positioned at zero; callers may consume it. */
    @Override
    public ByteBuffer data() {
      return data.duplicate();
    }

    /** Returns a copy of the bytes. */
    public byte[] toByteArray() {
      ByteBuffer view = data.duplicate();
      byte[] out = new byte[view.remaining()];
      view.get(out);
      return out;
    }

    @Override
    public int sizeInBytes() {
      return data.remaining();
    }
  }
}
