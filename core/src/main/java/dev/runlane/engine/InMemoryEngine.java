package dev.runlane.engine;

import dev.runlane.ErrorCode;
import dev.runlane.Result;
import dev.runlane.RunOutcome;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;
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
  public RunLogView view(String runId) {
    return EMPTY_VIEW;
  }

  private static final RunLogView EMPTY_VIEW =
      new RunLogView() {
        @Override
        public long head() {
          return 0;
        }

        @Override
        public long oldest() {
          return 1;
        }

        @Override
        public void read(long from, long to, java.util.function.Consumer<EncodedFrame> sink) {}

        @Override
        public java.util.List<EncodedFrame> pendingApprovals() {
          return java.util.List.of();
        }
      };

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

  /**
   * Only running runs are recorded: in one JVM core holds the ended ones itself (and evicts them
   * after retention), so nothing here outlives a run's end.
   */
  private static final class Directory implements RunDirectory {
    final ConcurrentHashMap<String, RunRecord> running = new ConcurrentHashMap<>();

    @Override
    public Optional<String> claim(RunRecord run) {
      RunRecord held = running.putIfAbsent(run.sessionId(), run);
      return held == null ? Optional.empty() : Optional.of(held.runId());
    }

    @Override
    public boolean end(RunOutcome outcome, @Nullable EncodedFrame terminal) {
      RunRecord held = running.get(outcome.sessionId());
      return held != null && held.runId().equals(outcome.runId()) && running.remove(outcome.sessionId(), held);
    }

    @Override
    public Optional<RunRecord> lookup(String runId) {
      for (RunRecord r : running.values()) {
        if (r.runId().equals(runId)) {
          return Optional.of(r);
        }
      }
      return Optional.empty();
    }

    @Override
    public Optional<RunRecord> latest(String sessionId) {
      return Optional.ofNullable(running.get(sessionId));
    }

    @Override
    public Optional<String> running(String sessionId) {
      RunRecord r = running.get(sessionId);
      return r == null ? Optional.empty() : Optional.of(r.runId());
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
