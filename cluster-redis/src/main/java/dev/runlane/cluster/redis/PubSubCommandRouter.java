package dev.runlane.cluster.redis;

import dev.runlane.ErrorCode;
import dev.runlane.Result;
import dev.runlane.RunOutcome;
import dev.runlane.engine.CommandRouter;
import dev.runlane.engine.RunCommand;
import dev.runlane.engine.RunFeed;
import dev.runlane.engine.RunRecord;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Command routing over Redis Pub/Sub: every node incarnation subscribes to its own channel ({@code
 * {n:<member>}:cmd}). A command for a run bound here is handed to its handler directly; otherwise
 * the owner recorded in the run's record is looked up, the command is published to the
 * owner's channel with a correlation id and this node's channel as the reply address, and the
 * caller's stage completes with the owner's answer, or with a refusal when nobody subscribes to the
 * owner's channel (its node is gone: {@code NO_ACTIVE_RUN}), when Redis fails ({@code
 * ENGINE_UNAVAILABLE}), or with {@code INTERNAL_ERROR} when no answer came within the timeout.
 *
 * <p>Exactly once on the owner: Pub/Sub delivers a message at most once per subscriber and never
 * redelivers; the owner also remembers the last correlation ids it handled and ignores a repeat.
 * Handlers run on the engine's command thread, never on a Redis I/O thread.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
