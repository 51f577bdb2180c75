package dev.runlane.examples.springboot;

import dev.runlane.Runlane;
import dev.runlane.StreamTickets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code POST /api/ticket} with {@code name=<user>}: the demo's login, as in the Jetty example. A
 * real application authenticates the user here (or uses the starter's own ticket endpoint behind
 * Spring Security) and issues the ticket to the principal it resolved; the demo trusts the name.
 *
 * <p><b>Thread safety:</b> stateless; the {@link Runlane} bean is thread-safe.
 */
@RestController
public class DemoLoginController {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,32}");

  private final Runlane runlane;

  /** The login, issuing tickets from the starter's {@code Runlane} bean. */
  public DemoLoginController(Runlane runlane) {
    this.runlane = runlane;
  }

  /** Issues a stream ticket for {@code name} and names the user's chat session. */
  @PostMapping("/api/ticket")
  public ResponseEntity<Map<String, Object>> ticket(@RequestParam(name = "name", required = false) @Nullable String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      return ResponseEntity.badRequest().body(Map.of("error", "name must be 1-32 letters, digits, '.', '_' or '-'"));
    }
    StreamTickets.Ticket t;
    try {
      t = runlane.tickets().issue(name, null);
    } catch (IllegalStateException e) {
      return ResponseEntity.status(503).body(Map.of("error", "too many tickets; retry later"));
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("ticket", t.token());
    body.put("principal", t.principal());
    body.put("sessionId", name + "/chat");
    body.put("expiresAt", t.expiresAtEpochMillis());
    return ResponseEntity.ok().header("Cache-Control", "no-store").body(body);
  }
}
