package dev.runlane.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.AttachMode;
import dev.runlane.InvariantCheck;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.StartRequest;
import dev.runlane.codec.Inbound;
import dev.runlane.codec.Outbound;
import dev.runlane.codec.ProtocolException;
import dev.runlane.codec.WireCodec;
import dev.runlane.engine.FrameMeta;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.testkit.ManualTimeSource;
import dev.runlane.testkit.TextCodec;
import dev.runlane.testkit.WireMessage;
import dev.runlane.transport.Capability;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Payload;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Protocol 2 negotiated per connection (protocol.md, "Protocol 2: compact run events"): a hello
 * switches one connection to the compact form of host events at a frame boundary; other
 * connections of the same run keep protocol 1; the compact form is derived once per frame and the
 * live and replayed frames are the same bytes in each protocol; connections whose client could not
 * map a compact event to its session and epoch get full frames. The testkit codec's protocol-2 form
 * is {@code cevent run=… seq=… kind=… data=…}.
 */
class CompactProtocolTest {
  /** The testkit codec, counting how often Runlane asks for a protocol-2 form. */
  static final class CountingCodec implements WireCodec {
    final TextCodec text = new TextCodec();
    final AtomicInteger reshapes = new AtomicInteger();
    final int max;

    CountingCodec(int max) {
      this.max = max;
    }

    @Override
    public Payload encode(Outbound message) {
      return text.encode(message);
    }

    @Override
    public Inbound decode(Payload frame) throws ProtocolException {
      return text.decode(frame);
    }

    @Override
    public int maxProtocol() {
      return max;
    }

    @Override
    public @Nullable Payload reshape(Payload encoded, FrameMeta meta, int protocol) {
      reshapes.incrementAndGet();
      return text.reshape(encoded, meta, protocol);
    }
  }

  private final ManualTimeSource time = new ManualTimeSource();
  private CountingCodec codec = new CountingCodec(2);
  private Runlane rl = build();
  private InMemoryTransport tx = new InMemoryTransport(rl);

  private Runlane build() {
    return InvariantCheck.track(
        Runlane.builder()
            .codec(codec)
            .timeSource(time)
            .heartbeatInterval(Duration.ZERO)
            .idleTimeout(Duration.ZERO)
            .build());
  }

  @AfterEach
  void close() {
    InvariantCheck.closeChecked(rl);
  }

  /** A connection of alice that asked for protocol 2 and got it. */
  private InMemoryConnection v2(String id) {
    InMemoryConnection c = tx.open("alice", id, Set.of());
    c.sendText("hello 2");
    WireMessage h = c.last("hello");
    assertNotNull(h, "no hello answer");
    assertEquals("2", h.get("protocol"));
    return c;
  }

  /** Run events in the order received, in either form. */
  private static List<WireMessage> events(InMemoryConnection c) {
    return c.messages(m -> m.type().equals("event") || m.type().equals("cevent"));
  }

  private static List<Long> seqs(List<WireMessage> events) {
    return events.stream().map(m -> m.num("seq")).collect(Collectors.toList());
  }

  private static List<String> texts(InMemoryConnection c, String type) {
    List<String> out = new ArrayList<>();
    for (Frame f : c.frames()) {
      String t = ((Payload.Text) f.payload()).text();
      if (t.startsWith(type + " ")) {
        out.add(t);
      }
    }
    return out;
  }

