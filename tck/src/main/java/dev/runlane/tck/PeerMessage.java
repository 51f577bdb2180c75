package dev.runlane.tck;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One whole message a {@link ClientPeer} received: text or binary.
 *
 * <p><b>Thread safety:</b> immutable.
 */
public final class PeerMessage {

  /** Whether the message arrived as a text or a binary message. */
  public enum Kind {
    TEXT,
    BINARY
  }

  private final @Nullable String text;
  private final byte @Nullable [] binary;

  private PeerMessage(@Nullable String text, byte @Nullable [] binary) {
    this.text = text;
    this.binary = binary;
  }

  /** A text message. */
  public static PeerMessage text(String text) {
    return new PeerMessage(Objects.requireNonNull(text, "text"), null);
  }

  /** A binary message holding a copy of {@code bytes}. */
  public static PeerMessage binary(byte[] bytes) {
    return new PeerMessage(null, bytes.clone());
  }

  /** Text or binary. */
  public Kind kind() {
    return text != null ? Kind.TEXT : Kind.BINARY;
  }

  /** Whether it arrived as a text message. */
  public boolean isText() {
    return text != null;
  }

  /** The text (for a binary message: its bytes decoded as UTF-8). */
  public String text() {
    String t = text;
    return t != null ? t : new String(Objects.requireNonNull(binary), StandardCharsets.UTF_8);
  }

  /** A copy of the bytes (UTF-8 for text). */
  public byte[] bytes() {
    byte[] b = binary;
    return b != null ? b.clone() : text().getBytes(StandardCharsets.UTF_8);
  }

  /** Whether this is a text message with exactly this text. */
  public boolean isText(String expected) {
    return expected.equals(text);
  }

  /** Whether this is a binary message with exactly these bytes. */
  public boolean isBinary(byte[] expected) {
    return binary != null && Arrays.equals(binary, expected);
  }

  @Override
  public String toString() {
    String t = text;
    if (t != null) {
      String shown = t.length() > 60 ? t.substring(0, 60) + "…(" + t.length() + " chars)" : t;
      return "TEXT[" + shown.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + "]";
    }
    return "BINARY[" + Objects.requireNonNull(binary).length + " bytes]";
  }
}
