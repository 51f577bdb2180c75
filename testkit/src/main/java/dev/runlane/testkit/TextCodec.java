package dev.runlane.testkit;

import dev.runlane.Approval;
import dev.runlane.AttachMode;
import dev.runlane.ErrorCode;
import dev.runlane.codec.Inbound;
import dev.runlane.codec.Outbound;
import dev.runlane.codec.ProtocolException;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.SubscribeTarget;
import dev.runlane.codec.WireCodec;
import dev.runlane.engine.FrameMeta;
import dev.runlane.transport.Payload;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A tiny human-readable {@link WireCodec} for tests: {@code type key=value key=value …} with
 * URL-encoded values. Outbound payload objects are written with {@code String.valueOf}.
 *
 * <p>Inbound commands (space-separated, values URL-encoded where they may hold spaces):
 *
 * <pre>
 * start SESSION [INPUT]
 * abort SESSION [RUN]
 * sub SESSION LASTSEQ [EPOCH|-] [RUN]      (several targets: separate with " ; ")
 * subx …                                   (the same, with takeover)
 * unsub SESSION
 * resolve APPROVAL [DECISION]
 * ping
 * hello PROTOCOL                           (answered "hello protocol=N")
 * </pre>
 *
 * <p>Protocol 2 (a trivial compact form, so tests can see which form a connection got): a host
 * event ({@code kind} not starting with {@code run.}) becomes {@code cevent run=… seq=… kind=…
 * data=…}, without session and epoch; everything else is unchanged. Protocol 3 sends protocol 2's
 * forms and joins a backlog into one frame, one message per line ({@link #join}; values are
 * URL-encoded, so a message never holds a raw line feed).
 *
 * <p><b>Thread safety:</b> stateless; safe for concurrent use.
 */
public final class TextCodec implements WireCodec {

  /** Creates the codec; it holds no state, so one instance can serve every test. */
  public TextCodec() {}

  @Override
  public Payload encode(Outbound m) {
    Map<String, Object> f = new LinkedHashMap<>();
    String type;
    if (m instanceof Outbound.RunEvent) {
      Outbound.RunEvent e = (Outbound.RunEvent) m;
      type = "event";
      f.put("run", e.runId());
      f.put("session", e.sessionId());
      f.put("epoch", e.epoch());
      f.put("seq", e.seq());
      f.put("kind", e.kind());
      if (e.data() instanceof dev.runlane.RunOutcome) {
        dev.runlane.RunOutcome o = (dev.runlane.RunOutcome) e.data();
        f.put("state", o.state());
        f.put("reason", o.failureReason());
        f.put("exit", o.exitCode());
        f.put("message", o.message());
        f.put("result", o.result());
        f.put("abortedBy", o.abortedBy());
      } else {
        f.put("data", e.data());
      }
    } else if (m instanceof Outbound.RunStatus) {
      Outbound.RunStatus s = (Outbound.RunStatus) m;
      type = "status";
      f.put("run", s.runId());
      f.put("session", s.sessionId());
      f.put("key", s.key());
      f.put("data", s.data());
    } else if (m instanceof Outbound.Subscribed) {
      Outbound.Subscribed s = (Outbound.Subscribed) m;
      SubscribeAck a = s.ack();
      type = "subscribed";
      f.put("session", a.sessionId());
      f.put("run", a.runId());
      f.put("epoch", a.epoch());
      f.put("status", a.status());
      f.put("processing", a.processing());
      f.put("head", a.headSeq());
      f.put("oldest", a.oldestSeq());
      f.put("from", a.replayFrom());
      f.put("to", a.replayTo());
      f.put("truncated", a.truncated());
      f.put("following", a.following());
      List<String> ids = new ArrayList<>();
      for (Approval ap : a.pendingApprovals()) {
        ids.add(ap.approvalId());
      }
      f.put("approvals", String.join(",", ids));
      f.put("ref", s.ref());
    } else if (m instanceof Outbound.ProtocolError) {
      Outbound.ProtocolError e = (Outbound.ProtocolError) m;
      type = "error";
      f.put("code", e.code());
      f.put("message", e.message());
      f.put("session", e.sessionId());
      f.put("ref", e.ref());
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
      f.put("data", a.payload());
    } else if (m instanceof Outbound.ApprovalResolved) {
      Outbound.ApprovalResolved r = (Outbound.ApprovalResolved) m;
      type = "approval_resolved";
      f.put("id", r.approval().approvalId());
      f.put("run", r.approval().runId());
      f.put("resolution", r.resolution());
      f.put("decision", r.decision());
      f.put("by", r.by());
    } else if (m instanceof Outbound.Heartbeat) {
      type = "heartbeat";
    } else if (m instanceof Outbound.Welcome) {
      Outbound.Welcome w = (Outbound.Welcome) m;
      type = "welcome";
      f.put("connection", w.connectionId());
      f.put("generation", w.generation());
      f.put("server", w.serverEpoch());
      f.put("stream", w.streamTransport());
    } else if (m instanceof Outbound.Hello) {
      Outbound.Hello h = (Outbound.Hello) m;
      type = "hello";
      f.put("protocol", h.protocol());
      f.put("ref", h.ref());
    } else if (m instanceof Outbound.StreamPaired) {
      Outbound.StreamPaired p = (Outbound.StreamPaired) m;
      type = "stream_paired";
      f.put("connection", p.connectionId());
      f.put("generation", p.generation());
    } else {
      throw new IllegalArgumentException("unknown outbound " + m);
    }
    StringBuilder sb = new StringBuilder(type);
    for (Map.Entry<String, Object> e : f.entrySet()) {
      if (e.getValue() != null) {
        sb.append(' ').append(e.getKey()).append('=').append(enc(String.valueOf(e.getValue())));
      }
    }
    return Payload.text(sb.toString());
  }

  /** 3: see the class comment. */
  @Override
  public int maxProtocol() {
    return 3;
  }

  /** 3: joined messages, as the JSON codec's protocol 3. */
  @Override
  public int joinsFrom() {
    return 3;
  }

  /** Protocol 3 uses protocol 2's forms. */
  @Override
  public int formOf(int protocol) {
    return Math.min(protocol, 2);
  }

  /** The parts, one per line; null if one is binary or holds a line feed. */
  @Override
  public @Nullable Payload join(java.util.List<Payload> parts) {
    java.util.List<Payload.Text> texts = new java.util.ArrayList<>(parts.size());
    for (Payload p : parts) {
      if (!(p instanceof Payload.Text) || ((Payload.Text) p).indexOf((byte) '\n') >= 0) {
        return null;
      }
      texts.add((Payload.Text) p);
    }
    return Payload.joinText(texts, '\n');
  }

  /** Protocol 2's {@code cevent} form of a host event; null for everything else. */
  @Override
  public @Nullable Payload reshape(Payload encoded, FrameMeta meta, int protocol) {
    if (protocol < 2) {
      return null;
    }
    WireMessage m = parse(encoded);
    String kind = m.fields().get("kind");
    if (!"event".equals(m.type()) || kind == null || kind.startsWith("run.")) {
      return null;
    }
    StringBuilder sb = new StringBuilder("cevent");
    for (String k : new String[] {"run", "seq", "kind", "data"}) {
      String v = m.fields().get(k);
      if (v != null) {
        sb.append(' ').append(k).append('=').append(enc(v));
      }
    }
    return Payload.text(sb.toString());
  }

  /** Parses a frame this codec wrote. */
  public static WireMessage parse(Payload payload) {
    String text =
        payload instanceof Payload.Text
            ? ((Payload.Text) payload).text()
            : new String(((Payload.Binary) payload).toByteArray(), StandardCharsets.UTF_8);
    String[] parts = text.split(" ");
    Map<String, String> fields = new LinkedHashMap<>();
    for (int i = 1; i < parts.length; i++) {
      int eq = parts[i].indexOf('=');
      if (eq > 0) {
        fields.put(parts[i].substring(0, eq), dec(parts[i].substring(eq + 1)));
      }
    }
    return new WireMessage(parts[0], fields);
  }

  @Override
  public Inbound decode(Payload frame) throws ProtocolException {
    if (!(frame instanceof Payload.Text)) {
      throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, "text frames only");
    }
    String text = ((Payload.Text) frame).text().trim();
    if (text.isEmpty()) {
      throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, "empty frame");
    }
    String[] w = text.split(" +");
    switch (w[0]) {
      case "ping":
        return new Inbound.Ping(null);
      case "hello":
        {
          int p;
          try {
            p = w.length > 1 ? Integer.parseInt(w[1]) : 0;
          } catch (NumberFormatException e) {
            p = 0;
          }
          if (p < 1) {
            throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, "hello needs a protocol >= 1");
          }
          return new Inbound.Hello(p, null);
        }
      case "start":
        need(w, 2);
        return new Inbound.StartRun(session(w[1]), w.length > 2 ? dec(w[2]) : null, null);
      case "abort":
        need(w, 2);
        return new Inbound.AbortRun(session(w[1]), w.length > 2 ? w[2] : null, null);
      case "unsub":
        need(w, 2);
        return new Inbound.Unsubscribe(session(w[1]), null);
      case "resolve":
        if (w.length < 2) {
          throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, "resolve needs an approval id");
        }
        return new Inbound.ResolveApproval(w[1], w.length > 2 ? dec(w[2]) : null, null);
      case "sub":
      case "subx":
        List<SubscribeTarget> targets = new ArrayList<>();
        for (String part : text.substring(w[0].length()).split(";")) {
          String[] t = part.trim().split(" +");
          if (t.length < 2) {
            throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, "sub SESSION LASTSEQ [EPOCH] [RUN]");
          }
          long lastSeq;
          try {
            lastSeq = Long.parseLong(t[1]);
          } catch (NumberFormatException e) {
            throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, "lastSeq must be a number");
          }
          if (lastSeq < 0) {
            throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, "lastSeq must be >= 0");
          }
          String epoch = t.length > 2 && !"-".equals(t[2]) ? t[2] : null;
          String run = t.length > 3 ? t[3] : null;
          targets.add(new SubscribeTarget(session(t[0]), run, lastSeq, epoch));
        }
        return new Inbound.Subscribe(
            targets, "subx".equals(w[0]) ? AttachMode.TAKEOVER : AttachMode.ADDITIVE, null);
      default:
        throw new ProtocolException(ErrorCode.UNKNOWN_MESSAGE_TYPE, "unknown command " + w[0]);
    }
  }

  private static void need(String[] w, int n) throws ProtocolException {
    if (w.length < n) {
      throw new ProtocolException(ErrorCode.SESSION_ID_REQUIRED, w[0] + " needs a session id");
    }
  }

  private static String session(String s) throws ProtocolException {
    if (s.isBlank() || "-".equals(s)) {
      throw new ProtocolException(ErrorCode.SESSION_ID_REQUIRED, "a session id is required");
    }
    return s;
  }

  /** URL-encodes a value (use it for inputs and decisions holding spaces). */
  public static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  static String dec(String s) {
    try {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return s;
    }
  }

  static @Nullable String nullable(@Nullable Object o) {
    return o == null ? null : String.valueOf(o);
  }
}
