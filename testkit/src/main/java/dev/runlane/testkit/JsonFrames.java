package dev.runlane.testkit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Reads a frame of protocol-json's codec into a {@link WireMessage} with {@link TextCodec}'s
 * vocabulary ({@code event}, {@code run}, {@code seq}, {@code kind} …), so the testkit's assertions
 * work with either codec; protocol 2's compact run event, a JSON array, becomes {@code cevent} with
 * {@code run}, {@code seq}, {@code kind} and {@code data}, as TextCodec's protocol-2 form. A small JSON reader of its own: the testkit does not depend on Jackson.
 *
 * <p><b>Thread safety:</b> stateless.
 */
final class JsonFrames {
  private JsonFrames() {}

  private static final Map<String, String> TYPES =
      Map.of(
          "run_event", "event",
          "protocol_error", "error",
          "approval_requested", "approval");

  private static final Map<String, String> NAMES =
      Map.ofEntries(
          Map.entry("runId", "run"),
          Map.entry("sessionId", "session"),
          Map.entry("type", "kind"),
          Map.entry("headSeq", "head"),
          Map.entry("oldestSeq", "oldest"),
          Map.entry("replayFrom", "from"),
          Map.entry("replayTo", "to"),
          Map.entry("approvalId", "id"),
          Map.entry("connectionId", "connection"),
          Map.entry("serverEpoch", "server"),
          Map.entry("streamTransport", "stream"));

  static WireMessage parse(String json) {
    Object v = new Reader(json).document();
    if (v instanceof List<?> a && a.size() >= 3) {
      // protocol 2's compact run event [runId, seq, type, data]: TextCodec's protocol-2 name, cevent
      Map<String, String> fields = new LinkedHashMap<>();
      put(fields, "run", a.get(0));
      put(fields, "seq", a.get(1));
      put(fields, "kind", a.get(2));
      put(fields, "data", a.size() > 3 ? a.get(3) : null);
      return new WireMessage("cevent", fields);
    }
    if (!(v instanceof Map)) {
      throw new IllegalArgumentException("not a JSON object: " + json);
    }
    @SuppressWarnings("unchecked")
    Map<String, @Nullable Object> obj = (Map<String, @Nullable Object>) v;
    if (!(obj.get("kind") instanceof String kind)) {
      throw new IllegalArgumentException("a frame without a kind: " + json);
    }
    String type = TYPES.getOrDefault(kind, kind);
    Map<String, String> fields = new LinkedHashMap<>();
    for (Map.Entry<String, @Nullable Object> e : obj.entrySet()) {
      String name = e.getKey();
      Object value = e.getValue();
      if (name.equals("kind") || value == null) {
        continue;
      }
      if (name.equals("data") && type.equals("event") && value instanceof Map && ((Map<?, ?>) value).containsKey("terminalSeq")) {
        Map<?, ?> o = (Map<?, ?>) value;
        put(fields, "state", o.get("state"));
        put(fields, "reason", o.get("failureReason"));
        put(fields, "exit", o.get("exitCode"));
        put(fields, "message", o.get("message"));
        put(fields, "result", o.get("result"));
        put(fields, "abortedBy", o.get("abortedBy"));
        continue;
      }
      put(fields, NAMES.getOrDefault(name, name), value);
    }
    return new WireMessage(type, fields);
  }

  private static void put(Map<String, String> fields, String name, @Nullable Object value) {
    if (value != null) {
      fields.put(name, text(value));
    }
  }

  /** Scalars as their text (numbers without a fraction as integers); objects and arrays as JSON. */
  private static String text(Object v) {
    if (v instanceof Double d && d == Math.rint(d) && !Double.isInfinite(d)) {
      return Long.toString(d.longValue());
    }
    if (v instanceof Map || v instanceof List) {
      StringBuilder sb = new StringBuilder();
      write(v, sb);
      return sb.toString();
    }
    return String.valueOf(v);
  }

  private static void write(@Nullable Object v, StringBuilder sb) {
    if (v instanceof Map) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        sb.append(first ? "" : ",").append('"').append(e.getKey()).append("\":");
        write(e.getValue(), sb);
        first = false;
      }
      sb.append('}');
    } else if (v instanceof List) {
      sb.append('[');
      boolean first = true;
      for (Object o : (List<?>) v) {
        sb.append(first ? "" : ",");
        write(o, sb);
        first = false;
      }
      sb.append(']');
    } else if (v instanceof String str) {
      sb.append('"').append(str.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
    } else {
      sb.append(v == null ? "null" : text(v));
    }
  }

  private static final class Reader {
    private final String s;
    private int i;

    Reader(String s) {
      this.s = s;
    }

    @Nullable Object document() {
      Object v = value();
      ws();
      if (i != s.length()) {
        throw error("trailing text");
      }
      return v;
    }

    private @Nullable Object value() {
      ws();
      if (i >= s.length()) {
        throw error("unexpected end");
      }
      char c = s.charAt(i);
      return switch (c) {
        case '{' -> object();
        case '[' -> array();
        case '"' -> string();
        case 't' -> literal("true", true);
        case 'f' -> literal("false", false);
        case 'n' -> literal("null", null);
        default -> number();
      };
    }

    private Map<String, @Nullable Object> object() {
      Map<String, @Nullable Object> m = new LinkedHashMap<>();
      i++;
      ws();
      if (peek() == '}') {
        i++;
        return m;
      }
      while (true) {
        ws();
        String key = string();
        ws();
        expect(':');
        m.put(key, value());
        ws();
        if (peek() == ',') {
          i++;
        } else {
          expect('}');
          return m;
        }
      }
    }

    private List<@Nullable Object> array() {
      List<@Nullable Object> l = new ArrayList<>();
      i++;
      ws();
      if (peek() == ']') {
        i++;
        return l;
      }
      while (true) {
        l.add(value());
        ws();
        if (peek() == ',') {
          i++;
        } else {
          expect(']');
          return l;
        }
      }
    }

    private String string() {
      expect('"');
      StringBuilder sb = new StringBuilder();
      while (true) {
        if (i >= s.length()) {
          throw error("unterminated string");
        }
        char c = s.charAt(i++);
        if (c == '"') {
          return sb.toString();
        }
        if (c != '\\') {
          sb.append(c);
          continue;
        }
        char e = s.charAt(i++);
        switch (e) {
          case 'n' -> sb.append('\n');
          case 't' -> sb.append('\t');
          case 'r' -> sb.append('\r');
          case 'b' -> sb.append('\b');
          case 'f' -> sb.append('\f');
          case 'u' -> {
            sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
            i += 4;
          }
          default -> sb.append(e);
        }
      }
    }

    private Object number() {
      int start = i;
      while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
        i++;
      }
      if (start == i) {
        throw error("unexpected character");
      }
      String n = s.substring(start, i);
      if (n.indexOf('.') < 0 && n.indexOf('e') < 0 && n.indexOf('E') < 0) {
        return Long.parseLong(n);
      }
      return Double.parseDouble(n);
    }

    private @Nullable Object literal(String word, @Nullable Object value) {
      if (!s.startsWith(word, i)) {
        throw error("expected " + word);
      }
      i += word.length();
      return value;
    }

    private char peek() {
      return i < s.length() ? s.charAt(i) : '\0';
    }

    private void expect(char c) {
      if (peek() != c) {
        throw error("expected '" + c + "'");
      }
      i++;
    }

    private void ws() {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
        i++;
      }
    }

    private IllegalArgumentException error(String what) {
      return new IllegalArgumentException(what + " at " + i + " in " + s);
    }
  }
}
