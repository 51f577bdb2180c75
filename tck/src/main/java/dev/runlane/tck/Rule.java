package dev.runlane.tck;

/**
 * The rules and promises the kit checks: the SPI rules T1–T8 of {@code dev.runlane.transport}
 * (mirrored by {@code docs/reference/transport-spi.md}) and the end-to-end promises (P1–P4, P6, P7) of
 * Runlane over a transport. Each carries what to check when its test fails.
 */
enum Rule {
  T1_1(
      "T1.1",
      "id() is stable and unique among live connections",
      "that id() returns the same value on every call and that the server side gives every"
          + " connection its own id (e.g. 128 random bits, base64url)"),
  T1_2(
      "T1.2",
      "principal() is the principal the host authenticated, and never changes",
      "that the server side authenticates the client before handing the connection to the sink,"
          + " passes exactly the principal the client connected as, and never changes it"),
  T2_1(
      "T2.1",
      "send must not block",
      "that send() only queues the write and returns: use the socket library's asynchronous send"
          + " (e.g. Jetty's sendText(String, Callback)), never a blocking write, a lock held across"
          + " I/O, or a bounded queue whose put() waits"),
  T2_2(
      "T2.2",
      "the callback fires exactly once per send",
      "that every path of send() (written, failed, connection already closed, an exception from the"
          + " socket library, a close racing the send) ends in exactly one call of succeeded() or"
          + " failed(): guard the callback with an AtomicBoolean, and report failures through"
          + " failed(), never by throwing"),
  T2_3(
      "T2.3",
      "the callback does not run under a lock the transport's own methods need",
      "that succeeded()/failed() are called after leaving every synchronized block or lock that"
          + " send(), close() or isOpen() take; Runlane sends the next frame and checks isOpen()"
          + " from inside the callback"),
  T2_4(
      "T2.4",
      "the shared payload is never mutated",
      "that the transport writes from the payload's own read-only view (Payload.Binary#data()"
          + " returns a fresh one per call) and never keeps, flips or modifies a shared buffer"),
  T2_5(
      "T2.5",
      "several sends may be in flight at once",
      "that send() accepts a new frame while earlier ones are still being written: queue it (e.g."
          + " javax/jakarta RemoteEndpoint.Async allows one outstanding write; chain writes"
          + " yourself) instead of failing, throwing or dropping it"),
  T2_6(
      "T2.6",
      "frames reach the peer in send order, intact; success only after hand-off to the socket",
      "that frames are written through one FIFO queue in the order of send() calls, whole, and"
          + " that succeeded() is called only after the frame was handed to the socket (never before"
          + " the write is queued on it), so that a close right after the callbacks cannot lose"
          + " them"),
  T2_7(
      "T2.7",
      "with BATCHING, flush writes the batch in order; callbacks once each; close writes it first",
      "that flush() hands every frame held in the batch to the socket library's asynchronous write"
          + " (Jetty: CoreSession.flush(Callback) after sendFrame(frame, callback, true)), returns"
          + " without blocking, never throws (also once closed), that a close goes out behind the"
          + " batch, and that a batched frame's callback still fires exactly once"),
  T3_1(
      "T3.1",
      "isOpen() turns false once and never back",
      "that isOpen() reads a flag set once by close(), terminate() or an observed close, and never"
          + " cleared"),
  T3_2(
      "T3.2",
      "a send after close writes nothing and fails",
      "that send() checks the closed flag before writing and calls failed(), and that nothing"
          + " queued after a close reaches the socket"),
  T4_1(
      "T4.1",
      "close delivers the code and reason after the frames already handed over",
      "that close(reason) sends the code and the reason (truncated to what the transport can"
          + " carry, e.g. 123 UTF-8 bytes in a WebSocket close frame, not dropped) behind the frames"
          + " already queued"),
  T4_2(
      "T4.2",
      "close and terminate must not block",
      "that close() and terminate() start the close and return, without waiting for the peer's"
          + " answer or for queued writes to drain"),
  T4_3(
      "T4.3",
      "close and terminate are idempotent",
      "that close() and terminate() are guarded (e.g. compareAndSet) so that a later call does"
          + " nothing and never throws, and a second close never sends a second close frame"),
  T4_4(
      "T4.4",
      "terminate drops the socket at once",
      "that terminate() aborts the socket without a closing handshake, even while a graceful close"
          + " waits for a peer that does not answer, and that the host then reports the close"),
  T4_5(
      "T4.5",
      "the host reports the close once, whoever closes",
      "that every way a connection ends (close handshake either way, terminate, a dropped socket,"
          + " an error) reports onClose to the handler, and only the first of them"),
  T5_1(
      "T5.1",
      "a connection declares only capabilities it honours",
      "that capabilities() lists only what the transport honours, and that the fixture of an"
          + " adapter declaring STREAM_TRANSPORT implements connectStream"),
  T5_2(
      "T5.2",
      "text arrives as text and binary as binary, byte for byte",
      "that text payloads are written as text messages and binary payloads as binary messages,"
          + " whole, from the payload's own bytes, and the same for inbound messages"),
  T6_1(
      "T6.1",
      "a stream transport is registered with the primary's id and generation, as sent",
      "that the server side reads the primary connection id and generation from the stream"
          + " transport's connect request and passes them to acceptStream (Runlane's"
          + " connectStream) unchanged"),
  T6_2(
      "T6.2",
      "the close of either transport of a pair is reported",
      "that the stream transport's close is reported to the handler returned for it, just like a"
          + " primary connection's (rule T4.5)"),
  T7_1(
      "T7.1",
      "inbound frames of one connection arrive in order and never concurrently",
      "that the inbound frames of one connection are delivered by one thread at a time, in arrival"
          + " order: never hand them to a thread pool; use the socket library's serial delivery or"
          + " a serial executor"),
  T7_2(
      "T7.2",
      "onClose exactly once, after the last onFrame",
      "that onClose goes through the same serial path as the frames, after every frame already"
          + " delivered, once, and that no frame is delivered after it"),
  T8_2(
      "T8.2",
      "a transport ping is answered by the peer and its pong reported as activity",
      "that ping() sends a transport-level ping (Jetty: Session.sendPing) without blocking or"
          + " throwing, also on a closed connection, that the connection declares TRANSPORT_PING"
          + " only if it does, and that every pong the peer sends back reaches"
          + " InboundHandler.onActivity() through the serial inbound path (Jetty: onWebSocketPong)"),
  P1(
      "P1",
      "isolation: a run's events reach only its recipients",
      "that each Connection writes only to its own socket (no shared or static session), and that"
          + " inbound frames reach the handler of the connection they arrived on"),
  P2(
      "P2",
      "order: each recipient sees a run's events in seq order, each once",
      "rule T2.6 (send order) and rule T7.1 (inbound order) first; then that frames of different"
          + " connections are never mixed"),
  P3(
      "P3",
      "resume: ack first, then exactly the missed events, then the live stream",
      "rule T4.5 (the dropped connection's close is reported), rule T7.1 (the subscribe command"
          + " reaches Runlane) and rule T2.6"),
  P4(
      "P4",
      "one end per run, delivered to every recipient",
      "rule T2.6 (the terminal event is one more frame in order) and rule T3.2"),
  P6(
      "P6",
      "a slow consumer is closed with 4000 while the others continue",
      "rule T2.1 (send never blocks the publisher), rule T2.6 (callbacks complete only once"
          + " written, so a client that does not read backs Runlane's outbox up) and rule T4.1"
          + " (close code 4000 reaches the client after what was already sent)"),
  P7(
      "P7",
      "control frames overtake a stream backlog",
      "rule T2.6 (callbacks complete only once written, so stream frames wait in Runlane's outbox"
          + " where control frames can overtake them) and, with STREAM_TRANSPORT, rule T6.1");

  /** The id as written in the docs, e.g. {@code T2.2}. */
  final String id;

  /** What the rule says, in one line. */
  final String summary;

  /** What to check when its test fails. */
  final String check;

  Rule(String id, String summary, String check) {
    this.id = id;
    this.summary = summary;
    this.check = check;
  }

  /** The anchor of the rule in {@code docs/reference/transport-spi.md}, e.g. {@code t2-2}. */
  String anchor() {
    return id.toLowerCase(java.util.Locale.ROOT).replace('.', '-');
  }

  /** The docs link of the rule. */
  String docs() {
    return "docs/reference/transport-spi.md#" + anchor();
  }
}
