package dev.runlane.protocol.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.runlane.AttachMode;
import dev.runlane.ErrorCode;
import dev.runlane.codec.Inbound;
import dev.runlane.codec.ProtocolException;
import dev.runlane.transport.Payload;
import org.junit.jupiter.api.Test;

class JsonTakeoverTest {
  private final JsonWireCodec codec = new JsonWireCodec();

  private Inbound.Subscribe sub(String extra) throws ProtocolException {
    return (Inbound.Subscribe)
        codec.decode(
            Payload.text("{\"type\":\"chat.subscribe\"" + extra + ",\"sessions\":[{\"sessionId\":\"s\",\"lastSeq\":3}]}"));
  }

  @Test
  void takeoverIsOptionalAndDefaultsToAdditive() throws ProtocolException {
    assertEquals(AttachMode.ADDITIVE, sub("").mode());
    assertEquals(AttachMode.ADDITIVE, sub(",\"takeover\":false").mode());
    assertEquals(AttachMode.TAKEOVER, sub(",\"takeover\":true").mode());
  }

  @Test
  void aNonBooleanTakeoverIsInvalid() {
    ProtocolException e = assertThrows(ProtocolException.class, () -> sub(",\"takeover\":\"yes\""));
    assertEquals(ErrorCode.INVALID_PAYLOAD, e.code());
  }
}
