package dev.runlane.transport;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Payload#utf8Text} and {@link Payload#adoptUtf8Text} accept exactly the byte sequences the
 * JDK's strict UTF-8 decoder accepts (their own allocation-free check against the decoder they used
 * before), and only {@code adoptUtf8Text} keeps the caller's array. Prints its seed; rerun one with
 * {@code -Drunlane.seed=N}.
 */
class PayloadUtf8Test {
  static final long SEED = Long.getLong("runlane.seed", System.nanoTime());

  static boolean jdkAccepts(byte[] b) {
    try {
      StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(b));
      return true;
    } catch (CharacterCodingException e) {
      return false;
    }
  }

  static boolean accepted(byte[] b, boolean adopt) {
    try {
      Payload.Text t = adopt ? Payload.adoptUtf8Text(b.clone()) : Payload.utf8Text(b);
      assertEquals(new String(b, StandardCharsets.UTF_8), t.text());
      assertEquals(b.length, t.sizeInBytes());
      return true;
    } catch (IllegalArgumentException e) {
      assertTrue(e.getMessage().startsWith("not well-formed UTF-8"), e.getMessage());
      return false;
    }
  }

  static void agree(byte[] b, String where) {
    boolean want = jdkAccepts(b);
    assertEquals(want, accepted(b, false), where + " utf8Text " + Arrays.toString(b));
    assertEquals(want, accepted(b, true), where + " adoptUtf8Text " + Arrays.toString(b));
  }

  @Test
  void everyShortSequenceIsJudgedAsTheJdkJudgesIt() {
    // every 1- and 2-byte array; 3- and 4-byte ones around every boundary of table 3-7
    for (int a = 0; a < 256; a++) {
      agree(new byte[] {(byte) a}, "1");
      for (int b = 0; b < 256; b++) {
        agree(new byte[] {(byte) a, (byte) b}, "2");
      }
    }
    // the boundaries of every lead byte's allowed second byte, then plain continuation bytes or not
    int[] seconds = {0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0};
    int[] conts = {0x7F, 0x80, 0xBF, 0xC0};
    for (int a = 0xC0; a < 256; a++) {
      for (int b : seconds) {
        for (int c : conts) {
          agree(new byte[] {(byte) a, (byte) b, (byte) c}, "3");
          for (int d : conts) {
            agree(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d, 'x'}, "4");
          }
        }
      }
    }
  }

  @Test
  void randomTextAndItsCorruptionsAreJudgedAsTheJdkJudgesThem() {
    System.out.println("PayloadUtf8Test seed " + SEED);
    Random rnd = new Random(SEED);
    for (int i = 0; i < 5_000; i++) {
      StringBuilder s = new StringBuilder();
      for (int k = rnd.nextInt(30); k > 0; k--) {
        int r = rnd.nextInt(4);
        s.appendCodePoint(
            r == 0 ? rnd.nextInt(0x80)
                : r == 1 ? 0x80 + rnd.nextInt(0x780)
                : r == 2 ? 0xE000 + rnd.nextInt(0x2000)
                : 0x10000 + rnd.nextInt(0x100000));
      }
      byte[] b = s.toString().getBytes(StandardCharsets.UTF_8);
      agree(b, "seed " + SEED + " text " + i);
      if (b.length > 0) {
        byte[] c = b.clone();
        c[rnd.nextInt(c.length)] = (byte) rnd.nextInt(256);
        agree(c, "seed " + SEED + " corrupted " + i);
        agree(Arrays.copyOf(b, rnd.nextInt(b.length)), "seed " + SEED + " truncated " + i);
      }
      byte[] noise = new byte[rnd.nextInt(12)];
      rnd.nextBytes(noise);
      agree(noise, "seed " + SEED + " noise " + i);
    }
  }

  @Test
  void onlyAdoptUtf8TextKeepsTheCallersArray() {
    byte[] a = "{\"x\":1}".getBytes(StandardCharsets.UTF_8);
    Payload.Text copied = Payload.utf8Text(a);
    Payload.Text adopted = Payload.adoptUtf8Text(a);
    a[5] = '2'; // what a caller must never do after adopting: it shows in the adopted payload
    assertEquals("{\"x\":1}", copied.text());
    ByteBuffer v = adopted.utf8();
    assertEquals('2', v.get(5));
    assertTrue(v.isReadOnly());
  }

  @Test
  void theAsciiPrefixEndsAtTheFirstNonAsciiByteWhereverItIs() {
    for (int n = 0; n < 40; n++) {
      byte[] b = new byte[n];
      Arrays.fill(b, (byte) 'a');
      assertEquals(n, Ascii.prefix(b), "all ASCII, length " + n);
      for (int at = 0; at < n; at++) {
        byte[] c = b.clone();
        c[at] = (byte) (0x80 + at);
        assertEquals(at, Ascii.prefix(c), "length " + n + ", non-ASCII at " + at);
        c[n - 1] = (byte) 0xFF;
        assertEquals(at, Ascii.prefix(c), "length " + n + ", non-ASCII at " + at + " and at the end");
      }
    }
  }
}
