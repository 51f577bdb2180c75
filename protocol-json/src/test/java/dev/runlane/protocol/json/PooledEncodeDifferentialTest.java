package dev.runlane.protocol.json;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import dev.runlane.Approval;
import dev.runlane.ErrorCode;
import dev.runlane.FailureReason;
import dev.runlane.ResumeStatus;
import dev.runlane.RunOutcome;
import dev.runlane.RunState;
import dev.runlane.codec.Outbound;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.transport.Payload;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * The pooled encode path ({@link PooledEncoders}) against plain Jackson: random messages of every
 * kind, random host data, encoded by the codec and by {@code writeValueAsBytes} of a fresh mapper
 * with the same {@link OutboundSerializer}; the bytes must be equal, message after message (so a
 * reused generator that kept any state from the previous message shows). Each test prints its seed;
 * rerun one with {@code -Drunlane.seed=N}.
 */
class PooledEncodeDifferentialTest {
  static final long SEED = Long.getLong("runlane.seed", System.nanoTime());

  /** The codec a {@link Reentrant} value's serializer encodes its inner message with. */
  static volatile @Nullable JsonWireCodec reentrantCodec;

  /** The original path: a mapper like the codec's, {@code writeValueAsBytes}, else as a string. */
  static final class Reference {
    final ObjectWriter writer;

    Reference(ObjectMapper base) {
      ObjectMapper m = base.copy();
      m.registerModule(new SimpleModule("ref").addSerializer(Outbound.class, new OutboundSerializer()));
      this.writer = m.writerFor(Outbound.class);
    }

    /**
     * What the codec returned before the pool: bytes, or the string fallback, or the failure. Two
     * high surrogates in raw output make Jackson write a 4-byte sequence that is not UTF-8, which
     * {@link Payload#utf8Text} refuses with an {@link IllegalArgumentException}: the codec threw
     * it before the pool and still does (Runlane logs it and drops that message).
     */
    Object encode(Outbound m) {
      try {
        byte[] b = writer.writeValueAsBytes(m);
        try {
          Payload.utf8Text(b);
        } catch (IllegalArgumentException notUtf8) {
          return notUtf8;
        }
        return b;
      } catch (JsonProcessingException bytesFailed) {
        // the codec's documented fallback
      }
      try {
        return writer.writeValueAsString(m);
      } catch (JsonProcessingException e) {
        return new UncheckedIOException(
            "cannot encode " + m.getClass().getSimpleName() + ": " + e.getOriginalMessage(), e);
      }
    }
  }

  static void assertSame(Object expected, JsonWireCodec codec, Outbound m, String where) {
    Payload got;
    try {
      got = codec.encode(m);
    } catch (IllegalArgumentException e) {
      assertInstanceOf(IllegalArgumentException.class, expected, where + ": the codec failed: " + e);
      assertEquals(((Exception) expected).getMessage(), e.getMessage(), where);
      return;
    } catch (UncheckedIOException e) {
      assertInstanceOf(UncheckedIOException.class, expected, where + ": the codec failed: " + e);
      assertEquals(((Exception) expected).getMessage(), e.getMessage(), where);
      return;
    }
    assertInstanceOf(Payload.Text.class, got, where);
    Payload.Text t = (Payload.Text) got;
    if (expected instanceof byte[]) {
      byte[] want = (byte[]) expected;
      byte[] have = bytes(t);
      if (!Arrays.equals(want, have)) {
        fail(where + ":\n expected " + new String(want, java.nio.charset.StandardCharsets.UTF_8)
            + "\n but got  " + t.text());
      }
    } else if (expected instanceof String) {
      // the text fallback (an unpaired surrogate): the string as Jackson wrote it, unchanged
      assertEquals(expected, t.text(), where);
      assertArrayEquals(
          ((String) expected).getBytes(java.nio.charset.StandardCharsets.UTF_8), bytes(t), where);
    } else {
      fail(where + ": expected " + expected + " but the codec encoded " + t.text());
    }
  }

  static byte[] bytes(Payload.Text t) {
    ByteBuffer b = t.utf8();
    byte[] out = new byte[b.remaining()];
    b.get(out);
    return out;
  }

  // ------------------------------------------------------------------ random messages

  /** A POJO as host data: public fields and a getter, nested values. */
  public static final class Pojo {
    public String name;
    public int count;
    public @Nullable Object extra;
    private final List<String> tags;

    Pojo(String name, int count, @Nullable Object extra, List<String> tags) {
      this.name = name;
      this.count = count;
      this.extra = extra;
      this.tags = tags;
    }

    public List<String> getTags() {
      return tags;
    }
  }

