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
import java.util.concurrent.ConcurrentHashMap;
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
 * <p>Protocol 2's compact events ({@code [runId, seq, type, data]}) carry neither the session nor
 * the epoch. Every full run event and every subscribe ack ({@code subscribed}) that passes through
 * here records its run's session and epoch, and a compact event of that run gets the same id as its
 * full form would. A client only ever gets a run's compact events after that run's ack or {@code
 * run.started}, so the run is known; the record is bounded ({@value #MAX_RUNS} runs, then it starts
 * over), and a compact event of a run it has forgotten gets no id (the browser then resumes from the
 * last event that had one: more replay, nothing lost).
 *
 * <p><b>Thread safety:</b> safe for concurrent use (a concurrent map of runs, Jackson's thread-safe
 * factory).
 */
public final class JsonSseEvents implements SseEvents {

  private static final JsonFactory JSON = new JsonFactory();
  /** Runs whose session and epoch are remembered at most; past it the record starts over. */
  static final int MAX_RUNS = 16_384;

  /** Run id → the id prefix of its events ({@code <session> <epoch> }, encoded), for compact events. */
  private final ConcurrentHashMap<String, String> runs = new ConcurrentHashMap<>();

  @Override
  public @Nullable String eventId(Frame frame) {
    if (!(frame.payload() instanceof Payload.Text)) {
      return null;
    }
    String text = ((Payload.Text) frame.payload()).text();
    if (frame.lane() != Lane.STREAM) {
      rememberAck(text);
      return null;
    }
    if (text.startsWith("[")) {
      return compactId(text);
    }
    String kind = null;
    String runId = null;
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
        } else if ("runId".equals(name)) {
          runId = p.getValueAsString();
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
          if (runId != null) {
            remember(runId, session, epoch);
          }
          return id(session, epoch, seq);
        }
      }
    } catch (IOException e) {
      return null; // not JSON: no id
    }
    return null;
  }

  /** A compact event's id, if its run's session and epoch were seen; else null. */
  private @Nullable String compactId(String text) {
    try (JsonParser p = JSON.createParser(text)) {
      if (p.nextToken() != JsonToken.START_ARRAY || p.nextToken() != JsonToken.VALUE_STRING) {
        return null;
      }
      String runId = p.getText();
      if (p.nextToken() != JsonToken.VALUE_NUMBER_INT) {
        return null;
      }
      long seq = p.getLongValue();
      String prefix = runs.get(runId);
      return prefix == null || seq < 0 ? null : prefix + seq;
    } catch (IOException e) {
      return null;
    }
  }

  /** Records the run of a subscribe ack ({@code subscribed} with a run id and epoch). */
  private void rememberAck(String text) {
    if (!text.startsWith("{\"kind\":\"" + JsonWireCodec.KIND_SUBSCRIBED + "\"")) {
      return; // the serializer writes kind first; nothing else on the control lane names a run
    }
    String runId = null;
    String session = null;
    String epoch = null;
    try (JsonParser p = JSON.createParser(text)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return;
      }
      while (p.nextToken() == JsonToken.FIELD_NAME && (runId == null || session == null || epoch == null)) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        if (value == JsonToken.VALUE_STRING && "runId".equals(name)) {
          runId = p.getText();
        } else if (value == JsonToken.VALUE_STRING && "sessionId".equals(name)) {
          session = p.getText();
        } else if (value == JsonToken.VALUE_STRING && "epoch".equals(name)) {
          epoch = p.getText();
        } else {
          p.skipChildren();
        }
      }
    } catch (IOException e) {
      return;
    }
    if (runId != null && session != null && epoch != null) {
      remember(runId, session, epoch);
    }
  }

  private void remember(String runId, String session, String epoch) {
    if (runs.containsKey(runId)) {
      return;
    }
    if (runs.size() >= MAX_RUNS) {
      runs.clear(); // bounded; the runs still streaming are recorded again by their next ack or full event
    }
    runs.put(runId, URLEncoder.encode(session, StandardCharsets.UTF_8) + ' ' + URLEncoder.encode(epoch, StandardCharsets.UTF_8) + ' ');
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
