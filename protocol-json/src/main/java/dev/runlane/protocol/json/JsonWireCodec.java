package dev.runlane.protocol.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import dev.runlane.AttachMode;
import dev.runlane.ErrorCode;
import dev.runlane.codec.Inbound;
import dev.runlane.codec.Outbound;
import dev.runlane.codec.ProtocolException;
import dev.runlane.SubscribeTarget;
import dev.runlane.codec.WireCodec;
import dev.runlane.engine.FrameMeta;
import dev.runlane.transport.Payload;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Runlane's JSON wire protocol as a {@link WireCodec}: every outbound message becomes one JSON
 * object told apart by {@code kind}; inbound commands are JSON objects told apart by {@code type}.
 * The full protocol, with an example exchange, is in {@code docs/reference/protocol.md}.
 *
 * <pre>{@code
 * Runlane runlane = Runlane.builder().codec(new JsonWireCodec()).runtime(agent).build();
 * // or, with the host's own ObjectMapper for payload objects (modules, naming, …):
 * WireCodec codec = JsonWireCodec.builder().payloadMapper(appMapper).maxSubscribeTargets(16).build();
 * }</pre>
 *
 * <p><b>Decoding</b> accepts {@code chat.send}, {@code chat.abort}, {@code chat.subscribe}, {@code
 * chat.unsubscribe}, {@code chat.approval}, {@code ping} and {@code hello}; unknown fields are ignored. Bad input
 * throws {@link ProtocolException} with a stable code: {@link ErrorCode#INVALID_PAYLOAD} (not JSON,
 * not an object, a duplicate key, a missing or wrongly typed field, a negative or non-integer
 * {@code lastSeq}, nesting deeper than the limit), {@link ErrorCode#PAYLOAD_TOO_LARGE} (a string or
 * the frame longer than the limit), {@link ErrorCode#UNKNOWN_MESSAGE_TYPE}, {@link
 * ErrorCode#SESSION_ID_REQUIRED} and {@link ErrorCode#TOO_MANY_SUBSCRIPTIONS} (more subscribe
 * targets than {@link Builder#maxSubscribeTargets}). The client's {@code ref} is carried by the
 * exception whenever it could be read.
 *
 * <p><b>Encoding</b> writes straight to Jackson's generator through one pre-resolved writer (a few
 * generators are pooled and reused, message after message), so it is pure, allocation-light and
 * never blocks, as {@link WireCodec#encode} must be (it runs under a
 * run's writer lock). Host objects ({@code data}, approval payloads, results) are written by the
 * payload mapper; one that cannot be serialized makes {@code encode} throw {@link
 * UncheckedIOException}, and Runlane drops that one message.
 *
 * <p><b>Protocol 2</b> (negotiated per connection by a client's {@code hello}): host run events
 * travel as {@code [runId, seq, type, data]}, derived from the protocol-1 bytes by {@link
 * #reshape}; everything else is unchanged. <b>Protocol 3</b> ({@link #maxProtocol()}) is protocol
 * 2 plus joined messages: {@link #join} puts the messages queued for a connection at the same
 * moment into one text frame, separated by line feeds ({@code \n}, which this codec's JSON never
 * holds raw).
 *
 * <p><b>Binary option.</b> {@link Builder#cbor()} makes the same messages travel as CBOR (RFC 8949)
 * in binary frames: the same fields and values, smaller and cheaper to parse, for hosts whose
 * clients speak CBOR (it needs {@code com.fasterxml.jackson.dataformat:jackson-dataformat-cbor} on
 * the class path; text frames are then refused with {@link ErrorCode#INVALID_PAYLOAD}). Transports
 * must carry binary payloads; SSE cannot.
 *
 * <p><b>Thread safety:</b> immutable after construction; safe for concurrent use.
 */
public final class JsonWireCodec implements WireCodec {

  /** Inbound {@code type}: start a run. */
  public static final String TYPE_SEND = "chat.send";
  /** Inbound {@code type}: abort the session's run. */
  public static final String TYPE_ABORT = "chat.abort";
  /** Inbound {@code type}: subscribe to sessions, resuming each after its {@code lastSeq}. */
  public static final String TYPE_SUBSCRIBE = "chat.subscribe";
  /** Inbound {@code type}: stop following a session. */
  public static final String TYPE_UNSUBSCRIBE = "chat.unsubscribe";
  /** Inbound {@code type}: answer a tool approval. */
  public static final String TYPE_APPROVAL = "chat.approval";
  /** Inbound {@code type}: keepalive, answered with a heartbeat. */
  public static final String TYPE_PING = "ping";
  /** Inbound {@code type}: ask for a protocol version, answered with a {@code hello}. */
  public static final String TYPE_HELLO = "hello";

  /**
   * The newest protocol version this codec speaks in JSON: 3. In protocol 2 host run events travel
   * as {@code [runId, seq, type, data]}; protocol 3 adds joined messages, several in one text
   * frame separated by line feeds (see {@code docs/reference/protocol.md}). The CBOR option speaks
   * 1 only.
   */
  public static final int MAX_PROTOCOL = 3;

  /** The protocol from which messages may travel joined: {@value}. */
  public static final int JOINING_PROTOCOL = 3;

  /** Outbound {@code kind} of a sequenced run event. */
  public static final String KIND_RUN_EVENT = "run_event";
  /** Outbound {@code kind} of an unsequenced, coalescable run status. */
  public static final String KIND_STATUS = "status";
  /** Outbound {@code kind} of a subscribe acknowledgement. */
  public static final String KIND_SUBSCRIBED = "subscribed";
  /** Outbound {@code kind} of a protocol error. */
  public static final String KIND_PROTOCOL_ERROR = "protocol_error";
  /** Outbound {@code kind} of a notice. */
  public static final String KIND_NOTICE = "notice";
  /** Outbound {@code kind} of a tool approval request. */
  public static final String KIND_APPROVAL_REQUESTED = "approval_requested";
  /** Outbound {@code kind} of an approval's resolution. */
  public static final String KIND_APPROVAL_RESOLVED = "approval_resolved";
  /** Outbound {@code kind} of a heartbeat (also the answer to {@code ping}). */
  public static final String KIND_HEARTBEAT = "heartbeat";
  /** Outbound {@code kind} of the first frame of every connection. */
  public static final String KIND_WELCOME = "welcome";
  /** Outbound {@code kind} of a stream transport pairing. */
  public static final String KIND_STREAM_PAIRED = "stream_paired";
  /** Outbound {@code kind} of the answer to a {@code hello}. */
  public static final String KIND_HELLO = "hello";

  /** Default {@link Builder#maxSubscribeTargets}: core's default sessions per connection. */
  public static final int DEFAULT_MAX_SUBSCRIBE_TARGETS = 64;
  /** Default {@link Builder#maxNestingDepth}. */
  public static final int DEFAULT_MAX_NESTING_DEPTH = 16;
  /** Default {@link Builder#maxStringLength}, in characters. */
  public static final int DEFAULT_MAX_STRING_LENGTH = 64 * 1024;
  /** Default {@link Builder#maxRefLength}, in characters. */
  public static final int DEFAULT_MAX_REF_LENGTH = 128;

  private static final int MAX_ECHOED_TYPE = 64;

  private final ObjectWriter writer;
  private final @Nullable PooledEncoders encoders;
  private final ObjectMapper reader;
  private final boolean cbor;
  private final int maxSubscribeTargets;
  private final int maxStringLength;
  private final int maxNestingDepth;
  private final int maxRefLength;

  /** A codec with the default limits and a plain {@link ObjectMapper} for payload objects. */
  public JsonWireCodec() {
    this(new Builder());
  }

  private JsonWireCodec(Builder b) {
    this.cbor = b.cbor;
    ObjectMapper payloads =
        b.payloadMapper != null ? b.payloadMapper.copy() : cbor ? Cbor.mapper() : new ObjectMapper();
    if (cbor && !Cbor.isCbor(payloads)) {
      throw new IllegalArgumentException("a CBOR codec needs a CBOR payload mapper (CBORMapper)");
    }
    payloads.registerModule(
        new SimpleModule("runlane-protocol-json").addSerializer(Outbound.class, new OutboundSerializer()));
    this.writer = payloads.writerFor(Outbound.class);
    this.encoders = cbor ? null : PooledEncoders.forWriter(writer);
    this.maxSubscribeTargets = b.maxSubscribeTargets;
    this.maxStringLength = b.maxStringLength;
    this.maxNestingDepth = b.maxNestingDepth;
    this.maxRefLength = b.maxRefLength;
    StreamReadConstraints limits =
        StreamReadConstraints.builder()
            .maxNestingDepth(b.maxNestingDepth)
            .maxStringLength(b.maxStringLength)
            .maxNameLength(256)
            .maxNumberLength(32)
            .build();
    this.reader =
        cbor
            ? Cbor.reader(limits)
            : JsonMapper.builder(JsonFactory.builder().streamReadConstraints(limits).build())
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
                .build();
  }

  /** A builder for a codec with non-default limits or payload mapper. */
  public static Builder builder() {
    return new Builder();
  }

  // ================================================================ encode

  @Override
  public Payload encode(Outbound message) {
    Objects.requireNonNull(message, "message");
    PooledEncoders pool = encoders;
    if (pool == null) {
      return encodeWithWriter(message);
    }
    byte[] utf8;
    try {
      // Straight to UTF-8 through a pooled generator: the frame's bytes are computed here, once,
      // for every recipient and the socket; the text is never encoded again (issue 12 item 9).
      utf8 = pool.encode(message);
    } catch (IOException bytesFailed) {
      // e.g. an unpaired surrogate, which a UTF-8 generator refuses; encode as before
      return encodeAsString(message);
    }
    return Payload.adoptUtf8Text(utf8); // the pool's fresh array: no second copy
  }

  /**
   * The encoding without the pool, through {@code ObjectWriter.writeValueAsBytes}: the codec's
   * path when {@link PooledEncoders} does not apply (CBOR, a payload mapper whose generator is not
   * Jackson's plain JSON one), and the reference the pooled path is compared with (in tests and in
   * the benchmark).
   */
  Payload encodeWithWriter(Outbound message) {
    if (cbor) {
      try {
        return Payload.binary(writer.writeValueAsBytes(message));
      } catch (JsonProcessingException e) {
        throw new UncheckedIOException(
            "cannot encode " + message.getClass().getSimpleName() + ": " + e.getOriginalMessage(), e);
      }
    }
    try {
      return Payload.utf8Text(writer.writeValueAsBytes(message));
    } catch (JsonProcessingException bytesFailed) {
      // e.g. an unpaired surrogate, which a UTF-8 generator refuses; encode as before
    }
    return encodeAsString(message);
  }

  private Payload encodeAsString(Outbound message) {
    try {
      return Payload.text(writer.writeValueAsString(message));
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(
          "cannot encode " + message.getClass().getSimpleName() + ": " + e.getOriginalMessage(), e);
    }
  }

  /** The pool of reusable encoders, or null if this codec encodes without one: for tests. */
  @Nullable PooledEncoders encoders() {
    return encoders;
  }

  /** {@value #MAX_PROTOCOL} in JSON; 1 with the CBOR option (which has no compact form). */
  @Override
  public int maxProtocol() {
    return cbor ? 1 : MAX_PROTOCOL;
  }

  /**
   * Protocol 2's form of a host run event (a {@code type} not starting with {@code run.}): the
   * JSON array {@code [runId, seq, type, data]}, with {@code data}'s bytes copied from the
   * protocol-1 frame (a streaming parse finds them; no tree is built). Null, meaning the frame
   * travels unchanged, for {@code run.*} events, CBOR and anything not written by this codec.
   */
  @Override
  public @Nullable Payload reshape(Payload encoded, FrameMeta meta, int protocol) {
    Objects.requireNonNull(encoded, "encoded");
    Objects.requireNonNull(meta, "meta");
    if (cbor || protocol < 2 || meta.type() != FrameMeta.Type.EVENT) {
      return null;
    }
    try {
      return CompactEvents.reshape(encoded, meta.seq());
    } catch (IOException | RuntimeException e) {
      // not this codec's JSON, or a string the compact form cannot re-quote (a lone surrogate a
      // payload mapper escaped): it travels in full
      return null;
    }
  }

  /** {@value #JOINING_PROTOCOL} in JSON; 0 (never) with the CBOR option. */
  @Override
  public int joinsFrom() {
    return cbor ? 0 : JOINING_PROTOCOL;
  }

  /** Protocol 3 sends the same forms as protocol 2; it only joins them. */
  @Override
  public int formOf(int protocol) {
    return protocol >= JOINING_PROTOCOL ? JOINING_PROTOCOL - 1 : protocol;
  }

  /**
   * The parts as one text payload, separated by line feeds; null if one of them is not text or
   * holds a raw line feed (a payload mapper that writes raw JSON may put one there), so that the
   * split a client makes at every line feed is exact.
   */
  @Override
  public @Nullable Payload join(List<Payload> parts) {
    if (cbor) {
      return null;
    }
    List<Payload.Text> texts = new ArrayList<>(parts.size());
    for (Payload p : parts) {
      if (!(p instanceof Payload.Text) || ((Payload.Text) p).indexOf((byte) '\n') >= 0) {
        return null;
      }
      texts.add((Payload.Text) p);
    }
    return Payload.joinText(texts, '\n');
  }

  // ================================================================ decode

  @Override
  public Inbound decode(Payload frame) throws ProtocolException {
    Objects.requireNonNull(frame, "frame");
    JsonNode root = parse(frame);
    if (!root.isObject()) {
      throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, "a frame must be a JSON object");
    }
    String ref = ref(root);
    JsonNode typeNode = root.get("type");
    if (typeNode == null || typeNode.isNull()) {
      throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, "a frame needs a \"type\"", ref);
    }
    if (!typeNode.isTextual()) {
      throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, "\"type\" must be a string", ref);
    }
    String type = typeNode.textValue();
    switch (type) {
      case TYPE_SEND:
        return new Inbound.StartRun(
            sessionId(root, type, ref), requiredString(root, "content", type, ref), ref);
      case TYPE_ABORT:
        return new Inbound.AbortRun(
            sessionId(root, type, ref), optionalString(root, "runId", type, ref), ref);
      case TYPE_SUBSCRIBE:
        {
          JsonNode takeover = root.get("takeover");
          if (takeover != null && !takeover.isNull() && !takeover.isBoolean()) {
            throw new ProtocolException(
                ErrorCode.INVALID_PAYLOAD, type + " \"takeover\" must be a boolean", ref);
          }
          AttachMode mode =
              takeover != null && takeover.booleanValue() ? AttachMode.TAKEOVER : AttachMode.ADDITIVE;
          return new Inbound.Subscribe(targets(root, ref), mode, ref);
        }
      case TYPE_UNSUBSCRIBE:
        return new Inbound.Unsubscribe(sessionId(root, type, ref), ref);
      case TYPE_APPROVAL:
        {
          String approvalId = requiredString(root, "approvalId", type, ref);
          JsonNode allow = root.get("allow");
          if (allow == null || !allow.isBoolean()) {
            throw new ProtocolException(
                ErrorCode.INVALID_PAYLOAD, type + " requires \"allow\", a boolean", ref);
          }
          return new Inbound.ResolveApproval(
              approvalId,
              new ApprovalDecision(allow.booleanValue(), optionalString(root, "message", type, ref)),
              ref);
        }
      case TYPE_PING:
        return new Inbound.Ping(ref);
      case TYPE_HELLO:
        {
          JsonNode v = root.get("protocol");
          if (v == null || !v.isIntegralNumber() || v.bigIntegerValue().signum() < 1) {
            throw new ProtocolException(
                ErrorCode.INVALID_PAYLOAD, type + " requires \"protocol\", an integer >= 1", ref);
          }
          // a client newer than any server asks for more than an int: it gets what the server has
          int asked = v.canConvertToInt() ? v.intValue() : Integer.MAX_VALUE;
          return new Inbound.Hello(asked, ref);
        }
      default:
        throw new ProtocolException(
            ErrorCode.UNKNOWN_MESSAGE_TYPE, "unknown message type \"" + abbreviate(type) + "\"", ref);
    }
  }

  private JsonNode parse(Payload frame) throws ProtocolException {
    try {
      JsonNode n;
      if (cbor && frame instanceof Payload.Text) {
        throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, "this server speaks CBOR in binary frames");
      } else if (frame instanceof Payload.Text) {
        n = reader.readTree(((Payload.Text) frame).text());
      } else {
        n = reader.readTree(((Payload.Binary) frame).toByteArray());
      }
      if (n == null || n.isMissingNode()) {
        throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, "an empty frame is not a command");
      }
      return n;
    } catch (StreamConstraintsException e) {
      throw constraint(e);
    } catch (IOException e) {
      StreamConstraintsException sce = findConstraint(e);
      if (sce != null) {
        throw constraint(sce);
      }
      throw new ProtocolException(
          ErrorCode.INVALID_PAYLOAD, cbor ? "the frame is not valid CBOR" : "the frame is not valid JSON");
    }
  }

  private static @Nullable StreamConstraintsException findConstraint(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof StreamConstraintsException) {
        return (StreamConstraintsException) t;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return null;
  }

  private ProtocolException constraint(StreamConstraintsException e) {
    String m = String.valueOf(e.getOriginalMessage());
    if (m.startsWith("String value length") || m.startsWith("Document length")) {
      return new ProtocolException(
          ErrorCode.PAYLOAD_TOO_LARGE, "a string in the frame exceeds " + maxStringLength + " characters");
    }
    if (m.startsWith("Document nesting depth")) {
      return new ProtocolException(
          ErrorCode.INVALID_PAYLOAD, "the frame is nested deeper than " + maxNestingDepth + " levels");
    }
    return new ProtocolException(ErrorCode.INVALID_PAYLOAD, "the frame exceeds a limit of the protocol");
  }

  private @Nullable String ref(JsonNode root) throws ProtocolException {
    JsonNode r = root.get("ref");
    if (r == null || r.isNull()) {
      return null;
    }
    if (!r.isTextual()) {
      throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, "\"ref\" must be a string");
    }
    String s = r.textValue();
    if (s.length() > maxRefLength) {
      throw new ProtocolException(
          ErrorCode.INVALID_PAYLOAD, "\"ref\" is longer than " + maxRefLength + " characters");
    }
    return s;
  }

  private static String sessionId(JsonNode obj, String type, @Nullable String ref)
      throws ProtocolException {
    JsonNode n = obj.get("sessionId");
    if (n == null || n.isNull()) {
      throw new ProtocolException(ErrorCode.SESSION_ID_REQUIRED, type + " requires a sessionId", ref);
    }
    if (!n.isTextual()) {
      throw new ProtocolException(ErrorCode.INVALID_PAYLOAD, "\"sessionId\" must be a string", ref);
    }
    String s = n.textValue();
    if (s.isBlank()) {
      throw new ProtocolException(ErrorCode.SESSION_ID_REQUIRED, type + " requires a sessionId", ref);
    }
    return s;
  }

  private static String requiredString(JsonNode obj, String field, String type, @Nullable String ref)
      throws ProtocolException {
    JsonNode n = obj.get(field);
    if (n == null || !n.isTextual()) {
      throw new ProtocolException(
          ErrorCode.INVALID_PAYLOAD, type + " requires \"" + field + "\", a string", ref);
    }
    return n.textValue();
  }

  private static @Nullable String optionalString(
      JsonNode obj, String field, String type, @Nullable String ref) throws ProtocolException {
    JsonNode n = obj.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isTextual()) {
      throw new ProtocolException(
          ErrorCode.INVALID_PAYLOAD, type + ": \"" + field + "\" must be a string", ref);
    }
    return n.textValue();
  }

  private List<SubscribeTarget> targets(JsonNode root, @Nullable String ref) throws ProtocolException {
    JsonNode sessions = root.get("sessions");
    if (sessions == null || !sessions.isArray()) {
      throw new ProtocolException(
          ErrorCode.INVALID_PAYLOAD, TYPE_SUBSCRIBE + " requires \"sessions\", an array", ref);
    }
    int n = sessions.size();
    if (n == 0) {
      throw new ProtocolException(
          ErrorCode.INVALID_PAYLOAD, TYPE_SUBSCRIBE + " requires at least one session", ref);
    }
    if (n > maxSubscribeTargets) {
      throw new ProtocolException(
          ErrorCode.TOO_MANY_SUBSCRIPTIONS,
          TYPE_SUBSCRIBE + " accepts at most " + maxSubscribeTargets + " sessions per frame",
          ref);
    }
    List<SubscribeTarget> out = new ArrayList<>(n);
    for (JsonNode t : sessions) {
      if (!t.isObject()) {
        throw new ProtocolException(
            ErrorCode.INVALID_PAYLOAD, "each of \"sessions\" must be an object", ref);
      }
      String sessionId = sessionId(t, TYPE_SUBSCRIBE, ref);
      long lastSeq = 0;
      JsonNode ls = t.get("lastSeq");
      if (ls != null) { // absent means 0; null is not a number (protocol.md)
        if (!ls.isIntegralNumber() || !ls.canConvertToLong() || ls.longValue() < 0) {
          throw new ProtocolException(
              ErrorCode.INVALID_PAYLOAD, "\"lastSeq\" must be a non-negative integer", ref);
        }
        lastSeq = ls.longValue();
      }
      out.add(
          new SubscribeTarget(
              sessionId,
              optionalString(t, "runId", TYPE_SUBSCRIBE, ref),
              lastSeq,
              optionalString(t, "epoch", TYPE_SUBSCRIBE, ref)));
    }
    return out;
  }

  private static String abbreviate(String s) {
    return s.length() <= MAX_ECHOED_TYPE ? s : s.substring(0, MAX_ECHOED_TYPE) + "…";
  }

  /**
   * Configures a {@link JsonWireCodec}.
   *
   * <p><b>Thread safety:</b> not thread-safe; {@link #build()} copies what it needs.
   */
  public static final class Builder {
    private @Nullable ObjectMapper payloadMapper;
    private int maxSubscribeTargets = DEFAULT_MAX_SUBSCRIBE_TARGETS;
    private int maxNestingDepth = DEFAULT_MAX_NESTING_DEPTH;
    private int maxStringLength = DEFAULT_MAX_STRING_LENGTH;
    private int maxRefLength = DEFAULT_MAX_REF_LENGTH;
    private boolean cbor;

    private Builder() {}

    /**
     * The same protocol as CBOR in binary frames (see the class comment). A {@link #payloadMapper}
     * given with it must be a CBOR mapper. Needs {@code jackson-dataformat-cbor} on the class path.
     */
    public Builder cbor() {
      this.cbor = true;
      return this;
    }

    /**
     * The mapper that writes host payload objects ({@code data}, approval payloads, results); it
     * is copied, so later changes to it do not affect the codec. Default: a plain {@link
     * ObjectMapper}.
     */
    public Builder payloadMapper(ObjectMapper mapper) {
      this.payloadMapper = Objects.requireNonNull(mapper, "mapper");
      return this;
    }

    /**
     * Most targets in one {@code chat.subscribe}; more is refused with {@link
     * ErrorCode#TOO_MANY_SUBSCRIPTIONS}. Default 64.
     */
    public Builder maxSubscribeTargets(int targets) {
      this.maxSubscribeTargets = positive(targets, "maxSubscribeTargets");
      return this;
    }

    /** Deepest nesting of arrays and objects in an inbound frame. Default 16. */
    public Builder maxNestingDepth(int depth) {
      this.maxNestingDepth = positive(depth, "maxNestingDepth");
      return this;
    }

    /**
     * Longest string in an inbound frame, in characters; longer is refused with {@link
     * ErrorCode#PAYLOAD_TOO_LARGE}. Default 64 Ki characters (Runlane's own frame limit, {@code
     * maxInboundBytes}, applies first).
     */
    public Builder maxStringLength(int chars) {
      this.maxStringLength = positive(chars, "maxStringLength");
      return this;
    }

    /** Longest {@code ref} a client may send. Default 128. */
    public Builder maxRefLength(int chars) {
      this.maxRefLength = positive(chars, "maxRefLength");
      return this;
    }

    /** Builds the codec. */
    public JsonWireCodec build() {
      return new JsonWireCodec(this);
    }

    private static int positive(int v, String name) {
      if (v < 1) {
        throw new IllegalArgumentException(name + " must be >= 1: " + v);
      }
      return v;
    }
  }
}
