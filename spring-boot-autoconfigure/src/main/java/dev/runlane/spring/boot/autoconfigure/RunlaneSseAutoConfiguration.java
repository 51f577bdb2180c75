package dev.runlane.spring.boot.autoconfigure;

import dev.runlane.Runlane;
import dev.runlane.codec.WireCodec;
import dev.runlane.protocol.json.JsonWireCodec;
import dev.runlane.transport.sse.JsonSseEvents;
import dev.runlane.transport.sse.SseEvents;
import dev.runlane.transport.sse.SseRunlaneServlet;
import java.security.Principal;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;

/**
 * Serves Runlane over Server-Sent Events at {@code runlane.sse.path} when {@code
 * runlane-transport-sse} is on the class path of a servlet web application. With the JSON protocol,
 * run events carry resumable ids, so a browser's automatic {@code EventSource} reconnect resumes
 * exactly. See {@code docs/guides/sse.md}.
 *
 * <p><b>Thread safety:</b> Spring calls it once, at start-up.
 */
@AutoConfiguration(after = RunlaneAutoConfiguration.class)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnClass({SseRunlaneServlet.class, ServletRegistrationBean.class})
@ConditionalOnBean(Runlane.class)
@ConditionalOnProperty(prefix = "runlane.sse", name = "enabled", havingValue = "true", matchIfMissing = true)
public class RunlaneSseAutoConfiguration {

  /** The SSE servlet, registered with async support at {@code runlane.sse.path}. */
  @Bean
  public ServletRegistrationBean<SseRunlaneServlet> runlaneSseEndpoint(
      Runlane runlane,
      WireCodec codec,
      RunlaneProperties properties,
      ObjectProvider<RunlanePrincipalResolver> resolver,
      ObjectProvider<RunlaneLifecycle> lifecycle) {
    RunlanePrincipalResolver custom = resolver.getIfUnique();
    RunlaneLifecycle gate = lifecycle.getIfUnique();
    RunlaneProperties.Sse sse = properties.getSse();
    SseEvents events = codec instanceof JsonWireCodec ? new JsonSseEvents() : SseEvents.none();
    SseRunlaneServlet servlet =
        SseRunlaneServlet.builder(gate != null ? gate::connect : runlane::connect)
            .principal(
                request -> {
                  if (custom != null) {
                    return custom.principal(request);
                  }
                  Principal user = request.getUserPrincipal();
                  return user == null ? null : user.getName();
                })
            .events(events)
            .keepAliveInterval(sse.getKeepAliveInterval())
            .maxCommandBytes(Math.toIntExact(sse.getMaxCommandSize().toBytes()))
            .build();
    ServletRegistrationBean<SseRunlaneServlet> bean = new ServletRegistrationBean<>(servlet, sse.getPath());
    bean.setName("runlaneSseEndpoint");
    bean.setAsyncSupported(true);
    return bean;
  }
}