  /** A small record, as hosts write their events. */
  public record Delta(long t, String p) {}

  /** Host data whose serializer encodes another message with the codec under test (re-entrancy). */
  @JsonSerialize(using = ReentrantSerializer.class)
  public static final class Reentrant {
    final Outbound inner;

    Reentrant(Outbound inner) {
      this.inner = inner;
    }
  }

  /** Writes {@code {"nested": <the codec's text of inner>}}. */
  public static final class ReentrantSerializer extends JsonSerializer<Reentrant> {
    @Override
    public void serialize(Reentrant v, JsonGenerator g, SerializerProvider p) throws IOException {
      JsonWireCodec c = java.util.Objects.requireNonNull(reentrantCodec);
      g.writeStartObject();
      g.writeStringField("nested", ((Payload.Text) c.encode(v.inner)).text());
      g.writeEndObject();
    }
  }

  /**
   * Host data written raw: Jackson's UTF-8 generator refuses an unpaired surrogate in raw text
   * (in a string it escapes it), which sends the codec to its text fallback.
   */
  public static final class Raw {
    @com.fasterxml.jackson.annotation.JsonRawValue public final String json;

    Raw(String json) {
      this.json = json;
    }
  }

  /** Host data whose serializer writes part of its value, then throws. */
  @JsonSerialize(using = ExplodingSerializer.class)
  public static final class Exploding {}

  /** Fails half-way through a value, leaving the generator mid-object. */
  public static final class ExplodingSerializer extends JsonSerializer<Exploding> {
    @Override
    public void serialize(Exploding v, JsonGenerator g, SerializerProvider p) throws IOException {
      g.writeStartObject();
      g.writeStringField("half", "written");
      throw new IllegalStateException("host serializer failed on purpose");
    }
  }

  static final class Gen {
    final Random rnd;
    final boolean reentrancy;

    Gen(long seed, boolean reentrancy) {
      this.rnd = new Random(seed);
      this.reentrancy = reentrancy;
    }

    String str() {
      int shape = rnd.nextInt(40);
      int len =
          shape == 0 ? 2_000 + rnd.nextInt(30_000) // beyond the generator's 8000-byte buffer
              : shape == 1 ? 0
              : rnd.nextInt(40);
      StringBuilder b = new StringBuilder(len);
      boolean loneSurrogates = rnd.nextInt(25) == 0;
      for (int i = 0; i < len; i++) {
        int k = rnd.nextInt(100);
        if (k < 55) {
          b.append((char) ('a' + rnd.nextInt(26)));
        } else if (k < 62) {
          b.append("\"\\/'<>&".charAt(rnd.nextInt(7)));
        } else if (k < 68) {
          b.append((char) rnd.nextInt(0x20)); // control characters
        } else if (k < 70) {
          b.append((char) 0x7f);
        } else if (k < 80) {
          b.append((char) (0x80 + rnd.nextInt(0x780))); // two UTF-8 bytes
        } else if (k < 90) {
          b.append((char) (0x800 + rnd.nextInt(0xD000 - 0x800))); // three
        } else if (k < 97) {
          b.appendCodePoint(0x10000 + rnd.nextInt(0x100000)); // a surrogate pair, four bytes
        } else if (loneSurrogates) {
          b.append((char) (0xD800 + rnd.nextInt(0x800))); // unpaired
        } else {
          b.append((char) (0xE000 + rnd.nextInt(0x2000)));
        }
      }
      return b.toString();
    }

    @Nullable String optStr() {
      return rnd.nextInt(4) == 0 ? null : str();
    }

    long num() {
      switch (rnd.nextInt(4)) {
        case 0:
          return rnd.nextInt(10);
        case 1:
          return rnd.nextLong();
        case 2:
          return Long.MAX_VALUE - rnd.nextInt(3);
        default:
          return rnd.nextInt(Integer.MAX_VALUE);
      }
    }

