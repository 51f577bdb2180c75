package dev.runlane.spring.boot.autoconfigure;

import dev.runlane.Runlane;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Payload;
import java.util.Objects;
import org.springframework.context.SmartLifecycle;

/**
 * Pauses and resumes the {@link Runlane} bean with the application context. {@link #stop()} drains
 * it ({@link Runlane#drain()}): running runs are cancelled through the runtime's cancel hook and
 * failed with {@code SHUTDOWN}, and every connection is closed with 1001 (going away: reconnect
 * elsewhere or later and resume); while stopped, the starter's endpoints refuse new connections the
 * same way ({@link #connect}). {@link #start()} accepts connections again, so a context that stops
 * and starts again (Spring 7's context pausing, {@code ConfigurableApplicationContext.stop()} then
 * {@code start()}) serves with the same {@code Runlane} bean. Runlane itself is closed only when the
 * bean is destroyed, at the context's close.
 *
 * <p>Its phase, {@link #PHASE}, is above Spring Boot's graceful web server shutdown ({@code
 * DEFAULT_PHASE - 1024}) and the web server's stop ({@code DEFAULT_PHASE - 2048}); phases stop from
 * the highest down, so Runlane's close frames go out while the server still runs.
 *
 * <p><b>Thread safety:</b> thread-safe; Spring's lifecycle processor calls {@code start} and {@code
 * stop}, the transports call {@link #connect} from their threads.
 */
public final class RunlaneLifecycle implements SmartLifecycle {

  /** {@code DEFAULT_PHASE - 512}. */
  public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 512;

  private static final InboundHandler REFUSED =
      new InboundHandler() {
        @Override
        public void onFrame(Payload payload) {}

        @Override
        public void onActivity() {}

        @Override
        public void onClose(CloseReason reason) {}
      };

  private final Runlane runlane;
  private volatile boolean running;
  /** Set by {@link #stop()}, cleared by {@link #start()}: before the first start, connections are accepted. */
  private volatile boolean stopped;

  /** Drains {@code runlane} on stop. */
  public RunlaneLifecycle(Runlane runlane) {
    this.runlane = Objects.requireNonNull(runlane, "runlane");
  }

  @Override
  public void start() {
    stopped = false;
    running = true;
  }

  @Override
  public void stop() {
    running = false;
    stopped = true;
    runlane.drain();
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  @Override
  public int getPhase() {
    return PHASE;
  }

  /**
   * Registers a transport's new connection with Runlane, or, while stopped, closes it with 1001
   * (going away) and returns a handler that ignores it. The starter's WebSocket and SSE endpoints
   * accept through it.
   */
  public InboundHandler connect(Connection connection) {
    if (stopped) {
      connection.close(CloseReason.GOING_AWAY);
      return REFUSED;
    }
    InboundHandler handler = runlane.connect(connection);
    if (stopped) {
      // stop() ran while this connection registered, maybe after its drain looked: send it away too
      runlane.disconnect(connection.id(), CloseReason.GOING_AWAY);
    }
    return handler;
  }
}
