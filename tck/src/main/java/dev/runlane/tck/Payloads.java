package dev.runlane.tck;

import java.util.Random;

/** Seeded payload contents: text with every width of UTF-8, and bytes of every value. */
final class Payloads {

  private static final String[] PIECES = {
    "a", "Z", "0", " ", "\t", "\n", "{\"k\":1}", "é", "ß", "Ω", "ж", "中", "語", "€", "😀", "🚀", "𝄞"
  };

  private Payloads() {}

  /** Text of about {@code chars} UTF-16 units mixing 1-, 2-, 3- and 4-byte UTF-8 characters. */
  static String text(Random random, int chars) {
    StringBuilder sb = new StringBuilder(chars + 2);
    while (sb.length() < chars) {
      sb.append(PIECES[random.nextInt(PIECES.length)]);
    }
    return sb.toString();
  }

  /** ASCII text of exactly {@code chars} characters, cheap for big frames. */
  static String ascii(Random random, int chars) {
    char[] c = new char[chars];
    for (int i = 0; i < chars; i++) {
      c[i] = (char) ('a' + random.nextInt(26));
    }
    return new String(c);
  }

  /** Random bytes; the first 256 (if that many) are every byte value once. */
  static byte[] bytes(Random random, int size) {
    byte[] b = new byte[size];
    random.nextBytes(b);
    for (int i = 0; i < Math.min(size, 256); i++) {
      b[i] = (byte) i;
    }
    return b;
  }
}
