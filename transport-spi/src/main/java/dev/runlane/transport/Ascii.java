package dev.runlane.transport;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * How long the ASCII run at the start of a byte array is, read eight bytes at a time: the cheap
 * part of {@link Payload}'s UTF-8 check.
 *
 * <p><b>Thread safety:</b> stateless.
 */
final class Ascii {
  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long HIGH_BITS = 0x8080808080808080L;

  private Ascii() {}

  /** The index of the first byte of {@code b} that is not ASCII, or {@code b.length}. */
  static int prefix(byte[] b) {
    int n = b.length;
    int i = 0;
    for (; i <= n - 8; i += 8) {
      if (((long) LONGS.get(b, i) & HIGH_BITS) != 0) {
        break;
      }
    }
    while (i < n && b[i] >= 0) {
      i++;
    }
    return i;
  }
}
