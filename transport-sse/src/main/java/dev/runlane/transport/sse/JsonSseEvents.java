package dev.runlane.transport.sse;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.runlane.protocol.json.JsonWireCodec;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.Payload;
import java.io.IOException;
import java.io.StringWriter;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;

/**
 * {@link SseEvents} for {@code runlane-protocol-json}: every {@code run_event} gets the id {@code
 * <sessionId> <epoch> <seq>} (each part URL-encoded), and a {@code Last-Event-ID} of that form
 * becomes {@code {"type":"chat.subscribe","sessions":[{"sessionId":…,"lastSeq":seq,"epoch":…}]}},
 * so the browser's own reconnect resumes that session exactly where it stopped.
 *
 * <p>The id is read from the encoded frame with a streaming parser that stops at the {@code epoch}
 * field (the protocol writes {@code kind}, {@code runId}, {@code sessionId}, {@code seq}, {@code
 * epoch} first), so the event's data is never parsed.
 *
 * <p><b>Thread safety:</b> stateless apart from Jackson's thread-safe factory; safe for concurrent
 * use.
 */
public final class JsonSseEvents implements SseEvents {

  private static final JsonFactory JSON = new JsonFactory();

  @Override
  public @Nullable String eventId(Frame frame) {
    if (frame.lane() != Lane.STREAM || !(frame.payload() instanceof Payload.Text)) {
      return null;
    }
    String text = ((Payload.Text) frame.payload()).text();
    String kind = null;
    String session = null;
    String epoch = null;
    long seq = -1;
    try (JsonParser p = JSON.createParser(text)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        if ("kind".equals(name)) {
          kind = p.getValueAsString();
          if (!JsonWireCodec.KIND_RUN_EVENT.equals(kind)) {
            return null;
          }
        } else if ("sessionId".equals(name)) {
          session = p.getValueAsString();
        } else if ("epoch".equals(name)) {
          epoch = p.getValueAsString();
        } else if ("seq".equals(name) && value == JsonToken.VALUE_NUMBER_INT) {
          seq = p.getLongValue();
        } else {
          p.skipChildren();
        }
        if (kind != null && session != null && epoch != null && seq >= 0) {
          return id(session, epoch, seq);
        }
      }
    } catch (IOException e) {
      return null; // not JSON: no id
    }
    return null;
  }

  @Override
  public @Nullable Payload resumeCommand(String lastEventId) {
    String[] parts = lastEventId.trim().split(" ");
    if (parts.length != 3) {
      return null;
    }
    long seq;
    try {
      seq = Long.parseLong(parts[2]);
    } catch (NumberFormatException e) {
      return null;
    }
    if (seq < 0) {
      return null;
    }
    String session = URLDecoder.decode(parts[0], StandardCharsets.UTF_8);
    String epoch = URLDecoder.decode(parts[1], StandardCharsets.UTF_8);
    StringWriter out = new StringWriter();
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("type", JsonWireCodec.TYPE_SUBSCRIBE);
      g.writeArrayFieldStart("sessions");
      g.writeStartObject();
      g.writeStringField("sessionId", session);
      g.writeNumberField("lastSeq", seq);
      g.writeStringField("epoch", epoch);
      g.writeEndObject();
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      return null; // cannot happen with a StringWriter
    }
    return Payload.text(out.toString());
  }

  /** The event id of seq {@code seq} of {@code epoch} in {@code session}. */
  static String id(String session, String epoch, long seq) {
    return URLEncoder.encode(session, StandardCharsets.UTF_8) + ' ' + URLEncoder.encode(epoch, StandardCharsets.UTF_8) + ' ' + seq;
  }
}
