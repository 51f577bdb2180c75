package dev.runlane.protocol.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import dev.runlane.transport.Payload;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;

/**
 * Protocol 2's compact run event, derived from the protocol-1 bytes without a tree: {@code [runId,
 * seq, type, data]} for a host event (a {@code type} that does not start with {@code run.}); null
 * (send the full object) for everything else. {@link OutboundSerializer} writes {@code data} last,
 * so its bytes are copied as one slice, found by a streaming parse.
 *
 * <p><b>Thread safety:</b> stateless; safe for concurrent use.
 */
final class CompactEvents {
  private static final JsonFactory JSON = new JsonFactory();

  private CompactEvents() {}

  /** The compact form of a protocol-1 {@code run_event} frame, or null to keep it as it is. */
  static @Nullable Payload reshape(Payload encoded, long seq) throws IOException {
    if (!(encoded instanceof Payload.Text)) {
      return null;
    }
    // A read-only view of the frame's own bytes: the fast path reads it in place, no copy.
    ByteBuffer view = ((Payload.Text) encoded).utf8();
    byte[] out = scan(view, seq);
    if (out == KEEP) {
      return null;
    }
    if (out != null) {
      // slices of well-formed UTF-8 cut at ASCII delimiters; checked again all the same
      return Payload.adoptUtf8Text(out);
    }
    byte[] in = new byte[view.limit()];
    view.get(0, in);
    return parse(in, seq);
  }

