package dev.runlane.tck;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** One message written by {@link TckCodec}, parsed: its type and fields. */
final class TckMessage {
  final String type;
  private final Map<String, String> fields;

  private TckMessage(String type, Map<String, String> fields) {
    this.type = type;
    this.fields = fields;
  }

  static TckMessage parse(String text) {
    String[] parts = text.split(" ");
    Map<String, String> f = new LinkedHashMap<>();
    for (int i = 1; i < parts.length; i++) {
      int eq = parts[i].indexOf('=');
      if (eq > 0) {
        f.put(parts[i].substring(0, eq), URLDecoder.decode(parts[i].substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    return new TckMessage(parts[0], f);
  }

  @Nullable String get(String key) {
    return fields.get(key);
  }

  String require(String key) {
    String v = fields.get(key);
    if (v == null) {
      throw new IllegalStateException(type + " has no " + key + ": " + this);
    }
    return v;
  }

  long num(String key) {
    return Long.parseLong(require(key));
  }

  boolean is(String type, String key, String value) {
    return this.type.equals(type) && value.equals(fields.get(key));
  }

  /** Whether this is an event of {@code runId}. */
  boolean isEventOf(String runId) {
    return is("event", "run", runId);
  }

  boolean isTerminal() {
    String kind = fields.get("kind");
    return "event".equals(type)
        && ("run.completed".equals(kind) || "run.aborted".equals(kind) || "run.failed".equals(kind));
  }

  @Override
  public String toString() {
    String s = type + fields;
    return s.length() > 200 ? s.substring(0, 200) + "…" : s;
  }
}
