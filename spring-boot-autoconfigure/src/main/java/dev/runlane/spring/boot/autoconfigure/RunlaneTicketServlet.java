package dev.runlane.spring.boot.autoconfigure;

import dev.runlane.Runlane;
import dev.runlane.StreamTickets;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import org.jspecify.annotations.Nullable;

/**
 * {@code POST runlane.ticket-endpoint.path}: issues a one-time stream ticket to the request's
 * principal and answers {@code {"ticket":"…","principal":"…","expiresAt":…}}; 401 without a
 * principal, 405 for other methods, 503 when too many tickets are outstanding. The client opens
 * the WebSocket with {@code ?ticket=…} within {@code runlane.ticket-ttl}.
 */
final class RunlaneTicketServlet extends HttpServlet {
  private static final long serialVersionUID = 1L;

  private final transient Runlane runlane;
  private final transient @Nullable RunlanePrincipalResolver resolver;

  RunlaneTicketServlet(Runlane runlane, @Nullable RunlanePrincipalResolver resolver) {
    this.runlane = runlane;
    this.resolver = resolver;
  }

  @Override
  protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
    response.setHeader("Cache-Control", "no-store");
    if (!"POST".equals(request.getMethod())) {
      response.setHeader("Allow", "POST");
      json(response, HttpServletResponse.SC_METHOD_NOT_ALLOWED, "{\"error\":\"use POST\"}");
      return;
    }
    String principal = principalOf(request);
    if (principal == null || principal.isEmpty()) {
      json(response, HttpServletResponse.SC_UNAUTHORIZED, "{\"error\":\"not authenticated\"}");
      return;
    }
    StreamTickets.Ticket t;
    try {
      t = runlane.tickets().issue(principal, null);
    } catch (IllegalStateException e) {
      json(response, HttpServletResponse.SC_SERVICE_UNAVAILABLE, "{\"error\":\"too many tickets; retry later\"}");
      return;
    }
    json(
        response,
        HttpServletResponse.SC_OK,
        "{\"ticket\":" + quote(t.token()) + ",\"principal\":" + quote(t.principal()) + ",\"expiresAt\":" + t.expiresAtEpochMillis() + "}");
  }

  private @Nullable String principalOf(HttpServletRequest request) {
    RunlanePrincipalResolver r = resolver;
    if (r != null) {
      return r.principal(request);
    }
    Principal user = request.getUserPrincipal();
    return user == null ? null : user.getName();
  }

  private static void json(HttpServletResponse response, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    response.setStatus(status);
    response.setContentType("application/json");
    response.setContentLength(bytes.length);
    response.getOutputStream().write(bytes);
  }

  /** A JSON string literal. */
  static String quote(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c < 0x20 || c == 0x2028 || c == 0x2029) {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append('"').toString();
  }
}
