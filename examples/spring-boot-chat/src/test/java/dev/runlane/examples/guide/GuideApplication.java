package dev.runlane.examples.guide;

import dev.runlane.RunRuntime;
import dev.runlane.spring.boot.autoconfigure.RunlanePrincipalResolver;
import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;

@SpringBootApplication
public class GuideApplication {

  public static void main(String[] args) {
    SpringApplication.run(GuideApplication.class, args);
  }

  /** Runs each run a client starts: here, echo the prompt word by word. */
  @Bean
  RunRuntime echoAgent() {
    return (run, input) -> {
      for (String word : String.valueOf(input).split(" ")) {
        run.publish("delta", Map.of("text", word + " "));
      }
      run.complete(Map.of("words", String.valueOf(input).split(" ").length));
    };
  }

  /** Who asks for a stream ticket. Use Spring Security instead, and drop this bean. */
  @Bean
  RunlanePrincipalResolver demoLogin() {
    return request -> request.getParameter("user");
  }
}
