package dev.runlane.examples.springboot;

import dev.runlane.Authorizer;
import dev.runlane.examples.chat.DemoAgent;
import dev.runlane.spring.boot.autoconfigure.RunlanePrincipalResolver;
import java.time.Duration;
import java.util.regex.Pattern;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;

/**
 * The chat example on Spring Boot. Everything Runlane needs is two beans: the runtime (the demo
 * agent) and the authorizer; {@code runlane-spring-boot-starter} builds Runlane from them, serves the
 * WebSocket at {@code runlane.websocket.path} and closes it gracefully on shutdown. {@link
 * DemoLoginController} is the demo's login, issuing stream tickets.
 *
 * <pre>
 * mvn -B -q -pl examples/spring-boot-chat -am compile -Prun-boot     # then open http://localhost:8080/
 * </pre>
 *
 * <p><b>Thread safety:</b> a Spring application; its beans are thread-safe.
 */
@SpringBootApplication
public class SpringBootChatApplication {

  /** Starts the application. */
  public static void main(String[] args) {
    SpringApplication.run(SpringBootChatApplication.class, args);
  }

  /** The demo agent: streams an answer token by token, asks for a tool approval now and then. */
  @Bean
  public DemoAgent demoAgent(
      @Value("${chat.pace:30ms}") Duration pace, @Value("${chat.approval-every:3}") int approvalEvery) {
    return new DemoAgent(pace, approvalEvery, Duration.ofMinutes(5));
  }

  /**
   * The demo's login for the SSE endpoint ({@code GET /runlane/sse?user=alice}): like the ticket
   * login, it trusts the name. A real application uses Spring Security's session cookie, which the
   * browser sends with every {@code EventSource} reconnect.
   */
  @Bean
  public RunlanePrincipalResolver demoUser() {
    Pattern name = Pattern.compile("[A-Za-z0-9_.-]{1,32}");
    return request -> {
      String user = request.getParameter("user");
      return user != null && name.matcher(user).matches() ? user : null;
    };
  }

  /**
   * A user's sessions are the ids starting with {@code "<name>/"}; any other session does not exist
   * for them, so nobody can start, follow, abort or approve in another's (as in the Jetty example).
   */
  @Bean
  public Authorizer ownSessionsOnly() {
    return (principal, action, sessionId, owner) ->
        sessionId.startsWith(principal + "/") ? Authorizer.Decision.ALLOW : Authorizer.Decision.NOT_FOUND;
  }
}
