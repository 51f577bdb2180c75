package dev.runlane.protocol.json;

import dev.runlane.codec.Outbound;
import dev.runlane.engine.FrameMeta;
import dev.runlane.transport.Payload;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.NullMarked;
import org.jspecify.annotations.Nullable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The JSON codec's cost per event (issue 16): {@link JsonWireCodec#encode} of a typical run event,
 * its 46-byte {@code data} ({@code {"t":1234567890123,"p":"aaaaaaaaaaaaaaaaaaaa"}}) a {@link Map} or
 * a small record, through the pooled generators ({@code pooled}) and through {@code
 * ObjectWriter.writeValueAsBytes} as before them ({@code writer}, the codec's package-private
 * reference path, hence this class's package); and protocol 2's compact form of the encoded frame
 * ({@link JsonWireCodec#reshape}), read in place, next to a copy of the code before. Run with
 * {@code -prof gc} for bytes per operation; see {@code docs/benchmarks.md}.
 *
 * <p>Not part of the quick pass (its package is not {@code dev.runlane.benchmarks}): {@code java
 * -cp benchmarks/target/benchmarks.jar org.openjdk.jmh.Main EncodeBenchmark -prof gc}.
 *
 * <p><b>Thread safety:</b> JMH benchmark state, one thread.
 */
@NullMarked
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class EncodeBenchmark {
  /** A host event as the wire harness publishes it: a timestamp and a 20-character string. */
  public record Delta(long t, String p) {}

  /** {@code map} or {@code pojo}: the shape of the event's data. */
  @Param({"map", "pojo"})
  public String data = "map";

  JsonWireCodec codec;
  Outbound.RunEvent event;
  Payload encoded;
  FrameMeta meta;

  @Setup
  public void setup() {
    codec = new JsonWireCodec();
    @Nullable Object d;
    if ("map".equals(data)) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("t", 1_234_567_890_123L);
      m.put("p", "aaaaaaaaaaaaaaaaaaaa");
      d = m;
    } else {
      d = new Delta(1_234_567_890_123L, "aaaaaaaaaaaaaaaaaaaa");
    }
    event =
        new Outbound.RunEvent(
            "0b5e6c1d-6f1e-4c55-9a43-2d0c1b7a9e21", "session-000417", "k3v9q2x7", 4_217, "delta", d);
    encoded = codec.encode(event);
    meta = FrameMeta.event(event.seq());
    if (!encoded.equals(codec.encodeWithWriter(event))) {
      throw new IllegalStateException("the two paths disagree: " + encoded);
    }
    Payload compact = codec.reshape(encoded, meta, 2);
    if (compact == null || !compact.equals(CopyingCompact.reshape(encoded, meta.seq()))) {
      throw new IllegalStateException("the two compact forms disagree: " + compact);
    }
  }

  /** The codec as it is: a pooled generator. */
  @Benchmark
  public Payload encodePooled() {
    return codec.encode(event);
  }

  /** As before the pool: {@code writeValueAsBytes}, then {@code Payload.utf8Text}. */
  @Benchmark
  public Payload encodeWriter() {
    return codec.encodeWithWriter(event);
  }

  /** Protocol 2's {@code [runId, seq, type, data]} from the protocol-1 frame, read in place. */
  @Benchmark
  public @Nullable Payload reshapeInPlace() {
    return codec.reshape(encoded, meta, 2);
  }

  /** The same, as before: the frame copied out first, the result copied by {@code utf8Text}. */
  @Benchmark
  public @Nullable Payload reshapeCopying() {
    return CopyingCompact.reshape(encoded, meta.seq());
  }

  /**
   * Protocol 2's compact form as {@code CompactEvents} derived it before it read frames in place
   * (copied from it, parser fallback left out): the frame copied out of its view, {@code
   * Long.toString} for seq, {@code Payload.utf8Text} (another copy) for the result.
   */
  static final class CopyingCompact {
    private CopyingCompact() {}

    /** The compact form of a protocol-1 {@code run_event} frame, or null to keep it as it is. */
    static @Nullable Payload reshape(Payload encoded, long seq) {
      if (!(encoded instanceof Payload.Text)) {
        return null;
      }
      ByteBuffer view = ((Payload.Text) encoded).utf8();
      byte[] in = new byte[view.remaining()];
      view.get(in);
      byte[] out = scan(in, seq);
      if (out == KEEP) {
        return null;
      }
      return out != null ? Payload.utf8Text(out) : null; // (the parser fallback: not benchmarked)
    }

    private static final byte[] KEEP = new byte[0];
    private static final byte[] KIND_AND_RUN = ascii("{\"kind\":\"" + "run_event" + "\",\"runId\":\"");
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
      int i = expect(in, 0, KIND_AND_RUN);
      int runStart = i;
      int runEnd = endOfPlainString(in, i);
      i = expect(in, runEnd + 1, SESSION);
      i = expect(in, endOfPlainString(in, i) + 1, SEQ);
      if (i < 0) {
        return null;
      }
      while (i < in.length && in[i] >= '0' && in[i] <= '9') {
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
      int end = in.length;
      while (end > dataStart && isSpace(in[end - 1])) {
        end--;
      }
      if (end - 1 <= dataStart || in[end - 1] != '}') {
        return null;
      }
      int dataEnd = end - 1;
      while (dataEnd > dataStart && isSpace(in[dataEnd - 1])) {
        dataEnd--;
      }
      while (dataStart < dataEnd && isSpace(in[dataStart])) {
        dataStart++;
      }
      if (dataEnd <= dataStart) {
        return null;
      }
      return compact(in, runStart, runEnd, typeStart, typeEnd, seq, dataStart, dataEnd);
    }

    /** The index after {@code token} if {@code in} holds it at {@code at}, else -1 (also for at < 0). */
    private static int expect(byte[] in, int at, byte[] token) {
      if (at < 0 || at + token.length > in.length) {
        return -1;
      }
      for (int k = 0; k < token.length; k++) {
        if (in[at + k] != token[k]) {
          return -1;
        }
      }
      return at + token.length;
    }

    /**
     * The index of the quote that closes a JSON string whose content starts at {@code at}; -1 if
     * the content holds an escape (left to the parser) or never closes, or if at < 0.
     */
    private static int endOfPlainString(byte[] in, int at) {
      if (at < 0) {
        return -1;
      }
      for (int k = at; k < in.length; k++) {
        byte b = in[k];
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
        byte[] in, int runStart, int runEnd, int typeStart, int typeEnd, long seq, int dataStart, int dataEnd) {
      byte[] num = Long.toString(seq).getBytes(StandardCharsets.US_ASCII);
      int runLen = runEnd - runStart;
      int typLen = typeEnd - typeStart;
      int dataLen = dataEnd - dataStart;
      byte[] out = new byte[1 + 1 + runLen + 1 + 1 + num.length + 1 + 1 + typLen + 1 + 1 + dataLen + 1];
      int i = 0;
      out[i++] = '[';
      out[i++] = '"';
      System.arraycopy(in, runStart, out, i, runLen);
      i += runLen;
      out[i++] = '"';
      out[i++] = ',';
      System.arraycopy(num, 0, out, i, num.length);
      i += num.length;
      out[i++] = ',';
      out[i++] = '"';
      System.arraycopy(in, typeStart, out, i, typLen);
      i += typLen;
      out[i++] = '"';
      out[i++] = ',';
      System.arraycopy(in, dataStart, out, i, dataLen);
      i += dataLen;
      out[i++] = ']';
      return out;
    }


    private static boolean isSpace(byte b) {
      return b == ' ' || b == '\n' || b == '\r' || b == '\t';
    }
  }
}
