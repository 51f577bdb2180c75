package dev.runlane.testkit;

import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One frame as written by {@link TextCodec}, parsed back: a type ({@code event}, {@code
 * subscribed}, {@code error}, …) and named fields.
 *
 * <p><b>Thread safety:</b> immutable.
 *
 * @param type the message type
 * @param fields the fields, by name
 */
public record WireMessage(String type, Map<String, String> fields) {
  public WireMessage {
    Objects.requireNonNull(type, "type");
    fields = Map.copyOf(fields);
  }

  /** A field, or null. */
  public @Nullable String get(String name) {
    return fields.get(name);
  }

  /** A field that must be present. */
  public String require(String name) {
    String v = fields.get(name);
    if (v == null) {
      throw new IllegalStateException(type + " has no field " + name + ": " + fields);
    }
    return v;
  }

  /** A numeric field. */
  public long num(String name) {
    return Long.parseLong(require(name));
  }

  /** Whether this is a sequenced run event. */
  public boolean isEvent() {
    return "event".equals(type);
  }

  /** Whether this is a run event of {@code runId}. */
  public boolean isEventOf(String runId) {
    return isEvent() && runId.equals(get("run"));
  }

  /** Whether this message has {@code type} and its field {@code key} equals {@code value}. */
  public boolean is(String type, String key, String value) {
    return this.type.equals(type) && value.equals(fields.get(key));
  }

  /** Whether this is a run's terminal event ({@code run.completed}, {@code run.aborted}, {@code run.failed}). */
  public boolean isTerminal() {
    String kind = fields.get("kind");
    return isEvent()
        && ("run.completed".equals(kind) || "run.aborted".equals(kind) || "run.failed".equals(kind));
  }
}
