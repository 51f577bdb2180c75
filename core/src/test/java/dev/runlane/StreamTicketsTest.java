package dev.runlane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Stream tickets: one-time, short-lived, unguessable, bounded in number. */
class StreamTicketsTest {
  private static final long TTL = TimeUnit.SECONDS.toNanos(60);

  /** A clock that moves only when told; tickets schedule nothing. */
  static final class FakeTime implements TimeSource {
    long nanos = 5_000_000_000L;
    long millis = 1_700_000_000_000L;

    void advanceNanos(long n) {
      nanos += n;
      millis += n / 1_000_000;
    }

    @Override
    public long nanoTime() {
      return nanos;
    }

    @Override
    public long epochMillis() {
      return millis;
    }

    @Override
    public Cancellable schedule(long delayNanos, Runnable task) {
      throw new AssertionError("tickets must not need timers");
    }
  }

  private final FakeTime time = new FakeTime();
  private final StreamTickets tickets = new StreamTickets(time, TTL, 3);

  private static StreamTickets.Reason refusal(StreamTickets.Result r) {
    return assertInstanceOf(StreamTickets.Refused.class, r).reason();
  }

  @Test
  void aTicketAdmitsExactlyOnce() {
    StreamTickets.Ticket t = tickets.issue("alice", "s1");
    assertEquals("alice", t.principal());
    assertEquals("s1", t.sessionId());
    assertEquals(time.millis + 60_000, t.expiresAtEpochMillis());

    StreamTickets.Admitted a = assertInstanceOf(StreamTickets.Admitted.class, tickets.consume(t.token()));
    assertEquals("alice", a.principal());
    assertEquals("s1", a.sessionId());
    assertEquals(StreamTickets.Reason.REPLAYED, refusal(tickets.consume(t.token())));
    assertEquals(StreamTickets.Reason.REPLAYED, refusal(tickets.consume(t.token())));
  }

  @Test
  void ticketsWithoutSessionAreUnbound() {
    StreamTickets.Ticket t = tickets.issue("bob", null);
    StreamTickets.Admitted a = assertInstanceOf(StreamTickets.Admitted.class, tickets.consume(t.token()));
    assertEquals("bob", a.principal());
    assertEquals(null, a.sessionId());
  }

  @Test
  void expiresAtItsLifetimeEvenIfNeverUsed() {
    StreamTickets.Ticket early = tickets.issue("alice", null);
    StreamTickets.Ticket late = tickets.issue("alice", null);
    time.advanceNanos(TTL - 1);
    assertInstanceOf(StreamTickets.Admitted.class, tickets.consume(early.token()), "one nanosecond before the end");
    time.advanceNanos(1);
    assertEquals(StreamTickets.Reason.EXPIRED, refusal(tickets.consume(late.token())), "at the end");
    assertEquals(StreamTickets.Reason.EXPIRED, refusal(tickets.consume(early.token())), "expiry wins over replay");
  }

  @Test
  void anExpiredTicketIsRecognisedForOneMoreLifetimeThenForgotten() {
    StreamTickets.Ticket t = tickets.issue("alice", null);
    time.advanceNanos(2 * TTL - 1);
    assertEquals(StreamTickets.Reason.EXPIRED, refusal(tickets.consume(t.token())));
    time.advanceNanos(1);
    assertEquals(0, tickets.outstanding());
    assertEquals(StreamTickets.Reason.UNKNOWN, refusal(tickets.consume(t.token())));
  }

  @Test
  void unknownForgedAndEmptyTokensAreRefused() {
    StreamTickets.Ticket real = tickets.issue("alice", null);
    assertEquals(StreamTickets.Reason.UNKNOWN, refusal(tickets.consume(null)));
    assertEquals(StreamTickets.Reason.UNKNOWN, refusal(tickets.consume("")));
    assertEquals(StreamTickets.Reason.UNKNOWN, refusal(tickets.consume("not-a-ticket")));
    String forged = real.token().substring(0, real.token().length() - 1)
        + (real.token().endsWith("A") ? "B" : "A");
    assertEquals(StreamTickets.Reason.UNKNOWN, refusal(tickets.consume(forged)), "one character changed");
    StreamTickets other = new StreamTickets(time, TTL, 3);
    assertEquals(
        StreamTickets.Reason.UNKNOWN,
        refusal(other.consume(real.token())),
        "a ticket of another instance (e.g. before a restart) is unknown");
    assertInstanceOf(StreamTickets.Admitted.class, tickets.consume(real.token()), "the refusals consumed nothing");
  }

  @Test
  void tokensAreDistinctAndLong() {
    StreamTickets many = new StreamTickets(time, TTL, 10_000);
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 2_000; i++) {
      String token = many.issue("p", null).token();
      assertTrue(token.length() >= 32, "at least 192 bits, base64url: " + token);
      assertTrue(token.matches("[A-Za-z0-9_-]+"), "URL-safe: " + token);
      assertTrue(seen.add(token), "duplicate token " + token);
    }
  }

  @Test
  void boundedByCountUntilOldTicketsAgeOut() {
    List<String> issued =
        List.of(tickets.issue("a", null).token(), tickets.issue("b", null).token(), tickets.issue("c", null).token());
    assertEquals(3, tickets.outstanding());
    assertThrows(IllegalStateException.class, () -> tickets.issue("d", null));
    assertInstanceOf(StreamTickets.Admitted.class, tickets.consume(issued.get(0)));
    assertThrows(
        IllegalStateException.class,
        () -> tickets.issue("d", null),
        "a consumed ticket is kept (to answer REPLAYED) and still counts");
    time.advanceNanos(TTL);
    assertThrows(IllegalStateException.class, () -> tickets.issue("d", null), "expired ones linger one lifetime");
    time.advanceNanos(TTL);
    StreamTickets.Ticket d = tickets.issue("d", null);
    assertEquals(1, tickets.outstanding());
    assertInstanceOf(StreamTickets.Admitted.class, tickets.consume(d.token()));
  }

  @Test
  @Tag("stress")
  void concurrentConsumersAdmitOneConnectionPerTicket() throws Exception {
    int threads = 6;
    int rounds = 300 * Integer.getInteger("runlane.stress.scale", 1);
    StreamTickets shared = new StreamTickets(time, TTL, rounds + 1);
    for (int round = 0; round < rounds; round++) {
      String token = shared.issue("alice", null).token();
      AtomicInteger admitted = new AtomicInteger();
      AtomicInteger replayed = new AtomicInteger();
      CyclicBarrier start = new CyclicBarrier(threads);
      CountDownLatch done = new CountDownLatch(threads);
      for (int t = 0; t < threads; t++) {
        Thread th =
            new Thread(
                () -> {
                  try {
                    start.await(10, TimeUnit.SECONDS);
                    StreamTickets.Result r = shared.consume(token);
                    if (r instanceof StreamTickets.Admitted) {
                      admitted.incrementAndGet();
                    } else if (((StreamTickets.Refused) r).reason() == StreamTickets.Reason.REPLAYED) {
                      replayed.incrementAndGet();
                    }
                  } catch (Exception e) {
                    throw new IllegalStateException(e);
                  } finally {
                    done.countDown();
                  }
                });
        th.start();
      }
      assertTrue(done.await(30, TimeUnit.SECONDS), "consumers finished");
      assertEquals(1, admitted.get(), "round " + round + ": exactly one admission");
      assertEquals(threads - 1, replayed.get(), "round " + round + ": the others see REPLAYED");
    }
    assertNotEquals(0, shared.outstanding());
  }
}