  private static final byte[] KEEP = new byte[0];
  private static final byte[] KIND_AND_RUN = ascii("{\"kind\":\"" + JsonWireCodec.KIND_RUN_EVENT + "\",\"runId\":\"");
  private static final byte[] SESSION = ascii(",\"sessionId\":\"");
  private static final byte[] SEQ = ascii(",\"seq\":");
  private static final byte[] EPOCH = ascii(",\"epoch\":\"");
  private static final byte[] TYPE = ascii(",\"type\":\"");
  private static final byte[] DATA = ascii(",\"data\":");
  private static final byte[] RUN_DOT = ascii("run.");

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * The fast path: {@link OutboundSerializer}'s exact layout, matched byte by byte with no parser
   * and no strings (the run id and type are copied as they are escaped, which is how the compact
   * form quotes them too). {@link #KEEP} for a {@code run.*} event; null when the bytes are laid out
   * otherwise or a string holds an escape, for {@link #parse} to decide.
   */
  static byte @Nullable [] scan(byte[] in, long seq) {
    return scan(ByteBuffer.wrap(in), seq);
  }

  /** {@link #scan(byte[], long)} over {@code in}'s bytes from 0 to its limit, read in place. */
  static byte @Nullable [] scan(ByteBuffer in, long seq) {
    int i = expect(in, 0, KIND_AND_RUN);
    int runStart = i;
    int runEnd = endOfPlainString(in, i);
    i = expect(in, runEnd + 1, SESSION);
    i = expect(in, endOfPlainString(in, i) + 1, SEQ);
    if (i < 0) {
      return null;
    }
    int n = in.limit();
    while (i < n && in.get(i) >= '0' && in.get(i) <= '9') {
      i++;
    }
    i = expect(in, i, EPOCH);
    i = expect(in, endOfPlainString(in, i) + 1, TYPE);
    int typeStart = i;
    int typeEnd = endOfPlainString(in, i);
    int dataStart = expect(in, typeEnd + 1, DATA);
    if (runEnd < 0 || typeEnd < 0 || dataStart < 0) {
      return null;
    }
    if (typeEnd - typeStart >= RUN_DOT.length && expect(in, typeStart, RUN_DOT) >= 0) {
      return KEEP; // run.started and the terminal events stay full: they map the run
    }
    int end = n;
    while (end > dataStart && isSpace(in.get(end - 1))) {
      end--;
    }
    if (end - 1 <= dataStart || in.get(end - 1) != '}') {
      return null;
    }
    int dataEnd = end - 1;
    while (dataEnd > dataStart && isSpace(in.get(dataEnd - 1))) {
      dataEnd--;
    }
    while (dataStart < dataEnd && isSpace(in.get(dataStart))) {
      dataStart++;
    }
    if (dataEnd <= dataStart) {
      return null;
    }
    return compact(in, runStart, runEnd, typeStart, typeEnd, seq, dataStart, dataEnd);
  }

  /** The index after {@code token} if {@code in} holds it at {@code at}, else -1 (also for at < 0). */
  private static int expect(ByteBuffer in, int at, byte[] token) {
    if (at < 0 || at + token.length > in.limit()) {
      return -1;
    }
    for (int k = 0; k < token.length; k++) {
      if (in.get(at + k) != token[k]) {
        return -1;
      }
    }
    return at + token.length;
  }

  /**
   * The index of the quote that closes a JSON string whose content starts at {@code at}; -1 if
   * the content holds an escape (left to the parser) or never closes, or if at < 0.
   */
  private static int endOfPlainString(ByteBuffer in, int at) {
    if (at < 0) {
      return -1;
    }
    int n = in.limit();
    for (int k = at; k < n; k++) {
      byte b = in.get(k);
      if (b == '"') {
        return k;
      }
      if (b == '\\') {
        return -1;
      }
    }
    return -1;
  }

  /** {@code ["runId",seq,"type",data]} from slices of {@code in}: the strings' contents, the data. */
  private static byte[] compact(
      ByteBuffer in, int runStart, int runEnd, int typeStart, int typeEnd, long seq, int dataStart, int dataEnd) {
    int digits = digits(seq);
    int runLen = runEnd - runStart;
    int typLen = typeEnd - typeStart;
    int dataLen = dataEnd - dataStart;
    byte[] out = new byte[1 + 1 + runLen + 1 + 1 + digits + 1 + 1 + typLen + 1 + 1 + dataLen + 1];
    int i = 0;
    out[i++] = '[';
    out[i++] = '"';
    in.get(runStart, out, i, runLen);
    i += runLen;
    out[i++] = '"';
    out[i++] = ',';
    putDigits(seq, out, i, digits);
    i += digits;
    out[i++] = ',';
    out[i++] = '"';
    in.get(typeStart, out, i, typLen);
    i += typLen;
    out[i++] = '"';
    out[i++] = ',';
    in.get(dataStart, out, i, dataLen);
    i += dataLen;
    out[i++] = ']';
    return out;
  }

  /** How many characters {@link Long#toString(long)} writes for {@code v}. */
  static int digits(long v) {
    if (v < 0) {
      return v == Long.MIN_VALUE ? 20 : 1 + digits(-v);
    }
    int d = 1;
    for (long p = 10; d < 19 && v >= p; p *= 10) {
      d++;
    }
    return d;
  }

  /** Writes {@link Long#toString(long)} of {@code v}, {@code digits} characters, at {@code at}. */
  static void putDigits(long v, byte[] out, int at, int digits) {
    if (v < 0) {
      byte[] s = Long.toString(v).getBytes(StandardCharsets.US_ASCII); // never for a real seq
      System.arraycopy(s, 0, out, at, digits);
      return;
    }
    for (int k = at + digits - 1; k >= at; k--) {
      out[k] = (byte) ('0' + (int) (v % 10));
      v /= 10;
    }
  }

  /** The general path: a streaming parse of any field order and escapes; null to keep the frame. */
  static @Nullable Payload parse(byte[] in, long seq) throws IOException {
    String runId = null;
    String type = null;
    int dataStart = -1;
    int dataEnd = -1;
    try (JsonParser p = JSON.createParser(in)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        switch (name) {
          case "kind":
            if (v != JsonToken.VALUE_STRING || !JsonWireCodec.KIND_RUN_EVENT.equals(p.getText())) {
              return null;
            }
            break;
          case "runId":
            if (v != JsonToken.VALUE_STRING) {
              return null;
            }
            runId = p.getText();
            break;
          case "type":
            if (v != JsonToken.VALUE_STRING || p.getText().startsWith("run.")) {
              return null; // run.started and the terminal events stay full: they map the run
            }
            type = p.getText();
            break;
          case "data":
            dataStart = (int) p.currentTokenLocation().getByteOffset();
            p.skipChildren();
            if (p.nextToken() != JsonToken.END_OBJECT) {
              return null; // data is not the last field: not the serializer's layout
            }
            dataEnd = (int) p.currentTokenLocation().getByteOffset();
            if (p.nextToken() != null) {
              return null;
            }
            break;
          default:
            p.skipChildren();
        }
        if (dataEnd >= 0) {
          break;
        }
      }
    }
    if (runId == null || type == null || dataStart < 0 || dataEnd <= dataStart) {
      return null;
    }
    while (dataEnd > dataStart && isSpace(in[dataEnd - 1])) {
      dataEnd--; // a pretty-printing payload mapper's whitespace before the closing brace
    }
    JsonStringEncoder enc = JsonStringEncoder.getInstance();
    byte[] run = enc.quoteAsUTF8(runId);
    byte[] typ = enc.quoteAsUTF8(type);
    byte[] num = Long.toString(seq).getBytes(StandardCharsets.US_ASCII);
    int dataLen = dataEnd - dataStart;
    byte[] out = new byte[1 + 1 + run.length + 1 + 1 + num.length + 1 + 1 + typ.length + 1 + 1 + dataLen + 1];
    int i = 0;
    out[i++] = '[';
    out[i++] = '"';
    System.arraycopy(run, 0, out, i, run.length);
    i += run.length;
    out[i++] = '"';
    out[i++] = ',';
    System.arraycopy(num, 0, out, i, num.length);
    i += num.length;
    out[i++] = ',';
    out[i++] = '"';
    System.arraycopy(typ, 0, out, i, typ.length);
    i += typ.length;
    out[i++] = '"';
    out[i++] = ',';
    System.arraycopy(in, dataStart, out, i, dataLen);
    i += dataLen;
    out[i++] = ']';
    return Payload.adoptUtf8Text(out);
  }

  private static boolean isSpace(byte b) {
    return b == ' ' || b == '\n' || b == '\r' || b == '\t';
  }
}
