package dev.runlane.engine;

import dev.runlane.Result;
import java.util.concurrent.CompletionStage;

/**
 * Command routing: an abort or an approval answer issued on any node reaches the node running the
 * run's runtime, once, and its answer comes back to the issuing node. In one JVM the handler is
 * called directly; a cluster engine publishes the command to the owning node's channel and
 * completes the stage with the owner's answer.
 *
 * <p><b>Thread safety:</b> must be safe for concurrent use. Never called under a Runlane lock;
 * handlers are called under none either.
 */
public interface CommandRouter {

  /** What the owning node does with a command: its answer. */
  @FunctionalInterface
  interface Handler {
    /** Executes {@code command}; must not throw. */
    Result<?> handle(RunCommand command);
  }

  /**
   * Registers the node that runs {@code runId}'s runtime. Called once when the run starts here.
   *
   * @return the binding; closed when the run ends
   */
  Binding bind(String runId, Handler handler);

  /**
   * Delivers {@code command} to the node bound to {@code runId}, once.
   *
   * @return the owner's answer; a {@code NO_ACTIVE_RUN} refusal if no node is bound (the run ended
   *     or its node is gone)
   */
  CompletionStage<Result<?>> route(String runId, RunCommand command);

  /** A registration of a run's owner. */
  interface Binding extends AutoCloseable {
    /** Removes the registration; idempotent, never throws. */
    @Override
    void close();
  }
}
