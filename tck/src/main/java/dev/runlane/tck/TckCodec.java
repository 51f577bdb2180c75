package dev.runlane.tck;

import dev.runlane.Approval;
import dev.runlane.ErrorCode;
import dev.runlane.Inbound;
import dev.runlane.Outbound;
import dev.runlane.ProtocolException;
import dev.runlane.RunOutcome;
import dev.runlane.SubscribeAck;
import dev.runlane.SubscribeTarget;
import dev.runlane.WireCodec;
import dev.runlane.transport.Payload;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The kit's own line-based wire format, so that the kit needs no JSON library: {@code type
 * key=value …} with URL-encoded values, parsed back by {@link TckMessage}. Inbound commands:
 *
 * <pre>
 * start SESSION [INPUT]
 * abort SESSION [RUN]
 * sub SESSION LASTSEQ [EPOCH|-] [RUN]
 * unsub SESSION
 * ping
 * </pre>
 */
final class TckCodec implements WireCodec {

  @Override
  public Payload encode(Outbound m) {
    Map<String, @Nullable Object> f = new LinkedHashMap<>();
    String type;
    if (m instanceof Outbound.RunEvent) {
      Outbound.RunEvent e = (Outbound.RunEvent) m;
      type = "event";
      f.put("run", e.runId());
      f.put("session", e.sessionId());
      f.put("epoch", e.epoch());
      f.put("seq", e.seq());
      f.put("kind", e.kind());
      Object data = e.data();
      if (data instanceof RunOutcome) {
        f.put("state", ((RunOutcome) data).state());
      } else {
        f.put("data", data);
      }
    } else if (m instanceof Outbound.RunStatus) {
      Outbound.RunStatus s = (Outbound.RunStatus) m;
      type = "status";
      f.put("run", s.runId());
      f.put("session", s.sessionId());
      f.put("key", s.key());
      f.put("data", s.data());
    } else if (m instanceof Outbound.Subscribed) {
      SubscribeAck a = ((Outbound.Subscribed) m).ack();
      type = "subscribed";
      f.put("session", a.sessionId());
      f.put("run", a.runId());
      f.put("epoch", a.epoch());
      f.put("status", a.status());
      f.put("processing", a.processing());
      f.put("head", a.headSeq());
      f.put("from", a.replayFrom());
      f.put("to", a.replayTo());
      f.put("truncated", a.truncated());
    } else if (m instanceof Outbound.ProtocolError) {
      Outbound.ProtocolError e = (Outbound.ProtocolError) m;
      type = "error";
      f.put("code", e.code());
      f.put("message", e.message());
      f.put("session", e.sessionId());
    } else if (m instanceof Outbound.Notice) {
      Outbound.Notice n = (Outbound.Notice) m;
      type = "notice";
      f.put("session", n.sessionId());
      f.put("kind", n.kind());
      f.put("data", n.data());
    } else if (m instanceof Outbound.ApprovalRequested) {
      Approval a = ((Outbound.ApprovalRequested) m).approval();
      type = "approval";
      f.put("id", a.approvalId());
      f.put("run", a.runId());
      f.put("session", a.sessionId());
    } else if (m instanceof Outbound.ApprovalResolved) {
      Outbound.ApprovalResolved r = (Outbound.ApprovalResolved) m;
      type = "approval_resolved";
      f.put("id", r.approval().approvalId());
      f.put("run", r.approval().runId());
      f.put("session", r.approval().sessionId());
      f.put("resolution", r.resolution());
    } else if (m instanceof Outbound.Heartbeat) {
      type = "heartbeat";
    } else if (m instanceof Outbound.Welcome) {
      Outbound.Welcome w = (Outbound.Welcome) m;
      type = "welcome";
      f.put("connection", w.connectionId());
      f.put("generation", w.generation());
      f.put("stream", w.streamTransport());
    } else if (m instanceof Outbound.StreamPaired) {
      Outbound.StreamPaired p = (Outbound.StreamPaired) m;
      type = "stream_paired";
      f.put("connection", p.connectionId());
      f.put("generation", p.generation());
    } else {
      throw new IllegalArgumentException("unknown outbound message " + m.getClass());
    }
    StringBuilder sb = new StringBuilder(type);
    for (Map.Entry<String, @Nullable Object> e : f.entrySet()) {
      Object v = e.getValue();
      if (v != null) {
        sb.append(' ').append(e.getKey()).append('=').append(URLEncoder.encode(String.valueOf(v), StandardCharsets.UTF_8));
      }
    }
    return Payload.text(sb.toString());
  }

  @Override
  public Inbound decode(Payload frame) throws ProtocolException {
    if (!(frame instanceof Payload.Text)) {
      throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, "text frames only");
    }
    String[] w = ((Payload.Text) frame).text().trim().split(" +");
    switch (w[0]) {
      case "ping":
        return new Inbound.Ping(null);
      case "start":
        need(w, 2);
        return new Inbound.StartRun(w[1], w.length > 2 ? w[2] : null, null);
      case "abort":
        need(w, 2);
        return new Inbound.AbortRun(w[1], w.length > 2 ? w[2] : null, null);
      case "unsub":
        need(w, 2);
        return new Inbound.Unsubscribe(w[1], null);
      case "sub":
        need(w, 3);
        long lastSeq;
        try {
          lastSeq = Long.parseLong(w[2]);
        } catch (NumberFormatException e) {
          throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, "lastSeq must be a number");
        }
        if (lastSeq < 0) {
          throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, "lastSeq must be >= 0");
        }
        String epoch = w.length > 3 && !"-".equals(w[3]) ? w[3] : null;
        String run = w.length > 4 ? w[4] : null;
        List<SubscribeTarget> targets = new ArrayList<>();
        targets.add(new SubscribeTarget(w[1], run, lastSeq, epoch));
        return new Inbound.Subscribe(targets, null);
      default:
        throw new ProtocolException(ErrorCode.UNKNOWN_MESSAGE_TYPE, "unknown command " + w[0]);
    }
  }

  private static void need(String[] w, int n) throws ProtocolException {
    if (w.length < n) {
      throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, w[0] + " needs " + (n - 1) + " argument(s)");
    }
  }
}
