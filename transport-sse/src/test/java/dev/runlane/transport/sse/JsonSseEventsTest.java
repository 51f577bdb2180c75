package dev.runlane.transport.sse;

import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.ResumeStatus;
import dev.runlane.codec.Outbound;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.engine.FrameMeta;
import dev.runlane.protocol.json.JsonWireCodec;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.Payload;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link JsonSseEvents}: protocol 2's compact events get the same {@code id:} as their full form
 * once the run's session and epoch were seen (a full run event or a subscribe ack), so a browser's
 * own reconnect resumes right after the last compact event it got.
 */
class JsonSseEventsTest {
  final JsonWireCodec codec = new JsonWireCodec();
  final JsonSseEvents events = new JsonSseEvents();

  Outbound.RunEvent event(String runId, String session, String epoch, long seq, String type) {
    return new Outbound.RunEvent(runId, session, epoch, seq, type, "x");
  }

  Frame full(Outbound.RunEvent e) {
    return new Frame(Lane.STREAM, codec.encode(e));
  }

  Frame compact(Outbound.RunEvent e) {
    Payload p = codec.reshape(codec.encode(e), FrameMeta.event(e.seq()), 2);
    assertNotNull(p, "a host event has a compact form");
    return new Frame(Lane.STREAM, p);
  }

  Frame ack(String runId, String session, String epoch) {
    SubscribeAck a =
        new SubscribeAck(session, runId, epoch, ResumeStatus.EXACT, true, 3, 1, 4, 3, false, false, List.of(), null, 3);
    return new Frame(Lane.CONTROL, codec.encode(new Outbound.Subscribed(a, null)));
  }

  @Test
  void aCompactEventGetsItsFullFormsIdOnceItsRunIsKnown() {
    String session = "alice/chat ü";
    Outbound.RunEvent started = event("run_1", session, "e 1", 1, "run.started");
    Outbound.RunEvent delta = event("run_1", session, "e 1", 2, "delta");
    assertNull(events.eventId(compact(delta)), "an unknown run: no id (never a wrong one)");
    assertEquals(JsonSseEvents.id(session, "e 1", 1), events.eventId(full(started)));
    assertEquals(events.eventId(full(delta)), events.eventId(compact(delta)), "the same id as the full form");
    assertEquals(JsonSseEvents.id(session, "e 1", 2), events.eventId(compact(delta)));
  }

  @Test
  void aSubscribeAckMakesItsRunKnown() {
    Outbound.RunEvent delta = event("run_2", "bob/s", "ep", 7, "delta");
    assertNull(events.eventId(compact(delta)));
    assertNull(events.eventId(ack("run_2", "bob/s", "ep")), "an ack itself has no id");
    assertEquals(JsonSseEvents.id("bob/s", "ep", 7), events.eventId(compact(delta)));
    assertNull(events.eventId(compact(event("run_3", "bob/s", "ep", 8, "delta"))), "another run stays unknown");
  }

  @Test
  void theRecordIsBounded() {
    for (int i = 0; i <= JsonSseEvents.MAX_RUNS; i++) {
      events.eventId(full(event("r" + i, "s", "e", 1, "delta")));
    }
    int known = 0;
    for (int i = 0; i <= JsonSseEvents.MAX_RUNS; i++) {
      if (events.eventId(compact(event("r" + i, "s", "e", 2, "delta"))) != null) {
        known++;
      }
    }
    assertTrue(known >= 1 && known <= JsonSseEvents.MAX_RUNS, "at most MAX_RUNS remembered, the newest among them: " + known);
    assertNotNull(events.eventId(compact(event("r" + JsonSseEvents.MAX_RUNS, "s", "e", 2, "delta"))));
  }
}
