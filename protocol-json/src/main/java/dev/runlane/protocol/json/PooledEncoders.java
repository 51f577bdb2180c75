package dev.runlane.protocol.json;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.json.JsonWriteContext;
import com.fasterxml.jackson.core.json.UTF8JsonGenerator;
import com.fasterxml.jackson.databind.ObjectWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.jspecify.annotations.Nullable;

/**
 * The cheap way to a message's JSON bytes: a few reusable encoders, each one Jackson generator over
 * a growable buffer, taken from a small lock-free pool for one message and given back. {@code
 * ObjectWriter.writeValueAsBytes} builds a generator, its I/O context, write contexts and an
 * output builder for every message, then copies the frame out of the builder; here only the frame's
 * own array (and the serializer provider Jackson makes per value) is allocated.
 *
 * <p>The bytes are exactly {@code writeValueAsBytes}'s: the generator is the writer's own ({@link
 * ObjectWriter#createGenerator(OutputStream, JsonEncoding)}, configured the same way on every
 * {@link ObjectWriter#writeValue(JsonGenerator, Object)}), and between messages its root context is
 * reset, so that it writes no root-value separator. {@link #forWriter} returns null, and the codec
 * keeps {@code writeValueAsBytes}, for a writer whose generator is not Jackson's plain {@link
 * UTF8JsonGenerator} (another format, a decorated factory, an output decorator).
 *
 * <p>A pool rather than a {@link ThreadLocal}: encoders stay few and bounded whatever the number of
 * threads (virtual threads included), and re-entrancy is free: a host serializer that encodes
 * another message while its own is being written finds its encoder taken and uses another one.
 * An encoder whose message failed half-way (a lone surrogate, a host serializer that threw) is
 * dropped, never reused.
 *
 * <p><b>Thread safety:</b> safe for concurrent use; an encoder is used by one thread at a time.
 */
final class PooledEncoders {
  /** Buffers that grew beyond this (a rare huge frame) are not kept in the pool. */
  static final int MAX_KEPT_BYTES = 64 * 1024;

  private static final int PROBES = 4;

  private final ObjectWriter writer;
  private final AtomicReferenceArray<@Nullable Encoder> slots;
  private final int mask;

  private PooledEncoders(ObjectWriter writer, int slots) {
    this.writer = writer;
    this.slots = new AtomicReferenceArray<>(slots);
    this.mask = slots - 1;
  }

  /** A pool for {@code writer}, or null if its generator is not one this class can reuse. */
  static @Nullable PooledEncoders forWriter(ObjectWriter writer) {
    if (writer.getFactory().getOutputDecorator() != null) {
      return null;
    }
    try {
      Encoder probe = new Encoder(writer);
      if (probe.gen.getClass() != UTF8JsonGenerator.class || probe.root == null) {
        return null;
      }
      int cpus = Runtime.getRuntime().availableProcessors();
      int n = Integer.highestOneBit(Math.max(4, Math.min(64, 2 * cpus)) * 2 - 1);
      PooledEncoders pool = new PooledEncoders(writer, n);
      pool.slots.set(0, probe);
      return pool;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /**
   * {@code message}'s bytes, as {@code writer.writeValueAsBytes(message)} would write them.
   *
   * @throws IOException as {@code writeValueAsBytes} would (the encoder used is then dropped)
   */
  byte[] encode(Object message) throws IOException {
    int home = System.identityHashCode(Thread.currentThread()) & mask;
    Encoder e = take(home);
    if (e == null) {
      e = new Encoder(writer);
    }
    byte[] out = e.encode(writer, message); // throws: e is not given back
    if (e.reusable()) {
      give(home, e);
    }
    return out;
  }

  private @Nullable Encoder take(int home) {
    for (int k = 0; k < PROBES; k++) {
      int i = (home + k) & mask;
      Encoder e = slots.get(i);
      if (e != null && slots.compareAndSet(i, e, null)) {
        return e;
      }
    }
    return null;
  }

  private void give(int home, Encoder e) {
    for (int k = 0; k < PROBES; k++) {
      int i = (home + k) & mask;
      if (slots.get(i) == null && slots.compareAndSet(i, null, e)) {
        return;
      }
    }
    // the pool is full: this one is left to the garbage collector
  }

  /** Encoders in the pool now: for tests. */
  int pooled() {
    int n = 0;
    for (int i = 0; i < slots.length(); i++) {
      if (slots.get(i) != null) {
        n++;
      }
    }
    return n;
  }

  /** One generator over one growable buffer. Used by one thread at a time. */
  private static final class Encoder {
    final Sink sink = new Sink();
    final JsonGenerator gen;
    final @Nullable JsonWriteContext root;

    Encoder(ObjectWriter writer) throws IOException {
      this.gen = writer.createGenerator(sink, JsonEncoding.UTF8);
      JsonStreamContext ctx = gen.getOutputContext();
      this.root = ctx instanceof JsonWriteContext && ctx.inRoot() ? (JsonWriteContext) ctx : null;
    }

    byte[] encode(ObjectWriter writer, Object message) throws IOException {
      JsonWriteContext r = java.util.Objects.requireNonNull(root);
      sink.reset();
      writer.writeValue(gen, message);
      gen.flush();
      if (gen.getOutputContext() != r) {
        throw new IOException("the generator did not return to its root context");
      }
      // As if the generator were new: the next message is the first root value, with no separator.
      r.reset(JsonStreamContext.TYPE_ROOT);
      return sink.toByteArray();
    }

    boolean reusable() {
      return sink.capacity() <= MAX_KEPT_BYTES;
    }
  }

  /** A growable byte buffer the generator flushes into. */
  private static final class Sink extends OutputStream {
    private byte[] buf = new byte[512];
    private int len;

    void reset() {
      len = 0;
    }

    int capacity() {
      return buf.length;
    }

    byte[] toByteArray() {
      return Arrays.copyOf(buf, len);
    }

    private void ensure(int more) {
      int need = len + more;
      if (need < 0) {
        throw new OutOfMemoryError("frame larger than 2 GiB");
      }
      if (need > buf.length) {
        buf = Arrays.copyOf(buf, Math.max(need, buf.length * 2));
      }
    }

    @Override
    public void write(int b) {
      ensure(1);
      buf[len++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int n) {
      ensure(n);
      System.arraycopy(b, off, buf, len, n);
      len += n;
    }
  }
}
