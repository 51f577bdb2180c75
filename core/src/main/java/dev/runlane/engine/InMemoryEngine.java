package dev.runlane.engine;

import dev.runlane.ErrorCode;
import dev.runlane.Result;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded default engine: every run lives in this JVM. Logs are bounded rings, the directory
 * is a map, commands are handed to the run's handler directly; nothing survives a restart (every
 * run's epoch is new, so clients of a restarted server are told their position is gone).
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class InMemoryEngine implements Engine {
  private static final Logger LOG = LoggerFactory.getLogger(InMemoryEngine.class);

  private final Directory directory = new Directory();
  private final Router router = new Router();

  /** A new, empty engine. */
  public InMemoryEngine() {}

  @Override
  public RunLog newLog(String runId, int maxFrames, long maxBytes) {
    return new ReplayRing(maxFrames, maxBytes);
  }

  @Override
  public RunDirectory directory() {
    return directory;
  }

  @Override
  public CommandRouter commands() {
    return router;
  }

  @Override
  public String newEpoch() {
    return Long.toHexString(ThreadLocalRandom.current().nextLong() | 1L << 63);
  }

  @Override
  public void close() {}

  /** Sessions with a running run, and the bound command handlers (for leak checks in tests). */
  int heldEntries() {
    return directory.running.size() + router.handlers.size();
  }

  private static final class Directory implements RunDirectory {
    final ConcurrentHashMap<String, String> running = new ConcurrentHashMap<>();

    @Override
    public Optional<String> claim(String sessionId, String runId) {
      return Optional.ofNullable(running.putIfAbsent(sessionId, runId));
    }

    @Override
    public boolean end(String sessionId, String runId) {
      return running.remove(sessionId, runId);
    }

    @Override
    public Optional<String> running(String sessionId) {
      return Optional.ofNullable(running.get(sessionId));
    }
  }

  private static final class Router implements CommandRouter {
    final ConcurrentHashMap<String, Handler> handlers = new ConcurrentHashMap<>();

    @Override
    public Binding bind(String runId, Handler handler) {
      Objects.requireNonNull(handler, "handler");
      if (handlers.putIfAbsent(runId, handler) != null) {
        throw new IllegalStateException("run " + runId + " is already bound");
      }
      return () -> handlers.remove(runId, handler);
    }

    @Override
    public CompletionStage<Result<?>> route(String runId, RunCommand command) {
      Handler h = handlers.get(runId);
      if (h == null) {
        return CompletableFuture.completedFuture(
            Result.refused(ErrorCode.NO_ACTIVE_RUN, "run " + runId + " is not running"));
      }
      try {
        return CompletableFuture.completedFuture(h.handle(command));
      } catch (RuntimeException e) {
        LOG.error("command handler of run {} threw", runId, e);
        return CompletableFuture.completedFuture(
            Result.refused(ErrorCode.INTERNAL_ERROR, "command failed"));
      }
    }
  }
}