    @Nullable Object data(int depth) {
      int k = rnd.nextInt(depth >= 3 ? 9 : 14);
      switch (k) {
        case 0:
          return null;
        case 1:
          return str();
        case 2:
          return rnd.nextInt();
        case 3:
          return rnd.nextLong();
        case 4:
          return rnd.nextDouble() * Math.pow(10, rnd.nextInt(40) - 20);
        case 5:
          return rnd.nextBoolean();
        case 6:
          return rnd.nextBoolean() ? new BigDecimal(rnd.nextLong()).movePointLeft(rnd.nextInt(10))
              : BigInteger.valueOf(rnd.nextLong()).multiply(BigInteger.valueOf(rnd.nextLong()));
        case 7:
          return new Delta(1_234_567_890_123L + rnd.nextInt(1000), str());
        case 8:
          return rnd.nextInt(3) == 0 ? Float.NaN : (float) rnd.nextGaussian();
        case 9:
        case 10:
          {
            Map<String, @Nullable Object> m = new LinkedHashMap<>();
            int n = rnd.nextInt(6);
            for (int i = 0; i < n; i++) {
              m.put(rnd.nextInt(3) == 0 ? str() : "k" + i, data(depth + 1));
            }
            return m;
          }
        case 11:
          {
            List<@Nullable Object> l = new ArrayList<>();
            int n = rnd.nextInt(6);
            for (int i = 0; i < n; i++) {
              l.add(data(depth + 1));
            }
            return l;
          }
        case 12:
          if (rnd.nextInt(4) == 0) {
            StringBuilder raw = new StringBuilder("\"");
            for (int i = rnd.nextInt(8); i >= 0; i--) {
              raw.append(rnd.nextInt(3) == 0 ? (char) (0xD800 + rnd.nextInt(0x800)) : 'r');
            }
            return new Raw(raw.append('"').toString());
          }
          return new Pojo(str(), rnd.nextInt(), data(depth + 1), List.of(str(), str()));
        default:
          if (reentrancy && rnd.nextBoolean()) {
            return new Reentrant(message(depth + 2));
          }
          return rnd.nextInt(4) == 0 ? new Exploding() : outcome(depth + 1);
      }
    }

    RunOutcome outcome(int depth) {
      RunState[] terminal =
          Arrays.stream(RunState.values()).filter(RunState::isTerminal).toArray(RunState[]::new);
      RunState s = terminal[rnd.nextInt(terminal.length)];
      return new RunOutcome(
          str(), str(), str(), str(), s,
          rnd.nextBoolean() ? null : FailureReason.values()[rnd.nextInt(FailureReason.values().length)],
          rnd.nextInt(256), optStr(), data(depth + 1), num(), optStr());
    }

    Approval approval(int depth) {
      return new Approval(str(), str(), str(), data(depth + 1), rnd.nextInt(3) == 0 ? 0 : num());
    }

    Outbound message(int depth) {
      switch (rnd.nextInt(13)) {
        case 0:
        case 1:
        case 2:
          {
            boolean terminal = rnd.nextInt(5) == 0;
            String kind =
                terminal ? Outbound.KIND_COMPLETED : rnd.nextInt(4) == 0 ? "delta" : str();
            return new Outbound.RunEvent(
                str(), str(), str(), num(), kind, terminal ? outcome(depth) : data(depth));
          }
        case 3:
          return new Outbound.RunStatus(str(), str(), str(), data(depth));
        case 4:
          {
            List<Approval> pending = new ArrayList<>();
            for (int i = rnd.nextInt(3); i > 0; i--) {
              pending.add(approval(depth));
            }
            SubscribeAck ack =
                new SubscribeAck(
                    str(), optStr(), optStr(),
                    ResumeStatus.values()[rnd.nextInt(ResumeStatus.values().length)],
                    rnd.nextBoolean(), num(), num(), num(), num(), rnd.nextBoolean(), rnd.nextBoolean(),
                    pending, rnd.nextBoolean() ? null : outcome(depth), num());
            return new Outbound.Subscribed(ack, optStr());
          }
        case 5:
          return new Outbound.ProtocolError(
              ErrorCode.values()[rnd.nextInt(ErrorCode.values().length)], str(), optStr(), optStr());
        case 6:
          return new Outbound.Notice(optStr(), str(), data(depth));
        case 7:
          return new Outbound.ApprovalRequested(approval(depth));
        case 8:
          return new Outbound.ApprovalResolved(
              approval(depth),
              Approval.Resolution.values()[rnd.nextInt(Approval.Resolution.values().length)],
              rnd.nextBoolean() ? new ApprovalDecision(rnd.nextBoolean(), optStr()) : data(depth),
              optStr());
        case 9:
          return new Outbound.Heartbeat(num());
        case 10:
          return new Outbound.Welcome(str(), num(), str(), rnd.nextBoolean());
        case 11:
          return new Outbound.StreamPaired(str(), num());
        default:
          return new Outbound.Hello(1 + rnd.nextInt(Integer.MAX_VALUE), optStr());
      }
    }
  }

  // ------------------------------------------------------------------ the properties

