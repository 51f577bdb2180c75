package dev.runlane.transport.jetty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Frame;
import dev.runlane.transport.Lane;
import dev.runlane.transport.Payload;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@link JettyConnection}'s own guarantees, against a scripted session. */
class JettyConnectionTest {

  private final FakeSession fake = new FakeSession();
  private final JettyConnection connection =
      new JettyConnection("c1", "alice", fake.session, Set.of());

  @Test
  void callbackFiresOnceEvenIfJettyCompletesItTwice() {
    fake.onSend =
        (message, callback) -> {
          callback.succeed();
          callback.succeed();
          callback.fail(new IllegalStateException("late"));
        };
    CountingCallback cb = new CountingCallback(1);
    connection.send(Frame.control("x"), cb);
    assertEquals(1, cb.successes.get());
    assertEquals(0, cb.failures.get());
  }

  @Test
  void aThrowingSessionIsReportedAsOneFailure() {
    fake.onSend =
        (message, callback) -> {
          callback.fail(new IllegalStateException("first"));
          throw new IllegalStateException("then threw");
        };
    CountingCallback cb = new CountingCallback(1);
    connection.send(Frame.control("x"), cb);
    assertEquals(0, cb.successes.get());
    assertEquals(1, cb.failures.get());
    assertEquals("first", cb.lastFailure.getMessage());
  }

  @Test
  void aThrowingSendCallbackDoesNotEscape() {
    connection.send(
        Frame.control("x"),
        new dev.runlane.transport.SendCallback() {
          @Override
          public void succeeded() {
            throw new IllegalStateException("test: callback bug");
          }

          @Override
          public void failed(Throwable cause) {}
        });
    assertEquals(1, fake.sent.size());
  }

  @Test
  void sendAfterCloseFailsWithoutWriting() {
    connection.close(CloseReason.NORMAL);
    CountingCallback cb = new CountingCallback(1);
    connection.send(Frame.control("x"), cb);
    assertEquals(1, cb.failures.get());
    assertInstanceOf(ClosedChannelException.class, cb.lastFailure);
    assertTrue(fake.sent.isEmpty());
  }

  @Test
  void sendWhenJettySaysClosedFailsWithoutWriting() {
    fake.open = false;
    CountingCallback cb = new CountingCallback(1);
    connection.send(Frame.control("x"), cb);
    assertEquals(1, cb.failures.get());
    assertTrue(fake.sent.isEmpty());
  }

  @Test
  void isOpenNeverTurnsBackToTrue() {
    assertTrue(connection.isOpen());
    fake.open = false;
    assertFalse(connection.isOpen());
    fake.open = true;
    assertFalse(connection.isOpen());
  }

  @Test
  void binaryIsWrittenByteForByteAndTheSharedPayloadIsNotConsumed() {
    Payload.Binary payload = Payload.binary(new byte[] {1, 2, 3, (byte) 0xff});
    connection.send(new Frame(Lane.STREAM, payload), new CountingCallback(1));
    connection.send(new Frame(Lane.STREAM, payload), new CountingCallback(1));
    assertArrayEquals(new byte[] {1, 2, 3, (byte) 0xff}, (byte[]) fake.sent.get(0));
    assertArrayEquals(new byte[] {1, 2, 3, (byte) 0xff}, (byte[]) fake.sent.get(1));
    assertEquals(4, payload.sizeInBytes());
  }

  @Test
  void closeIsIdempotentAndTerminateStillDrops() {
    connection.close(new CloseReason(4000, "behind"));
    connection.close(CloseReason.NORMAL);
    assertEquals(List.of("4000:behind"), fake.closes);
    connection.terminate();
    connection.terminate();
    assertEquals(1, fake.disconnects.get());
  }

  @Test
  void closeAfterTerminateIsANoOp() {
    connection.terminate();
    connection.close(CloseReason.NORMAL);
    assertTrue(fake.closes.isEmpty());
    assertEquals(1, fake.disconnects.get());
  }

  @Test
  void codesThatMayNotTravelAreSentAs1011() {
    connection.close(new CloseReason(1006, "abnormal"));
    assertEquals(List.of("1011:abnormal"), fake.closes);
  }

  @Test
  void reasonIsTruncatedTo123BytesAtACharacterBoundary() {
    String rockets = "\ud83d\ude80".repeat(40); // 160 bytes, 4 per character
    assertEquals(120, JettyConnection.truncateUtf8(rockets, 123).getBytes(StandardCharsets.UTF_8).length);
    String ascii = "a".repeat(200);
    assertEquals("a".repeat(123), JettyConnection.truncateUtf8(ascii, 123));
    assertEquals("short", JettyConnection.truncateUtf8("short", 123));
    String mixed = "a".repeat(122) + "\u00e9"; // the 2-byte character would end at byte 124
    assertEquals("a".repeat(122), JettyConnection.truncateUtf8(mixed, 123));
  }

  @Test
  void binaryPingAndJoinedMessagesAreAlwaysDeclaredAndStreamTransportOnlyOnRequest() {
    assertEquals(
        Set.of(Capability.BINARY, Capability.TRANSPORT_PING, Capability.JOINED_MESSAGES), connection.capabilities());
    JettyConnection paired =
        new JettyConnection("c2", "alice", fake.session, Set.of(Capability.STREAM_TRANSPORT));
    assertEquals(
        Set.of(Capability.BINARY, Capability.TRANSPORT_PING, Capability.JOINED_MESSAGES, Capability.STREAM_TRANSPORT),
        paired.capabilities());
  }

  @Test
  void pingSendsAWebSocketPingWhileOpenAndNothingOnceClosed() {
    connection.ping();
    assertEquals(1, fake.pings.get());
    fake.throwOnPing = true;
    connection.ping(); // a throwing session never escapes ping() (rule T8.2)
    fake.throwOnPing = false;
    connection.close(CloseReason.NORMAL);
    connection.ping();
    assertEquals(2, fake.pings.get());
  }
}
