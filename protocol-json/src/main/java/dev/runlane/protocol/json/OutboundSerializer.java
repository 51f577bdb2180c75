package dev.runlane.protocol.json;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import dev.runlane.Approval;
import dev.runlane.codec.Outbound;
import dev.runlane.RunOutcome;
import dev.runlane.codec.SubscribeAck;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * Writes every {@link Outbound} as one JSON object with a {@code kind} field, straight to the
 * generator (no intermediate tree or map). Host payload objects ({@code data}, approval payloads,
 * results) go through the mapper's own serializers.
 */
final class OutboundSerializer extends StdSerializer<Outbound> {
  private static final long serialVersionUID = 1L;

  OutboundSerializer() {
    super(Outbound.class);
  }

  @Override
  public void serialize(Outbound m, JsonGenerator g, SerializerProvider p) throws IOException {
    g.writeStartObject();
    if (m instanceof Outbound.RunEvent) {
      Outbound.RunEvent e = (Outbound.RunEvent) m;
      g.writeStringField("kind", JsonWireCodec.KIND_RUN_EVENT);
      g.writeStringField("runId", e.runId());
      g.writeStringField("sessionId", e.sessionId());
      g.writeNumberField("seq", e.seq());
      g.writeStringField("epoch", e.epoch());
      g.writeStringField("type", e.kind());
      g.writeFieldName("data");
      Object data = e.data();
      if (data instanceof RunOutcome) {
        writeOutcome((RunOutcome) data, g, p);
      } else {
        value(data, g, p);
      }
    } else if (m instanceof Outbound.RunStatus) {
      Outbound.RunStatus s = (Outbound.RunStatus) m;
      g.writeStringField("kind", JsonWireCodec.KIND_STATUS);
      g.writeStringField("runId", s.runId());
      g.writeStringField("sessionId", s.sessionId());
      g.writeStringField("key", s.key());
      g.writeFieldName("data");
      value(s.data(), g, p);
    } else if (m instanceof Outbound.Subscribed) {
      Outbound.Subscribed s = (Outbound.Subscribed) m;
      SubscribeAck a = s.ack();
      g.writeStringField("kind", JsonWireCodec.KIND_SUBSCRIBED);
      string(g, "ref", s.ref());
      g.writeStringField("sessionId", a.sessionId());
      string(g, "runId", a.runId());
      string(g, "epoch", a.epoch());
      g.writeStringField("status", a.status().name());
      g.writeBooleanField("processing", a.processing());
      g.writeNumberField("headSeq", a.headSeq());
      g.writeNumberField("oldestSeq", a.oldestSeq());
      g.writeNumberField("replayFrom", a.replayFrom());
      g.writeNumberField("replayTo", a.replayTo());
      g.writeBooleanField("truncated", a.truncated());
      g.writeBooleanField("following", a.following());
      g.writeNumberField("requestedLastSeq", a.requestedLastSeq());
      g.writeArrayFieldStart("pendingApprovals");
      for (Approval ap : a.pendingApprovals()) {
        g.writeStartObject();
        writeApprovalFields(ap, g, p);
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeFieldName("outcome");
      RunOutcome o = a.outcome();
      if (o == null) {
        g.writeNull();
      } else {
        writeOutcome(o, g, p);
      }
    } else if (m instanceof Outbound.ProtocolError) {
      Outbound.ProtocolError e = (Outbound.ProtocolError) m;
      g.writeStringField("kind", JsonWireCodec.KIND_PROTOCOL_ERROR);
      g.writeStringField("code", e.code().name());
      g.writeStringField("message", e.message());
      string(g, "sessionId", e.sessionId());
      string(g, "ref", e.ref());
    } else if (m instanceof Outbound.Notice) {
      Outbound.Notice n = (Outbound.Notice) m;
      g.writeStringField("kind", JsonWireCodec.KIND_NOTICE);
      string(g, "sessionId", n.sessionId());
      g.writeStringField("type", n.kind());
      g.writeFieldName("data");
      value(n.data(), g, p);
    } else if (m instanceof Outbound.ApprovalRequested) {
      g.writeStringField("kind", JsonWireCodec.KIND_APPROVAL_REQUESTED);
      writeApprovalFields(((Outbound.ApprovalRequested) m).approval(), g, p);
    } else if (m instanceof Outbound.ApprovalResolved) {
      Outbound.ApprovalResolved r = (Outbound.ApprovalResolved) m;
      Approval a = r.approval();
      g.writeStringField("kind", JsonWireCodec.KIND_APPROVAL_RESOLVED);
      g.writeStringField("approvalId", a.approvalId());
      g.writeStringField("runId", a.runId());
      g.writeStringField("sessionId", a.sessionId());
      g.writeStringField("resolution", r.resolution().name());
      g.writeFieldName("decision");
      Object d = r.decision();
      if (d instanceof ApprovalDecision) {
        ApprovalDecision ad = (ApprovalDecision) d;
        g.writeStartObject();
        g.writeBooleanField("allow", ad.allow());
        string(g, "message", ad.message());
        g.writeEndObject();
      } else {
        value(d, g, p);
      }
      string(g, "by", r.by());
    } else if (m instanceof Outbound.Heartbeat) {
      g.writeStringField("kind", JsonWireCodec.KIND_HEARTBEAT);
      g.writeNumberField("ts", ((Outbound.Heartbeat) m).epochMillis());
    } else if (m instanceof Outbound.Welcome) {
      Outbound.Welcome w = (Outbound.Welcome) m;
      g.writeStringField("kind", JsonWireCodec.KIND_WELCOME);
      g.writeStringField("connectionId", w.connectionId());
      g.writeNumberField("generation", w.generation());
      g.writeStringField("serverEpoch", w.serverEpoch());
      g.writeBooleanField("streamTransport", w.streamTransport());
    } else if (m instanceof Outbound.StreamPaired) {
      Outbound.StreamPaired s = (Outbound.StreamPaired) m;
      g.writeStringField("kind", JsonWireCodec.KIND_STREAM_PAIRED);
      g.writeStringField("connectionId", s.connectionId());
      g.writeNumberField("generation", s.generation());
    } else if (m instanceof Outbound.Hello) {
      Outbound.Hello h = (Outbound.Hello) m;
      g.writeStringField("kind", JsonWireCodec.KIND_HELLO);
      g.writeNumberField("protocol", h.protocol());
      string(g, "ref", h.ref());
    } else {
      // Outbound is sealed; a new permitted type must be added above (and to protocol.md).
      throw new IllegalArgumentException("unknown outbound message " + m.getClass().getName());
    }
    g.writeEndObject();
  }

  private static void writeApprovalFields(Approval a, JsonGenerator g, SerializerProvider p)
      throws IOException {
    g.writeStringField("approvalId", a.approvalId());
    g.writeStringField("runId", a.runId());
    g.writeStringField("sessionId", a.sessionId());
    g.writeFieldName("payload");
    value(a.payload(), g, p);
    g.writeFieldName("expiresAt");
    if (a.expiresAtEpochMillis() == 0) {
      g.writeNull();
    } else {
      g.writeNumber(a.expiresAtEpochMillis());
    }
  }

  private static void writeOutcome(RunOutcome o, JsonGenerator g, SerializerProvider p)
      throws IOException {
    g.writeStartObject();
    g.writeStringField("runId", o.runId());
    g.writeStringField("sessionId", o.sessionId());
    g.writeStringField("epoch", o.epoch());
    g.writeStringField("owner", o.owner());
    g.writeStringField("state", o.state().name());
    string(g, "failureReason", o.failureReason() == null ? null : o.failureReason().name());
    g.writeNumberField("exitCode", o.exitCode());
    string(g, "message", o.message());
    g.writeFieldName("result");
    value(o.result(), g, p);
    g.writeNumberField("terminalSeq", o.terminalSeq());
    string(g, "abortedBy", o.abortedBy());
    g.writeEndObject();
  }

  private static void string(JsonGenerator g, String name, @Nullable String value)
      throws IOException {
    if (value == null) {
      g.writeNullField(name);
    } else {
      g.writeStringField(name, value);
    }
  }

  private static void value(@Nullable Object v, JsonGenerator g, SerializerProvider p)
      throws IOException {
    if (v == null) {
      g.writeNull();
    } else if (v instanceof String) {
      g.writeString((String) v);
    } else {
      p.defaultSerializeValue(v, g);
    }
  }
}