  @Test
  void twoConnectionsOnOneRunGetTheSameEventsEachInItsOwnFormAndTheCompactFormIsDerivedOncePerFrame() {
    InMemoryConnection a = v2("a");
    InMemoryConnection b = tx.open("alice", "b", Set.of()); // protocol 1: never said hello
    InMemoryConnection c = v2("c");
    RunHandle run = rl.startRun(StartRequest.of("s", "alice").fromConnection(a.id()).following()).orElseThrow();
    b.sendText("sub s 0");
    c.sendText("sub s 0");
    for (int i = 0; i < 5; i++) {
      run.publish("delta", "d" + i);
    }
    run.complete("done");

    List<WireMessage> ea = events(a);
    List<WireMessage> eb = events(b);
    List<WireMessage> ec = events(c);
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L), seqs(ea));
    assertEquals(seqs(ea), seqs(eb));
    assertEquals(seqs(ea), seqs(ec));
    for (int i = 0; i < ea.size(); i++) {
      WireMessage full = eb.get(i);
      WireMessage compact = ea.get(i);
      assertEquals("event", full.type(), "protocol 1 only ever gets full events");
      boolean host = !full.require("kind").startsWith("run.");
      assertEquals(host ? "cevent" : "event", compact.type(), "seq " + (i + 1) + " on protocol 2");
      assertEquals(full.get("kind"), compact.get("kind"));
      assertEquals(full.get("data"), compact.get("data"));
      assertEquals(full.get("run"), compact.get("run"));
      if (host) {
        assertEquals(null, compact.get("session"), "the compact form drops the session");
        assertEquals(null, compact.get("epoch"), "the compact form drops the epoch");
      }
    }
    assertEquals(texts(a, "cevent"), texts(c, "cevent"), "two protocol-2 recipients, the same bytes");
    // run.started and run.completed are run.* events: the codec is asked only for the 5 deltas...
    // and once per frame, although two connections speak protocol 2
    // c's subscribe replays run.started from the ring, which keeps events as bytes: the frame it
    // rebuilds asks once more
    assertEquals(5 + 1 + 1, codec.reshapes.get(), "reshape calls: 5 deltas + run.started (EVENT meta) live and"
        + " replayed once; the terminal is never asked");
  }

  @Test
  void aReplayIsTheSameBytesAsTheLiveFramesInEachProtocolAndDerivesEachFrameOnce() {
    InMemoryConnection live2 = v2("live2");
    InMemoryConnection live1 = tx.open("alice", "live1", Set.of());
    RunHandle run = rl.startRun(StartRequest.of("s", "alice").fromConnection(live2.id()).following()).orElseThrow();
    live1.sendText("sub s 0");
    for (int i = 0; i < 4; i++) {
      run.publish("delta", "x y " + i); // spaces: encoded by the codec, kept by the slice
    }
    int derived = codec.reshapes.get();

    InMemoryConnection late2 = v2("late2");
    late2.sendText("sub s 0 - " + run.runId());
    InMemoryConnection late1 = tx.open("alice", "late1", Set.of());
    late1.sendText("sub s 0 - " + run.runId());

    assertEquals(texts(live2, "cevent"), texts(late2, "cevent"), "replayed compact = live compact");
    assertEquals(texts(live2, "event"), texts(late2, "event"), "replayed run.started = live");
    assertEquals(texts(live1, "event"), texts(late1, "event"), "replayed full = live full");
    assertEquals(4, texts(late2, "cevent").size());
    // the ring keeps events as bytes: the first replay rebuilds run.started and the 4 deltas and
    // derives their compact form once; every later replay shares the rebuilt frames
    assertEquals(derived + 5, codec.reshapes.get(), "a frame rebuilt from the ring derives its form once");
    InMemoryConnection late3 = v2("late3");
    late3.sendText("sub s 0 - " + run.runId());
    assertEquals(texts(live2, "cevent"), texts(late3, "cevent"), "a second replay: the same bytes");
    assertEquals(derived + 5, codec.reshapes.get(), "and nothing derived again");

    // resume after a compact event: lastSeq from the compact form, then live, no gap, no dup
    InMemoryConnection again = v2("again");
    long last = events(late2).get(2).num("seq");
    again.sendText("sub s " + last + " " + run.epoch() + " " + run.runId());
    run.publish("delta", "after");
    assertEquals(List.of(4L, 5L, 6L), seqs(events(again)));
    assertEquals("cevent", events(again).get(2).type());
  }

  @Test
  void aHelloMidStreamSwitchesAtAFrameBoundaryWithNoGapAndNoDuplicate() {
    InMemoryConnection a = tx.open("alice", "a", Set.of());
    RunHandle run = rl.startRun(StartRequest.of("s", "alice").fromConnection(a.id()).following()).orElseThrow();
    run.publish("delta", "before-1");
    run.publish("delta", "before-2");
    a.sendText("hello 2");
    run.publish("delta", "after-1");
    run.publish("delta", "after-2");
    run.complete(null);

    List<WireMessage> all = a.messages();
    int hello = -1;
    for (int i = 0; i < all.size(); i++) {
      if (all.get(i).type().equals("hello")) {
        hello = i;
      }
    }
    assertTrue(hello > 0, "hello answered");
    assertEquals("2", all.get(hello).get("protocol"));
    List<Long> seqs = new ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      WireMessage m = all.get(i);
      if (!m.type().equals("event") && !m.type().equals("cevent")) {
        continue;
      }
      seqs.add(m.num("seq"));
      boolean host = !m.require("kind").startsWith("run.");
      String expected = i > hello && host ? "cevent" : "event";
      assertEquals(expected, m.type(), "seq " + m.num("seq") + (i > hello ? " after" : " before") + " the hello");
    }
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), seqs);
  }

  @Test
  void helloIsRefusedBelowOneOrNotANumberAndCappedAtTheCodecsNewest() {
    InMemoryConnection a = tx.open("alice", "a", Set.of());
    a.sendText("hello 0");
    assertEquals("INVALID_PAYLOAD", a.last("error").get("code"));
    a.sendText("hello two");
    assertEquals("INVALID_PAYLOAD", a.last("error").get("code"));
    a.sendText("hello 7");
    assertEquals("2", a.last("hello").get("protocol"), "the lower of asked and the codec's newest");

    close();
    codec = new CountingCodec(1);
    rl = build();
    tx = new InMemoryTransport(rl);
    InMemoryConnection b = tx.open("alice", "b", Set.of());
    b.sendText("hello 2");
    assertEquals("1", b.last("hello").get("protocol"), "a protocol-1 codec grants 1");
    RunHandle run = rl.startRun(StartRequest.of("s", "alice").fromConnection(b.id()).following()).orElseThrow();
    run.publish("delta", "x");
    assertEquals(List.of("event", "event"), events(b).stream().map(WireMessage::type).collect(Collectors.toList()));
    assertEquals(0, codec.reshapes.get(), "never asked on protocol 1");
  }

  @Test
  void aConnectionAttachedMidRunWithoutAnAckGetsFullFramesForGood() {
    InMemoryConnection starter = v2("starter");
    RunHandle run = rl.startRun(StartRequest.of("s", "alice").fromConnection(starter.id()).following()).orElseThrow();
    run.publish("delta", "one");
    InMemoryConnection host = v2("host-attached");
    assertTrue(rl.attach(run.runId(), host.id(), AttachMode.ADDITIVE).isOk());
    run.publish("delta", "two");
    RunHandle other = rl.startRun(StartRequest.of("t", "alice")).orElseThrow();
    host.sendText("sub t 0");
    other.publish("delta", "three");

    assertEquals("cevent", events(starter).get(2).type(), "the starter knows the run: compact");
    assertEquals(List.of("event", "event", "event"),
        events(host).stream().map(WireMessage::type).collect(Collectors.toList()),
        "no ack, no run.started: its client could not map a compact event");
    assertEquals(List.of(3L, 1L, 2L), seqs(events(host)));
  }

  @Test
  void aConnectionWithAPairedStreamTransportGetsFullFrames() {
    InMemoryConnection p = tx.open("alice", "p", Set.of(Capability.STREAM_TRANSPORT));
    p.sendText("hello 2");
    InMemoryConnection s = tx.openStream(p, StreamTransportTest.generation(p));
    assertNotNull(p.last("stream_paired"));
    RunHandle run = rl.startRun(StartRequest.of("s", "alice").fromConnection(p.id()).following()).orElseThrow();
    run.publish("delta", "x");
    assertEquals(List.of("event", "event"), events(s).stream().map(WireMessage::type).collect(Collectors.toList()),
        "acks travel on the primary, events on the stream: an event could overtake its ack");
  }
}
