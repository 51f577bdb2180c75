package dev.runlane;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One-time, short-lived stream tickets: the host issues one to an authenticated user over its
 * normal HTTP API; the client presents it when it opens the socket; the host consumes it before
 * registering the connection. Consumption is atomic: a ticket admits one connection at most.
 *
 * <pre>{@code
 * String t = runlane.tickets().issue("alice", null).token();      // POST /api/ticket
 * switch (runlane.tickets().consume(t)) { ... }                    // at WebSocket upgrade
 * }</pre>
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class StreamTickets {

  /** An issued ticket. */
  public record Ticket(String token, String principal, @Nullable String sessionId, long expiresAtEpochMillis) {}

  /** The answer to {@link #consume}. */
  public sealed interface Result permits Admitted, Refused {}

  /** The ticket was valid and is now consumed. */
  public record Admitted(String principal, @Nullable String sessionId) implements Result {}

  /** The ticket was refused; no connection may be admitted with it. */
  public record Refused(Reason reason) implements Result {}

  /** Why a ticket was refused. */
  public enum Reason {
    /** Never issued here (forged, mistyped, or from before a restart). */
    UNKNOWN,
    /** Already consumed once. */
    REPLAYED,
    /** Past its lifetime. */
    EXPIRED
  }

  private static final class Entry {
    final Ticket ticket;
    final long expiresAtNanos;
    boolean consumed;

    Entry(Ticket ticket, long expiresAtNanos) {
      this.ticket = ticket;
      this.expiresAtNanos = expiresAtNanos;
    }
  }

  private final TimeSource time;
  private final long ttlNanos;
  private final int maxOutstanding;
  private final SecureRandom random = new SecureRandom();
  // guarded by this; insertion order == expiry order (fixed ttl)
  private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();

  StreamTickets(TimeSource time, long ttlNanos, int maxOutstanding) {
    this.time = time;
    this.ttlNanos = ttlNanos;
    this.maxOutstanding = maxOutstanding;
  }

  /**
   * Issues a ticket for {@code principal}, optionally bound to a session.
   *
   * @throws IllegalStateException when {@code maxOutstanding} unexpired tickets exist already
   */
  public Ticket issue(String principal, @Nullable String sessionId) {
    Objects.requireNonNull(principal, "principal");
    byte[] b = new byte[24];
    random.nextBytes(b);
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    long now = time.nanoTime();
    synchronized (this) {
      purge(now);
      if (entries.size() >= maxOutstanding) {
        throw new IllegalStateException("too many outstanding stream tickets (" + maxOutstanding + ")");
      }
      Ticket t =
          new Ticket(token, principal, sessionId, time.epochMillis() + ttlNanos / 1_000_000);
      entries.put(token, new Entry(t, now + ttlNanos));
      return t;
    }
  }

  /** Consumes a ticket: admitted exactly once, then {@link Reason#REPLAYED} until it expires. */
  public Result consume(@Nullable String token) {
    if (token == null || token.isEmpty()) {
      return new Refused(Reason.UNKNOWN);
    }
    long now = time.nanoTime();
    synchronized (this) {
      Entry e = entries.get(token);
      if (e == null) {
        purge(now);
        return new Refused(Reason.UNKNOWN);
      }
      if (now - e.expiresAtNanos >= 0) {
        return new Refused(Reason.EXPIRED);
      }
      if (e.consumed) {
        return new Refused(Reason.REPLAYED);
      }
      e.consumed = true;
      return new Admitted(e.ticket.principal(), e.ticket.sessionId());
    }
  }

  /** Tickets held: unexpired ones, and expired or consumed ones kept to recognise late use. */
  public synchronized int outstanding() {
    purge(time.nanoTime());
    return entries.size();
  }

  private void purge(long now) {
    Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator();
    while (it.hasNext()) {
      Entry e = it.next().getValue();
      // expired tickets linger for one more lifetime, so a late use says EXPIRED, not UNKNOWN
      if (now - e.expiresAtNanos - ttlNanos >= 0) {
        it.remove();
      } else {
        break;
      }
    }
  }
}