  static int check(JsonWireCodec codec, Reference ref, long seed, int messages, boolean reentrancy) {
    Gen gen = new Gen(seed, reentrancy);
    int fallbacks = 0;
    for (int i = 0; i < messages; i++) {
      Outbound m = gen.message(0);
      Object expected = ref.encode(m);
      if (expected instanceof String) {
        fallbacks++;
      }
      assertSame(expected, codec, m, "seed " + seed + ", message " + i);
      if (m instanceof Outbound.RunEvent && ((Outbound.RunEvent) m).seq() >= 1
          && !(expected instanceof Exception)) {
        assertCompactAsParsed(codec, (Outbound.RunEvent) m, "seed " + seed + ", message " + i);
      }
    }
    return fallbacks;
  }

  /**
   * Protocol 2's form read in place from the pooled frame equals the general path's (a streaming
   * parse of a copy of the frame), or both keep the frame.
   */
  static void assertCompactAsParsed(JsonWireCodec codec, Outbound.RunEvent e, String where) {
    Payload full = codec.encode(e);
    Payload compact = codec.reshape(full, dev.runlane.engine.FrameMeta.event(e.seq()), 2);
    Payload parsed;
    try {
      parsed = CompactEvents.parse(bytes((Payload.Text) full), e.seq());
    } catch (IOException | RuntimeException notCompact) {
      parsed = null;
    }
    if (e.kind().startsWith("run.")) {
      assertNull(compact, where + ": run.* events stay full");
      return;
    }
    if (parsed == null) {
      assertNull(compact, where);
    } else {
      assertNotNull(compact, where);
      assertArrayEquals(bytes((Payload.Text) parsed), bytes((Payload.Text) compact), where);
    }
  }

  @Test
  void theCompactFormWritesSeqAsLongToStringDoes() {
    System.out.println("PooledEncodeDifferentialTest seed " + SEED);
    Random rnd = new Random(SEED);
    List<Long> values = new ArrayList<>(List.of(0L, 1L, 9L, 10L, 99L, 100L, Long.MAX_VALUE, Long.MIN_VALUE, -1L));
    for (long p = 1; p > 0 && p <= Long.MAX_VALUE / 10; p *= 10) {
      values.addAll(List.of(p - 1, p, p + 1, p * 10 - 1));
    }
    for (int i = 0; i < 10_000; i++) {
      values.add(rnd.nextLong() >>> rnd.nextInt(64));
    }
    for (long v : values) {
      String want = Long.toString(v);
      assertEquals(want.length(), CompactEvents.digits(v), "digits of " + v);
      byte[] out = new byte[want.length() + 2];
      CompactEvents.putDigits(v, out, 1, want.length());
      assertEquals(want, new String(out, 1, want.length(), java.nio.charset.StandardCharsets.US_ASCII));
      assertEquals(0, out[0]);
      assertEquals(0, out[out.length - 1]);
    }
  }

  @Test
  void everyKindOfMessageEncodesToJacksonsOwnBytes() {
    System.out.println("PooledEncodeDifferentialTest seed " + SEED);
    JsonWireCodec codec = new JsonWireCodec();
    assertNotNull(codec.encoders(), "the default codec encodes through the pool");
    int fallbacks = check(codec, new Reference(new ObjectMapper()), SEED, 3_000, false);
    assertTrue(fallbacks > 0, "the random data includes raw unpaired surrogates (seed " + SEED + ")");
    codec.encode(new Outbound.Heartbeat(1)); // the last random message may have dropped its encoder
    assertTrue(codec.encoders().pooled() >= 1, "encoders go back to the pool");
  }

