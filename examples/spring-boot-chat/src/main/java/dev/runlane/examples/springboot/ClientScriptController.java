package dev.runlane.examples.springboot;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Objects;
import java.util.Properties;
import org.springframework.http.CacheControl;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /runlane-client.js}: the Runlane JavaScript client from its WebJar ({@code
 * runlane-client-js}), at the path the shared page imports it from (the Jetty example serves it
 * there too). Spring Boot also serves it under {@code /webjars/runlane-client/<version>/}.
 *
 * <p><b>Thread safety:</b> immutable after construction.
 */
@RestController
public class ClientScriptController {
  private static final MediaType JAVASCRIPT = MediaType.parseMediaType("text/javascript;charset=UTF-8");

  private final byte[] script;

  /** Reads the script once; fails at start-up if the WebJar is missing. */
  public ClientScriptController() {
    this.script = read("/" + Objects.requireNonNull(properties().getProperty("script"), "script"));
  }

  /** The client script. */
  @GetMapping("/runlane-client.js")
  public ResponseEntity<byte[]> script() {
    return ResponseEntity.ok().contentType(JAVASCRIPT).cacheControl(CacheControl.noCache()).body(script);
  }

  private static Properties properties() {
    Properties p = new Properties();
    try (InputStream in = ClientScriptController.class.getResourceAsStream("/META-INF/runlane-client-js.properties")) {
      if (in == null) {
        throw new IllegalStateException("runlane-client-js (the WebJar) is not on the classpath");
      }
      p.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return p;
  }

  private static byte[] read(String path) {
    try (InputStream in = ClientScriptController.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + path);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
