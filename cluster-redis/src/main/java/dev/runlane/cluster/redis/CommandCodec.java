package dev.runlane.cluster.redis;

import java.lang.reflect.RecordComponent;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import dev.runlane.Approval;
import dev.runlane.ErrorCode;
import dev.runlane.FailureReason;
import dev.runlane.Result;
import dev.runlane.RunOutcome;
import dev.runlane.RunState;
import dev.runlane.engine.FrameMeta;
import dev.runlane.engine.RunCommand;
import dev.runlane.engine.RunRecord;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The bytes of routed commands and their answers. A command message is {@code Q}, a correlation id,
 * the reply channel, the run id and the command; an answer is {@code P}, the correlation id and the
 * result. An approval decision crosses nodes only as plain data: null, Boolean, the JDK's numbers,
 * String, List and Map with String keys, nested, and the allowed records ({@link #RECORDS}); anything else is refused with {@link
 * Unsupported} (the router turns it into an {@code INVALID_PAYLOAD} refusal) rather than silently
 * changed.
 *
 * <p><b>Thread safety:</b> stateless.
 */
final class CommandCodec {
  private static final int MAX_DEPTH = 32;

  private CommandCodec() {}

  /** A value that cannot cross nodes. */
  static final class Unsupported extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Unsupported(String message) {
      super(message);
    }
  }

  record Request(String correlationId, String replyTo, String runId, RunCommand command) {}

  record Reply(String correlationId, Result<?> result) {}

  static byte[] request(String correlationId, String replyTo, String runId, RunCommand command) {
    return write(
        out -> {
          out.writeByte('Q');
          out.writeUTF(correlationId);
          out.writeUTF(replyTo);
          out.writeUTF(runId);
          if (command instanceof RunCommand.Abort a) {
            out.writeByte('A');
            out.writeUTF(a.principal());
          } else {
            RunCommand.ResolveApproval r = (RunCommand.ResolveApproval) command;
            out.writeByte('R');
            out.writeUTF(r.approvalId());
            out.writeUTF(r.principal());
            value(out, r.decision(), 0);
          }
        });
  }

  static byte[] reply(String correlationId, Result<?> result) {
    return write(
        out -> {
          out.writeByte('P');
          out.writeUTF(correlationId);
          if (result instanceof Result.Ok<?> ok) {
            out.writeByte('O');
            value(out, ok.value(), 0);
          } else {
            Result.Refused<?> r = (Result.Refused<?>) result;
            out.writeByte('X');
            out.writeUTF(r.code().name());
            out.writeUTF(r.message());
          }
        });
  }

  /** A decoded message: a {@link Request} or a {@link Reply}. */
  static Object decode(byte[] bytes) {
    try {
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
      int kind = in.readByte();
      String correlationId = in.readUTF();
      if (kind == 'Q') {
        String replyTo = in.readUTF();
        String runId = in.readUTF();
        int c = in.readByte();
        RunCommand command;
        if (c == 'A') {
          command = new RunCommand.Abort(in.readUTF());
        } else if (c == 'R') {
          String approvalId = in.readUTF();
          String principal = in.readUTF();
          command = new RunCommand.ResolveApproval(approvalId, readValue(in, 0), principal);
        } else {
          throw new IllegalArgumentException("unknown command tag " + c);
        }
        return new Request(correlationId, replyTo, runId, command);
      }
      if (kind == 'P') {
        int r = in.readByte();
        Result<?> result;
        if (r == 'O') {
          Object v = readValue(in, 0);
          result = v == null ? Result.refused(ErrorCode.INTERNAL_ERROR, "empty answer") : Result.ok(v);
        } else {
          ErrorCode code = errorCode(in.readUTF());
          result = Result.refused(code, in.readUTF());
        }
        return new Reply(correlationId, result);
      }
      throw new IllegalArgumentException("unknown message kind " + kind);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static ErrorCode errorCode(String name) {
    try {
      return ErrorCode.valueOf(name);
    } catch (IllegalArgumentException e) {
      return ErrorCode.INTERNAL_ERROR; // a newer node's code this node does not know
    }
  }

  /** A run's outcome; a {@code result} that cannot cross nodes is dropped (the terminal's bytes carry it). */
  static byte[] outcome(RunOutcome o) {
    try {
      return write(out -> value(out, o, 0));
    } catch (Unsupported e) {
      return write(out -> value(out, withoutResult(o), 0));
    }
  }

  static RunOutcome outcome(byte[] bytes) {
    Object v = read(bytes);
    if (!(v instanceof RunOutcome o)) {
      throw new IllegalArgumentException("not an outcome");
    }
    return o;
  }

  static RunOutcome withoutResult(RunOutcome o) {
    return new RunOutcome(
        o.runId(), o.sessionId(), o.epoch(), o.owner(), o.state(), o.failureReason(), o.exitCode(),
        o.message(), null, o.terminalSeq(), o.abortedBy());
  }

  /** A frame's metadata; host objects that cannot cross nodes (a result, an approval payload) are dropped. */
  static byte[] meta(FrameMeta m) {
    return write(
        out -> {
          out.writeByte(m.type().ordinal());
          out.writeLong(m.seq());
          RunOutcome o = m.outcome();
          if (o != null) {
            byte[] b = outcome(o);
            out.writeInt(b.length);
            out.write(b);
          }
          Approval a = m.approval();
          if (a != null) {
            out.writeUTF(a.approvalId());
            out.writeUTF(a.runId());
            out.writeUTF(a.sessionId());
            out.writeLong(a.expiresAtEpochMillis());
            byte[] p;
            try {
              p = write(x -> value(x, a.payload(), 0));
            } catch (Unsupported e) {
              p = write(x -> value(x, null, 0));
            }
            out.writeInt(p.length);
            out.write(p);
          }
        });
  }

  static FrameMeta meta(byte[] bytes) {
    try {
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
      FrameMeta.Type type = FrameMeta.Type.values()[in.readByte()];
      long seq = in.readLong();
      RunOutcome o = null;
      if (type == FrameMeta.Type.TERMINAL) {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        o = outcome(b);
      }
      Approval a = null;
      if (type == FrameMeta.Type.APPROVAL_REQUESTED || type == FrameMeta.Type.APPROVAL_RESOLVED) {
        String approvalId = in.readUTF();
        String runId = in.readUTF();
        String sessionId = in.readUTF();
        long expires = in.readLong();
        byte[] p = new byte[in.readInt()];
        in.readFully(p);
        a = new Approval(approvalId, runId, sessionId, read(p), expires);
      }
      return new FrameMeta(type, seq, o, a);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A run record (for the notice of a run's start). */
  static byte[] record(RunRecord r) {
    return write(
        out -> {
          out.writeUTF(r.runId());
          out.writeUTF(r.sessionId());
          out.writeUTF(r.epoch());
          out.writeUTF(r.nodeId());
          out.writeUTF(r.owner());
          out.writeUTF(r.sessionOwner());
          out.writeLong(r.retentionMillis());
        });
  }

  static RunRecord record(byte[] bytes) {
    try {
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
      return new RunRecord(
          in.readUTF(), in.readUTF(), in.readUTF(), in.readUTF(), in.readUTF(), in.readUTF(), in.readLong(), null);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static @Nullable Object read(byte[] bytes) {
    try {
      return readValue(new DataInputStream(new ByteArrayInputStream(bytes)), 0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Checks that {@code v} can cross nodes; throws {@link Unsupported} if not. */
  static void checkValue(@Nullable Object v) {
    write(out -> value(out, v, 0));
  }

  @FunctionalInterface
  private interface Writer {
    void write(DataOutputStream out) throws IOException;
  }

  private static byte[] write(Writer w) {
    ByteArrayOutputStream b = new ByteArrayOutputStream(64);
    try (DataOutputStream out = new DataOutputStream(b)) {
      w.write(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return b.toByteArray();
  }

  private static void value(DataOutputStream out, @Nullable Object v, int depth) throws IOException {
    if (depth > MAX_DEPTH) {
      throw new Unsupported("value nested deeper than " + MAX_DEPTH);
    }
    if (v == null) {
      out.writeByte('N');
    } else if (v instanceof Boolean b) {
      out.writeByte(b ? 'T' : 'F');
    } else if (v instanceof Integer i) {
      out.writeByte('i');
      out.writeInt(i);
    } else if (v instanceof Long l) {
      out.writeByte('l');
      out.writeLong(l);
    } else if (v instanceof Short s) {
      out.writeByte('s');
      out.writeShort(s);
    } else if (v instanceof Byte y) {
      out.writeByte('y');
      out.writeByte(y);
    } else if (v instanceof Double d) {
      out.writeByte('d');
      out.writeDouble(d);
    } else if (v instanceof Float f) {
      out.writeByte('f');
      out.writeFloat(f);
    } else if (v instanceof BigInteger g) {
      out.writeByte('g');
      string(out, g.toString());
    } else if (v instanceof BigDecimal d) {
      out.writeByte('D');
      string(out, d.toString());
    } else if (v instanceof String s) {
      out.writeByte('S');
      string(out, s);
    } else if (v instanceof List<?> list) {
      out.writeByte('L');
      out.writeInt(list.size());
      for (Object o : list) {
        value(out, o, depth + 1);
      }
    } else if (v instanceof Map<?, ?> map) {
      out.writeByte('M');
      out.writeInt(map.size());
      for (Map.Entry<?, ?> e : map.entrySet()) {
        if (!(e.getKey() instanceof String k)) {
          throw new Unsupported("a map key of type " + typeName(e.getKey()) + " cannot cross nodes");
        }
        string(out, k);
        value(out, e.getValue(), depth + 1);
      }
    } else if (v instanceof RunOutcome o) {
      out.writeByte('o');
      out.writeUTF(o.runId());
      out.writeUTF(o.sessionId());
      out.writeUTF(o.epoch());
      out.writeUTF(o.owner());
      out.writeUTF(o.state().name());
      nullableUtf(out, o.failureReason() == null ? null : o.failureReason().name());
      out.writeInt(o.exitCode());
      nullableString(out, o.message());
      value(out, o.result(), depth + 1);
      out.writeLong(o.terminalSeq());
      nullableUtf(out, o.abortedBy());
    } else if (v instanceof Record r && RECORDS.contains(r.getClass().getName())) {
      out.writeByte('J');
      out.writeUTF(r.getClass().getName());
      RecordComponent[] parts = r.getClass().getRecordComponents();
      out.writeInt(parts.length);
      for (RecordComponent c : parts) {
        try {
          value(out, c.getAccessor().invoke(r), depth + 1);
        } catch (ReflectiveOperationException e) {
          throw new Unsupported("cannot read " + c.getName() + " of " + typeName(v) + ": " + e);
        }
      }
    } else {
      throw new Unsupported("a value of type " + typeName(v) + " cannot cross nodes");
    }
  }

  /**
   * Records that cross nodes as their components and are rebuilt through their canonical
   * constructor: the JSON protocol's approval decision by default, and what hosts add with {@link
   * RedisEngineBuilder#crossNodeRecord}. Only these: a name read from Redis never picks an arbitrary
   * class to build. Process-wide, like the classes themselves.
   */
  static final Set<String> RECORDS =
      ConcurrentHashMap.newKeySet();

  static {
    RECORDS.add("dev.runlane.protocol.json.ApprovalDecision");
  }

  private static Object readRecord(DataInputStream in, int depth) throws IOException {
    String name = in.readUTF();
    int n = in.readInt();
    Object[] args = new Object[Math.max(0, n)];
    for (int i = 0; i < n; i++) {
      args[i] = readValue(in, depth + 1);
    }
    if (!RECORDS.contains(name)) {
      throw new IOException("record type " + name + " is not allowed to cross nodes");
    }
    try {
      Class<?> type = Class.forName(name, false, recordLoader());
      RecordComponent[] parts = type.getRecordComponents();
      if (parts == null || parts.length != n) {
        throw new IOException("record " + name + " has another shape on this node");
      }
      Class<?>[] types = new Class<?>[n];
      for (int i = 0; i < n; i++) {
        types[i] = parts[i].getType();
      }
      return type.getDeclaredConstructor(types).newInstance(args);
    } catch (ReflectiveOperationException | IllegalArgumentException e) {
      throw new IOException("cannot rebuild record " + name + ": " + e, e);
    }
  }

  private static ClassLoader recordLoader() {
    ClassLoader l = Thread.currentThread().getContextClassLoader();
    return l != null ? l : CommandCodec.class.getClassLoader();
  }

  private static String typeName(@Nullable Object o) {
    return o == null ? "null" : o.getClass().getName();
  }

  /** Strings of any length (writeUTF is limited to 64 KiB). */
  private static void string(DataOutputStream out, String s) throws IOException {
    byte[] b = RedisLink.bytes(s);
    out.writeInt(b.length);
    out.write(b);
  }

  private static String readString(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > in.available()) {
      throw new IOException("bad string length " + n);
    }
    byte[] b = new byte[n];
    in.readFully(b);
    return RedisLink.string(b);
  }

  private static void nullableUtf(DataOutputStream out, @Nullable String s) throws IOException {
    out.writeBoolean(s != null);
    if (s != null) {
      out.writeUTF(s);
    }
  }

  private static void nullableString(DataOutputStream out, @Nullable String s) throws IOException {
    out.writeBoolean(s != null);
    if (s != null) {
      string(out, s);
    }
  }

  private static @Nullable Object readValue(DataInputStream in, int depth) throws IOException {
    if (depth > MAX_DEPTH) {
      throw new IOException("value nested too deep");
    }
    int tag = in.readByte();
    switch (tag) {
      case 'N':
        return null;
      case 'T':
        return Boolean.TRUE;
      case 'F':
        return Boolean.FALSE;
      case 'i':
        return in.readInt();
      case 'l':
        return in.readLong();
      case 's':
        return in.readShort();
      case 'y':
        return in.readByte();
      case 'd':
        return in.readDouble();
      case 'f':
        return in.readFloat();
      case 'g':
        return new BigInteger(readString(in));
      case 'D':
        return new BigDecimal(readString(in));
      case 'S':
        return readString(in);
      case 'L':
        {
          int n = in.readInt();
          List<@Nullable Object> list = new ArrayList<>(Math.min(n, 1024));
          for (int i = 0; i < n; i++) {
            list.add(readValue(in, depth + 1));
          }
          return list;
        }
      case 'M':
        {
          int n = in.readInt();
          Map<String, @Nullable Object> map = new LinkedHashMap<>();
          for (int i = 0; i < n; i++) {
            map.put(readString(in), readValue(in, depth + 1));
          }
          return map;
        }
      case 'o':
        {
          String runId = in.readUTF();
          String sessionId = in.readUTF();
          String epoch = in.readUTF();
          String owner = in.readUTF();
          RunState state = RunState.valueOf(in.readUTF());
          String fr = in.readBoolean() ? in.readUTF() : null;
          int exitCode = in.readInt();
          String message = in.readBoolean() ? readString(in) : null;
          Object result = readValue(in, depth + 1);
          long terminalSeq = in.readLong();
          String abortedBy = in.readBoolean() ? in.readUTF() : null;
          return new RunOutcome(
              runId, sessionId, epoch, owner, state, fr == null ? null : FailureReason.valueOf(fr),
              exitCode, message, result, terminalSeq, abortedBy);
        }
      case 'J':
        return readRecord(in, depth);
      default:
        throw new IOException("unknown value tag " + tag);
    }
  }
}
