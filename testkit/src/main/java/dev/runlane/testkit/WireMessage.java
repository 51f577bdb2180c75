package dev.runlane.testkit;

import dev.runlane.transport.Payload;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One frame as written by {@link TextCodec}, parsed back: a type ({@code event}, {@code
 * subscribed}, {@code error}, …) and named fields. A JSON frame of protocol-json's codec reads into
 * the same vocabulary ({@link #fromJson}), so assertions work with either codec.
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

  /**
   * A frame's payload read back: JSON (protocol-json's codec) if it is a JSON object, or a JSON
   * array (protocol 2's compact run event, read as {@code cevent}), else {@link TextCodec}'s format.
   */
  public static WireMessage of(Payload payload) {
    String text =
        payload instanceof Payload.Text
            ? ((Payload.Text) payload).text()
            : new String(((Payload.Binary) payload).toByteArray(), StandardCharsets.UTF_8);
    return text.startsWith("{") || text.startsWith("[") ? fromJson(text) : TextCodec.parse(payload);
  }

  /**
   * Every message one frame carries: one, or for a text frame that joins several (protocol 3 of
   * protocol-json's codec or of {@link TextCodec}, see {@code Capability.JOINED_MESSAGES}) each of
   * its lines, in order.
   */
  public static java.util.List<WireMessage> allOf(Payload payload) {
    if (payload instanceof Payload.Text) {
      String text = ((Payload.Text) payload).text();
      if (text.indexOf('\n') >= 0) { // neither codec writes a raw line feed inside a message
        java.util.List<WireMessage> out = new java.util.ArrayList<>();
        for (String line : text.split("\n", -1)) {
          out.add(of(Payload.text(line)));
        }
        return out;
      }
    }
    return java.util.List.of(of(payload));
  }

  /**
   * Reads a JSON frame of protocol-json's codec with TextCodec's names: {@code run_event} becomes
   * {@code event}, {@code runId} {@code run}, the event's {@code type} its {@code kind}, a terminal
   * event's outcome its {@code state}, {@code reason}, {@code exit}, {@code message}, {@code result}
   * and {@code abortedBy}; other fields keep their names, null fields are left out, nested values
   * stay JSON text.
   *
   * @throws IllegalArgumentException if {@code json} is neither a JSON object with a {@code kind}
   *     nor a compact run event
   */
  public static WireMessage fromJson(String json) {
    return JsonFrames.parse(json);
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
