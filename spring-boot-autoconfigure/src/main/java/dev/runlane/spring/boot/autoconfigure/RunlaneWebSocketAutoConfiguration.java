package dev.runlane.spring.boot.autoconfigure;

import dev.runlane.Runlane;
import dev.runlane.transport.spring.RunlaneWebSocketHandler;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.web.socket.config.annotation.EnableWebSocket;
import org.springframework.web.socket.config.annotation.WebSocketConfigurer;
import org.springframework.web.socket.config.annotation.WebSocketHandlerRegistration;

/**
 * Serves Runlane on a servlet web application: the WebSocket endpoint at {@code
 * runlane.websocket.path} (a {@link RunlaneWebSocketHandler} with the JSON protocol) and the stream
 * ticket endpoint at {@code runlane.ticket-endpoint.path}.
 *
 * <p>Authentication: a handshake with an authenticated user (e.g. Spring Security's session) is
 * that user; otherwise the client passes a one-time ticket from the ticket endpoint as {@code
 * ?ticket=…}. The ticket endpoint issues tickets to a {@link RunlanePrincipalResolver} bean's answer,
 * else to the request's authenticated user.
 *
 * <p><b>Thread safety:</b> Spring calls it once, at start-up.
 */
@AutoConfiguration(after = RunlaneAutoConfiguration.class)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnClass({WebSocketConfigurer.class, RunlaneWebSocketHandler.class, ServletRegistrationBean.class})
@ConditionalOnBean(Runlane.class)
@ConditionalOnProperty(prefix = "runlane.websocket", name = "enabled", havingValue = "true", matchIfMissing = true)
@EnableWebSocket
public class RunlaneWebSocketAutoConfiguration {

  /** The Spring WebSocket transport, registering each connection with Runlane. */
  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean
  public RunlaneWebSocketHandler runlaneWebSocketHandler(
      Runlane runlane, RunlaneProperties properties, ObjectProvider<RunlaneLifecycle> lifecycle) {
    int max = Math.toIntExact(properties.getWebsocket().getMaxMessageSize().toBytes());
    RunlaneLifecycle gate = lifecycle.getIfUnique();
    return RunlaneWebSocketHandler.builder(gate != null ? gate::connect : runlane::connect)
        .maxTextMessageSize(max)
        .maxBinaryMessageSize(max)
        .build();
  }

  /** Maps the handler to {@code runlane.websocket.path}, with ticket authentication. */
  @Bean
  public WebSocketConfigurer runlaneWebSocketConfigurer(
      RunlaneWebSocketHandler handler, Runlane runlane, RunlaneProperties properties) {
    RunlaneProperties.WebSocket ws = properties.getWebsocket();
    return registry -> {
      WebSocketHandlerRegistration r =
          registry
              .addHandler(handler, ws.getPath())
              .addInterceptors(new TicketHandshakeInterceptor(runlane, ws.getTicketParameter()));
      if (!ws.getAllowedOriginPatterns().isEmpty()) {
        r.setAllowedOriginPatterns(ws.getAllowedOriginPatterns().toArray(new String[0]));
      }
    };
  }

  /** {@code POST runlane.ticket-endpoint.path} issues stream tickets. */
  @Bean
  @ConditionalOnProperty(prefix = "runlane.ticket-endpoint", name = "enabled", havingValue = "true", matchIfMissing = true)
  public ServletRegistrationBean<RunlaneTicketServlet> runlaneTicketEndpoint(
      Runlane runlane, RunlaneProperties properties, ObjectProvider<RunlanePrincipalResolver> resolver) {
    ServletRegistrationBean<RunlaneTicketServlet> bean =
        new ServletRegistrationBean<>(
            new RunlaneTicketServlet(runlane, resolver.getIfUnique()), properties.getTicketEndpoint().getPath());
    bean.setName("runlaneTicketEndpoint");
    return bean;
  }
}