final class PubSubCommandRouter implements CommandRouter, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PubSubCommandRouter.class);
  private static final int REMEMBERED = 10_000;

  private final RedisLink link;
  private final Keys keys;
  private final String member;
  private final String channel;
  private final Duration timeout;
  private final ExecutorService executor;
  private final ConcurrentHashMap<String, Handler> handlers = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, CompletableFuture<Result<?>>> pending = new ConcurrentHashMap<>();
  private final Map<String, Boolean> handled =
      new LinkedHashMap<>() {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
          return size() > REMEMBERED;
        }
      };
  private final StatefulRedisPubSubConnection<String, byte[]> sub;

  private final RedisDirectory directory;
  private final ConcurrentHashMap<String, CopyOnWriteArrayList<Consumer<RunRecord>>> watches =
      new ConcurrentHashMap<>();

  PubSubCommandRouter(
      RedisLink link, Keys keys, RedisDirectory directory, String member, Duration timeout, ExecutorService executor) {
    this.directory = directory;
    this.link = link;
    this.keys = keys;
    this.member = member;
    this.channel = keys.channel(member);
    this.timeout = timeout;
    this.executor = executor;
    this.sub = link.connectPubSub();
    sub.addListener(
        new RedisPubSubAdapter<>() {
          @Override
          public void message(String ch, byte[] message) {
            if (ch.equals(channel)) {
              onMessage(message);
            } else {
              onStarted(ch, message);
            }
          }
        });
    link.await(sub.async().subscribe(channel), "SUBSCRIBE " + channel);
  }

  @Override
  public Binding bind(String runId, Handler handler) {
    Objects.requireNonNull(handler, "handler");
    if (handlers.putIfAbsent(runId, handler) != null) {
      throw new IllegalStateException("run " + runId + " is already bound");
    }
    return () -> handlers.remove(runId, handler);
  }

  /** Runs bound on this node (for tests). */
  int bound() {
    return handlers.size();
  }

  @Override
  public CompletionStage<Result<?>> route(String runId, RunCommand command) {
    Handler local = handlers.get(runId);
    if (local != null) {
      return CompletableFuture.completedFuture(handle(local, runId, command));
    }
    byte[] message;
    String correlationId = UUID.randomUUID().toString();
    try {
      message = CommandCodec.request(correlationId, channel, runId, command);
    } catch (CommandCodec.Unsupported e) {
      return CompletableFuture.completedFuture(
          Result.refused(ErrorCode.INVALID_PAYLOAD, "cannot route to the run's node: " + e.getMessage()));
    }
    CompletableFuture<Result<?>> answer = new CompletableFuture<>();
    pending.put(correlationId, answer);
    answer.whenComplete((r, e) -> pending.remove(correlationId));
    answer.completeOnTimeout(
        Result.refused(ErrorCode.INTERNAL_ERROR, "the run's node did not answer within " + timeout.toMillis() + " ms"),
        timeout.toMillis(),
        TimeUnit.MILLISECONDS);
    RunRecord record;
    try {
      record = directory.lookup(runId).orElse(null);
    } catch (RuntimeException e) {
      answer.complete(Result.refused(ErrorCode.ENGINE_UNAVAILABLE, "cannot find the run's node: " + e.getMessage()));
      return answer;
    }
    if (record == null || record.ended()) {
      answer.complete(Result.refused(ErrorCode.NO_ACTIVE_RUN, "run " + runId + " is not running"));
      return answer;
    }
    link.async()
        .publish(keys.channel(record.nodeId()), message)
        .toCompletableFuture()
        .whenComplete(
            (receivers, e) -> {
              if (e != null) {
                answer.complete(
                    Result.refused(ErrorCode.ENGINE_UNAVAILABLE, "cannot reach the run's node: Redis failed: " + e));
              } else if (receivers == null || receivers <= 0) {
                answer.complete(
                    Result.refused(ErrorCode.NO_ACTIVE_RUN, "run " + runId + "'s node is gone"));
              }
            });
    return answer;
  }

  private Result<?> handle(Handler h, String runId, RunCommand command) {
    try {
      return h.handle(command);
    } catch (RuntimeException e) {
      LOG.error("command handler of run {} threw", runId, e);
      return Result.refused(ErrorCode.INTERNAL_ERROR, "command failed");
    }
  }

  private void onMessage(byte[] bytes) {
    Object m;
    try {
      m = CommandCodec.decode(bytes);
    } catch (RuntimeException e) {
      LOG.warn("ignoring an undecodable command message on {}: {}", channel, e.toString());
      return;
    }
    if (m instanceof CommandCodec.Reply r) {
      CompletableFuture<Result<?>> f = pending.get(r.correlationId());
      if (f != null) {
        f.complete(r.result());
      }
      return;
    }
    CommandCodec.Request q = (CommandCodec.Request) m;
    synchronized (handled) {
      if (handled.put(q.correlationId(), Boolean.TRUE) != null) {
        return; // handled once already
      }
    }
    try {
      executor.execute(() -> answer(q));
    } catch (RuntimeException e) {
      LOG.warn("cannot handle a routed command (engine closing): {}", e.toString());
    }
  }

  private void answer(CommandCodec.Request q) {
    Handler h = handlers.get(q.runId());
    Result<?> result =
        h == null
            ? Result.refused(ErrorCode.NO_ACTIVE_RUN, "run " + q.runId() + " is not running")
            : handle(h, q.runId(), q.command());
    byte[] reply;
    try {
      reply = CommandCodec.reply(q.correlationId(), result);
    } catch (CommandCodec.Unsupported e) {
      reply = CommandCodec.reply(q.correlationId(), withoutResult(result));
    }
    link.async().publish(q.replyTo(), reply);
  }

  private static Result<?> withoutResult(Result<?> r) {
    if (r instanceof Result.Ok<?> ok && ok.value() instanceof RunOutcome o) {
      return Result.ok(CommandCodec.withoutResult(o));
    }
    return Result.refused(ErrorCode.INTERNAL_ERROR, "the run's node answered with a value that cannot cross nodes");
  }

  /** Notices of runs started in {@code sessionId} on any node, from the claim script's PUBLISH. */
  RunFeed.Tail watch(String sessionId, Consumer<RunRecord> started) {
    String ch = keys.started(sessionId);
    CopyOnWriteArrayList<Consumer<RunRecord>> list = new CopyOnWriteArrayList<>();
    boolean[] subscribe = {false};
    watches.compute(
        ch,
        (k, l) -> {
          CopyOnWriteArrayList<Consumer<RunRecord>> out = l == null ? list : l;
          subscribe[0] = l == null;
          out.add(started);
          return out;
        });
    if (subscribe[0]) {
      link.await(sub.async().subscribe(ch), "SUBSCRIBE " + ch);
    }
    return () -> {
      boolean[] unsubscribe = {false};
      watches.computeIfPresent(
          ch,
          (k, l) -> {
            l.remove(started);
            unsubscribe[0] = l.isEmpty();
            return l.isEmpty() ? null : l;
          });
      if (unsubscribe[0]) {
        sub.async().unsubscribe(ch);
      }
    };
  }

  private void onStarted(String ch, byte[] message) {
    CopyOnWriteArrayList<Consumer<RunRecord>> l = watches.get(ch);
    if (l == null) {
      return;
    }
    RunRecord r;
    try {
      r = CommandCodec.record(message);
    } catch (RuntimeException e) {
      LOG.warn("ignoring an undecodable start notice on {}: {}", ch, e.toString());
      return;
    }
    try {
      executor.execute(
          () -> {
            for (Consumer<RunRecord> c : l) {
              try {
                c.accept(r);
              } catch (RuntimeException e) {
                LOG.error("a session watch threw", e);
              }
            }
          });
    } catch (RuntimeException e) {
      // engine closing
    }
  }

  @Override
  public void close() {
    try {
      sub.close();
    } catch (RuntimeException e) {
      // closing anyway
    }
    for (CompletableFuture<Result<?>> f : pending.values()) {
      f.complete(Result.refused(ErrorCode.SHUTTING_DOWN, "the engine is closing"));
    }
  }

  /** Cuts the Pub/Sub connection with no goodbye (a node killed in tests). */
  void kill() {
    sub.closeAsync();
  }

  @Nullable Handler handler(String runId) {
    return handlers.get(runId);
  }
}
