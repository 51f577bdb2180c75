package dev.runlane.spring.boot.autoconfigure;

import dev.runlane.Runlane;
import dev.runlane.StreamTickets;
import dev.runlane.transport.spring.RunlaneWebSocketHandler;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.server.ServerHttpRequest;
import org.springframework.http.server.ServerHttpResponse;
import org.springframework.web.socket.WebSocketHandler;
import org.springframework.web.socket.server.HandshakeInterceptor;
import org.springframework.web.util.UriComponentsBuilder;

/**
 * Authenticates the WebSocket upgrade: a request with an authenticated user (Spring Security's
 * principal) passes as that user; otherwise the one-time stream ticket in the query is consumed,
 * and a missing, forged, replayed or expired ticket is answered with HTTP 401 before any frame.
 */
final class TicketHandshakeInterceptor implements HandshakeInterceptor {
  private static final Logger LOG = LoggerFactory.getLogger(TicketHandshakeInterceptor.class);

  private final Runlane runlane;
  private final String parameter;

  TicketHandshakeInterceptor(Runlane runlane, String parameter) {
    this.runlane = runlane;
    this.parameter = parameter;
  }

  @Override
  public boolean beforeHandshake(
      ServerHttpRequest request, ServerHttpResponse response, WebSocketHandler wsHandler, Map<String, Object> attributes) {
    if (request.getPrincipal() != null) {
      return true; // the handler reads the session's principal
    }
    String raw = UriComponentsBuilder.fromUri(request.getURI()).build().getQueryParams().getFirst(parameter);
    String ticket = raw == null ? null : URLDecoder.decode(raw, StandardCharsets.UTF_8);
    StreamTickets.Result r = runlane.tickets().consume(ticket);
    if (r instanceof StreamTickets.Admitted) {
      attributes.put(RunlaneWebSocketHandler.PRINCIPAL_ATTRIBUTE, ((StreamTickets.Admitted) r).principal());
      return true;
    }
    LOG.debug("Refused a WebSocket upgrade from {}: ticket {}", request.getRemoteAddress(), ((StreamTickets.Refused) r).reason());
    response.setStatusCode(HttpStatus.UNAUTHORIZED);
    return false;
  }

  @Override
  public void afterHandshake(
      ServerHttpRequest request, ServerHttpResponse response, WebSocketHandler wsHandler, @Nullable Exception exception) {}
}
