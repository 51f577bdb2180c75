package dev.runlane.transport;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The bytes of one already-encoded frame: text or binary.
 *
 * <p>A payload is encoded once and the same instance is handed to every recipient (rule T2.4), so
 * it is immutable: {@link Binary#data()} and {@link Text#utf8()} return a fresh read-only view each
 * call, over bytes computed once per payload, never per recipient.
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

  /**
   * Creates a text payload from its UTF-8 encoding, holding a copy of {@code utf8}: what a codec
   * that writes bytes hands over, so that the text is never encoded again on its way to a socket.
   *
   * @throws IllegalArgumentException if {@code utf8} is not well-formed UTF-8
   */
  static Payload.Text utf8Text(byte[] utf8) {
    byte[] copy = utf8.clone();
    checkUtf8(copy);
    return new Text(copy);
  }

  /**
   * Creates a text payload from its UTF-8 encoding like {@link #utf8Text(byte[])}, but holding
   * {@code utf8} itself rather than a copy: for a codec that has just written a frame into an array
   * of its own and hands it over, so that the frame is not copied once more. The caller must never
   * modify {@code utf8} afterwards: the payload is shared by every recipient and written to sockets
   * as it is.
   *
   * @throws IllegalArgumentException if {@code utf8} is not well-formed UTF-8
   */
  static Payload.Text adoptUtf8Text(byte[] utf8) {
    checkUtf8(utf8);
    return new Text(utf8);
  }

  /**
   * Throws unless {@code b} is well-formed UTF-8 (Unicode's table 3-7: no overlong forms, no
   * surrogates, nothing above U+10FFFF), without allocating; a leading run of ASCII, as JSON
   * frames mostly are, is checked eight bytes at a time.
   */
  private static void checkUtf8(byte[] b) {
    int n = b.length;
    int i = Ascii.prefix(b);
    while (i < n) {
      int c = b[i];
      if (c >= 0) {
        i++;
        continue;
      }
      c &= 0xFF;
      int len;
      int lo = 0x80;
      int hi = 0xBF;
      if (c < 0xC2) {
        len = 0; // a continuation byte first, or an overlong two-byte form
      } else if (c < 0xE0) {
        len = 2;
      } else if (c < 0xF0) {
        len = 3;
        if (c == 0xE0) {
          lo = 0xA0; // overlong
        } else if (c == 0xED) {
          hi = 0x9F; // a surrogate
        }
      } else if (c < 0xF5) {
        len = 4;
        if (c == 0xF0) {
          lo = 0x90; // overlong
        } else if (c == 0xF4) {
          hi = 0x8F; // above U+10FFFF
        }
      } else {
        len = 0;
      }
      if (len == 0 || i + len > n) {
        throw notUtf8(i);
      }
      int c1 = b[i + 1] & 0xFF;
      if (c1 < lo || c1 > hi) {
        throw notUtf8(i);
      }
      for (int k = 2; k < len; k++) {
        if ((b[i + k] & 0xC0) != 0x80) {
          throw notUtf8(i);
        }
      }
      i += len;
    }
  }

  private static IllegalArgumentException notUtf8(int at) {
    return new IllegalArgumentException("not well-formed UTF-8: a malformed sequence at byte " + at);
  }

  /**
   * One text payload holding {@code parts}' UTF-8 bytes in order, separated by {@code separator}:
   * several encoded messages joined into one frame (see {@link Capability#JOINED_MESSAGES}). The
   * parts are already well-formed UTF-8 and the separator is ASCII, so nothing is checked or
   * encoded again; the bytes are copied once.
   *
   * @param parts at least one text payload
   * @param separator an ASCII character (below 0x80)
   * @throws IllegalArgumentException if {@code parts} is empty or {@code separator} is not ASCII
   */
  static Payload.Text joinText(java.util.List<Payload.Text> parts, char separator) {
    if (parts.isEmpty()) {
      throw new IllegalArgumentException("nothing to join");
    }
    if (separator >= 0x80) {
      throw new IllegalArgumentException("the separator must be ASCII: " + (int) separator);
    }
    int n = parts.size();
    byte[][] bytes = new byte[n][];
    long total = n - 1L;
    for (int i = 0; i < n; i++) {
      bytes[i] = parts.get(i).bytes();
      total += bytes[i].length;
    }
    if (total > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("joined payload too large: " + total + " bytes");
    }
    byte[] out = new byte[(int) total];
    int at = 0;
    for (int i = 0; i < n; i++) {
      if (i > 0) {
        out[at++] = (byte) separator;
      }
      System.arraycopy(bytes[i], 0, out, at, bytes[i].length);
      at += bytes[i].length;
    }
    return new Text(out);
  }

  /** Creates a binary payload holding a copy of {@code bytes}. */
  static Payload.Binary binary(byte[] bytes) {
    return new Binary(ByteBuffer.wrap(bytes.clone()));
  }

  /**
   * A text payload, e.g. a JSON document for a WebSocket text frame. It carries its UTF-8 bytes,
   * computed at most once however many recipients it has: a transport writes {@link #utf8()} and
   * never encodes the text itself (rule T5.2).
   *
   * <p>Create one from a string ({@link Payload#text(String)}; the bytes are encoded on first use)
   * or, better for a codec that writes bytes anyway, from UTF-8 bytes ({@link
   * Payload#utf8Text(byte[])}, or {@link Payload#adoptUtf8Text(byte[])} to hand over an array of
   * its own without a copy; the string is decoded only if someone asks for it).
   *
   * <p><b>Thread safety:</b> immutable in value; the lazily computed form is published safely, and
   * computed once even when several threads ask for it at the same time.
   */
  final class Text implements Payload {
    private volatile @Nullable String text;
    private volatile byte @Nullable [] utf8;

    /**
     * A text payload holding {@code text}; its UTF-8 bytes are encoded once, on first use.
     *
     * @param text the text; never null
     */
    public Text(String text) {
      this.text = Objects.requireNonNull(text, "text");
    }

    private Text(byte[] utf8) {
      this.utf8 = utf8;
    }

    /** The text; decoded once from the UTF-8 bytes if the payload was created from bytes. */
    public String text() {
      String t = text;
      if (t != null) {
        return t;
      }
      synchronized (this) {
        t = text;
        if (t == null) {
          t = new String(Objects.requireNonNull(utf8), StandardCharsets.UTF_8);
          text = t;
        }
        return t;
      }
    }

    /**
     * A new read-only view of the UTF-8 bytes, positioned at zero; callers may consume it. The
     * bytes are encoded once per payload, never per call.
     */
    public ByteBuffer utf8() {
      return ByteBuffer.wrap(bytes()).asReadOnlyBuffer();
    }

    /**
     * The UTF-8 bytes themselves, never to be modified: for this package's {@link
     * Payload#joinText} and the index checks of {@link #indexOf(byte)}.
     */
    byte[] bytes() {
      byte[] b = utf8;
      if (b != null) {
        return b;
      }
      synchronized (this) {
        b = utf8;
        if (b == null) {
          b = Objects.requireNonNull(text).getBytes(StandardCharsets.UTF_8);
          utf8 = b;
        }
        return b;
      }
    }

    /**
     * The index of the first occurrence of the ASCII byte {@code b} in the UTF-8 bytes, or -1: how a
     * codec checks that a message holds no separator before joining it, without a copy.
     */
    public int indexOf(byte b) {
      byte[] a = bytes();
      for (int i = 0; i < a.length; i++) {
        if (a[i] == b) {
          return i;
        }
      }
      return -1;
    }

    @Override
    public int sizeInBytes() {
      byte[] b = utf8;
      if (b != null) {
        return b.length;
      }
      String s = Objects.requireNonNull(text);
      int n = s.length();
      for (int i = 0; i < n; i++) {
        if (s.charAt(i) >= 0x80) {
          return bytes().length; // encoded once and kept: a transport needs these bytes anyway
        }
      }
      return n; // ASCII, as JSON frames almost always are: one byte per char
    }

    /** Equal if the texts are equal. */
    @Override
    public boolean equals(@Nullable Object o) {
      return o == this || (o instanceof Text && ((Text) o).text().equals(text()));
    }

    @Override
    public int hashCode() {
      return text().hashCode();
    }

    @Override
    public String toString() {
      return "Text[text=" + text() + "]";
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