  @Test
  void aHostMapperConfiguredOtherwiseKeepsItsOwnOutput() {
    System.out.println("PooledEncodeDifferentialTest seed " + SEED);
    List<Supplier<ObjectMapper>> mappers =
        List.of(
            () -> new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT),
            () -> new ObjectMapper()
                .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS),
            () -> JsonMapper.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build(),
            () -> JsonMapper.builder().enable(JsonWriteFeature.WRITE_NUMBERS_AS_STRINGS).build(),
            () -> new ObjectMapper(JsonFactory.builder().build()));
    for (int i = 0; i < mappers.size(); i++) {
      ObjectMapper host = mappers.get(i).get();
      JsonWireCodec codec = JsonWireCodec.builder().payloadMapper(host).build();
      assertNotNull(codec.encoders(), "mapper " + i + " encodes through the pool");
      check(codec, new Reference(host), SEED + i, 400, false);
    }
  }

  @Test
  void aDataSerializerThatEncodesAnotherMessageGetsItsOwnEncoder() {
    System.out.println("PooledEncodeDifferentialTest seed " + SEED);
    JsonWireCodec codec = new JsonWireCodec();
    reentrantCodec = codec;
    try {
      // the reference's serializer calls the codec too: both sides nest the same encoding
      check(codec, new Reference(new ObjectMapper()), SEED, 1_500, true);
      // and the nested text is exactly the plain encoding of the inner message
      Outbound inner = new Outbound.Notice(null, "inner", Map.of("x", "é\"\n"));
      Outbound outer =
          new Outbound.RunEvent("r", "s", "e", 3, "delta", new Reentrant(inner));
      Object refInner = new Reference(new ObjectMapper()).encode(inner);
      String text = ((Payload.Text) codec.encode(outer)).text();
      String innerText = new String((byte[]) refInner, java.nio.charset.StandardCharsets.UTF_8);
      assertTrue(text.contains(quoted(innerText)), text);
      assertTrue(text.startsWith("{\"kind\":\"run_event\",\"runId\":\"r\""), text);
    } finally {
      reentrantCodec = null;
    }
  }

  static String quoted(String s) {
    try {
      return new ObjectMapper().writeValueAsString(s);
    } catch (JsonProcessingException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void aFailedMessageLeavesNothingBehindForTheNext() {
    JsonWireCodec codec = new JsonWireCodec();
    Reference ref = new Reference(new ObjectMapper());
    Outbound ok = new Outbound.RunEvent("r", "s", "e", 1, "delta", Map.of("t", 1L, "p", "aa"));
    Outbound bad = new Outbound.RunEvent("r", "s", "e", 2, "delta", List.of(1, new Exploding()));
    Outbound lone = new Outbound.RunEvent("r", "s", "e", 3, "x\uD800y", new Raw("\"z\uDC00\""));
    for (int i = 0; i < 20; i++) {
      assertSame(ref.encode(ok), codec, ok, "ok " + i);
      UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> codec.encode(bad));
      assertTrue(e.getMessage().contains("host serializer failed on purpose"), e.getMessage());
      assertSame(ref.encode(ok), codec, ok, "ok after a failure " + i);
      Payload p = codec.encode(lone);
      assertEquals(
          "{\"kind\":\"run_event\",\"runId\":\"r\",\"sessionId\":\"s\",\"seq\":3,\"epoch\":\"e\","
              + "\"type\":\"x\uD800y\",\"data\":{\"json\":\"z\uDC00\"}}",
          ((Payload.Text) p).text(),
          "an unpaired surrogate travels in the text fallback, as before");
      assertSame(ref.encode(lone), codec, lone, "lone " + i);
      assertSame(ref.encode(ok), codec, ok, "ok after the fallback " + i);
    }
  }

  @Test
  void aHugeFrameIsEncodedAndItsBufferNotKept() {
    JsonWireCodec codec = new JsonWireCodec();
    Reference ref = new Reference(new ObjectMapper());
    char[] big = new char[PooledEncoders.MAX_KEPT_BYTES + 10];
    Arrays.fill(big, 'é');
    Outbound huge = new Outbound.Notice(null, "big", new String(big));
    Outbound small = new Outbound.Heartbeat(42);
    assertSame(ref.encode(small), codec, small, "small");
    int before = codec.encoders().pooled();
    assertSame(ref.encode(huge), codec, huge, "huge");
    assertEquals(before - 1, codec.encoders().pooled(), "the encoder that grew was dropped");
    assertSame(ref.encode(small), codec, small, "small again");
  }

  @Test
  void severalThreadsEncodingAtOnceEachGetTheirOwnBytes() throws Exception {
    System.out.println("PooledEncodeDifferentialTest seed " + SEED);
    JsonWireCodec codec = new JsonWireCodec();
    Reference ref = new Reference(new ObjectMapper());
    int threads = 6;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<Integer>> done = new ArrayList<>();
      java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(threads);
      for (int t = 0; t < threads; t++) {
        long seed = SEED * 31 + t;
        done.add(
            pool.submit(
                () -> {
                  start.await(10, TimeUnit.SECONDS);
                  return check(codec, ref, seed, 800, false);
                }));
      }
      for (Future<Integer> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void encodersAreOnlyPooledForJacksonsPlainJsonGenerator() {
    assertNull(JsonWireCodec.builder().cbor().build().encoders(), "CBOR keeps writeValueAsBytes");
    JsonFactory decorated =
        JsonFactory.builder()
            .addDecorator((factory, g) -> new com.fasterxml.jackson.core.util.JsonGeneratorDelegate(g))
            .build();
    ObjectMapper host = new ObjectMapper(decorated);
    JsonWireCodec codec = JsonWireCodec.builder().payloadMapper(host).build();
    assertNull(codec.encoders(), "a decorated generator is not reused");
    check(codec, new Reference(host), SEED, 200, false);
  }
}
