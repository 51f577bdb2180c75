package dev.runlane.protocol.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import dev.runlane.transport.Payload;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;

/**
 * Protocol 2's compact run event, derived from the protocol-1 bytes without a tree: {@code [runId,
 * seq, type, data]} for a host event (a {@code type} that does not start with {@code run.}); null
 * (send the full object) for everything else. {@link OutboundSerializer} writes {@code data} last,
 * so its bytes are copied as one slice, found by a streaming parse.
 *
 * <p><b>Thread safety:</b> stateless; safe for concurrent use.
 */
final class CompactEvents {
  private static final JsonFactory JSON = new JsonFactory();

  private CompactEvents() {}

  /** The compact form of a protocol-1 {@code run_event} frame, or null to keep it as it is. */
  static @Nullable Payload reshape(Payload encoded, long seq) throws IOException {
    if (!(encoded instanceof Payload.Text)) {
      return null;
    }
    ByteBuffer view = ((Payload.Text) encoded).utf8();
    byte[] in = new byte[view.remaining()];
    view.get(in);
    String runId = null;
    String type = null;
    int dataStart = -1;
    int dataEnd = -1;
    try (JsonParser p = JSON.createParser(in)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        switch (name) {
          case "kind":
            if (v != JsonToken.VALUE_STRING || !JsonWireCodec.KIND_RUN_EVENT.equals(p.getText())) {
              return null;
            }
            break;
          case "runId":
            if (v != JsonToken.VALUE_STRING) {
              return null;
            }
            runId = p.getText();
            break;
          case "type":
            if (v != JsonToken.VALUE_STRING || p.getText().startsWith("run.")) {
              return null; // run.started and the terminal events stay full: they map the run
            }
            type = p.getText();
            break;
          case "data":
            dataStart = (int) p.currentTokenLocation().getByteOffset();
            p.skipChildren();
            if (p.nextToken() != JsonToken.END_OBJECT) {
              return null; // data is not the last field: not the serializer's layout
            }
            dataEnd = (int) p.currentTokenLocation().getByteOffset();
            if (p.nextToken() != null) {
              return null;
            }
            break;
          default:
            p.skipChildren();
        }
        if (dataEnd >= 0) {
          break;
        }
      }
    }
    if (runId == null || type == null || dataStart < 0 || dataEnd <= dataStart) {
      return null;
    }
    while (dataEnd > dataStart && isSpace(in[dataEnd - 1])) {
      dataEnd--; // a pretty-printing payload mapper's whitespace before the closing brace
    }
    JsonStringEncoder enc = JsonStringEncoder.getInstance();
    byte[] run = enc.quoteAsUTF8(runId);
    byte[] typ = enc.quoteAsUTF8(type);
    byte[] num = Long.toString(seq).getBytes(StandardCharsets.US_ASCII);
    int dataLen = dataEnd - dataStart;
    byte[] out = new byte[1 + 1 + run.length + 1 + 1 + num.length + 1 + 1 + typ.length + 1 + 1 + dataLen + 1];
    int i = 0;
    out[i++] = '[';
    out[i++] = '"';
    System.arraycopy(run, 0, out, i, run.length);
    i += run.length;
    out[i++] = '"';
    out[i++] = ',';
    System.arraycopy(num, 0, out, i, num.length);
    i += num.length;
    out[i++] = ',';
    out[i++] = '"';
    System.arraycopy(typ, 0, out, i, typ.length);
    i += typ.length;
    out[i++] = '"';
    out[i++] = ',';
    System.arraycopy(in, dataStart, out, i, dataLen);
    i += dataLen;
    out[i++] = ']';
    return Payload.utf8Text(out);
  }

  private static boolean isSpace(byte b) {
    return b == ' ' || b == '\n' || b == '\r' || b == '\t';
  }
}
