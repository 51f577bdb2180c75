package dev.runlane.cluster.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.runlane.ErrorCode;
import dev.runlane.Result;
import dev.runlane.RunOutcome;
import dev.runlane.RunState;
import dev.runlane.engine.CommandRouter;
import dev.runlane.engine.RunCommand;
import dev.runlane.engine.RunRecord;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Commands reach the owner node exactly once and its answer comes back; a dead node's runs are reported once. */
class RouterAndLeaseTest {
  private Fixtures fx;

  @BeforeEach
  void up() {
    fx = Fixtures.shared();
  }

  @AfterEach
  void down() {
    fx.close();
  }

  private static Result<?> await(java.util.concurrent.CompletionStage<Result<?>> s) throws Exception {
    return s.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void aCommandIssuedOnAnotherNodeRunsOnceOnTheOwnerAndItsAnswerComesBack() throws Exception {
    RedisEngine a = fx.engine("a");
    RedisEngine b = fx.engine("b");
    RunRecord r = Fixtures.record(a, "s1", "r1");
    a.directory().claim(r);
    AtomicInteger aborts = new AtomicInteger();
    List<Object> decisions = new CopyOnWriteArrayList<>();
    List<String> threads = new CopyOnWriteArrayList<>();
    RunOutcome outcome = new RunOutcome("r1", "s1", r.epoch(), "alice", RunState.ABORTED, null, 130, "aborted by bob", null, 7, "bob");
    CommandRouter.Binding binding =
        a.commands()
            .bind(
                "r1",
                cmd -> {
                  threads.add(Thread.currentThread().getName());
                  if (cmd instanceof RunCommand.Abort ab) {
                    aborts.incrementAndGet();
                    assertEquals("bob", ab.principal());
                    return Result.ok(outcome);
                  }
                  RunCommand.ResolveApproval ra = (RunCommand.ResolveApproval) cmd;
                  decisions.add(ra.decision() == null ? "<null>" : ra.decision());
                  return Result.ok(ra.approvalId());
                });
    assertEquals(Result.ok(outcome), await(b.commands().route("r1", new RunCommand.Abort("bob"))));
    assertEquals(1, aborts.get(), "handled once");
    assertTrue(threads.get(0).startsWith("runlane-redis-commands-"), "never on a Redis I/O thread: " + threads);

    Map<String, Object> map = new LinkedHashMap<>();
    map.put("ok", true);
    map.put("n", 3L);
    map.put("list", Arrays.asList("x", null, 1.5d, List.of(1, 2)));
    List<Object> values = Arrays.asList(null, Boolean.TRUE, 42, 42L, 2.5d, new BigDecimal("1.25"), "yes", map);
    for (Object v : values) {
      assertEquals(Result.ok("ap1"), await(b.commands().route("r1", new RunCommand.ResolveApproval("ap1", v, "bob"))));
    }
    List<Object> expected = new ArrayList<>();
    for (Object v : values) {
      expected.add(v == null ? "<null>" : v);
    }
    assertEquals(expected, decisions, "decisions cross nodes unchanged, types included");

    Result<?> refused = await(b.commands().route("r1", new RunCommand.ResolveApproval("ap1", new Object(), "bob")));
    assertEquals(ErrorCode.INVALID_PAYLOAD, refused.refusalCode().orElseThrow());
    assertEquals(expected.size(), decisions.size(), "an unsupported decision never reaches the owner");

    binding.close();
    assertEquals(ErrorCode.NO_ACTIVE_RUN, await(b.commands().route("r1", new RunCommand.Abort("bob"))).refusalCode().orElseThrow());
    assertEquals(ErrorCode.NO_ACTIVE_RUN, await(b.commands().route("nope", new RunCommand.Abort("bob"))).refusalCode().orElseThrow());
  }

  @Test
  void anOwnerThatDoesNotAnswerInTimeYieldsARefusalAndStillHandlesOnce() throws Exception {
    RedisEngine a = fx.engine("a");
    RedisEngine b = fx.add(fx.builder("b").routeTimeout(Duration.ofMillis(200)).build());
    a.directory().claim(Fixtures.record(a, "s1", "r1"));
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger handled = new AtomicInteger();
    a.commands().bind("r1", cmd -> {
      handled.incrementAndGet();
      try {
        release.await(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return Result.ok("late");
    });
    Result<?> r = await(b.commands().route("r1", new RunCommand.Abort("bob")));
    assertEquals(ErrorCode.INTERNAL_ERROR, r.refusalCode().orElseThrow());
    release.countDown();
    assertTrue(Fixtures.await(() -> handled.get() == 1, Duration.ofSeconds(2)));
    Thread.sleep(100);
    assertEquals(1, handled.get());
  }

  @Test
  void aKilledNodesRunsAreReportedOnceAcrossSurvivorsAndItsCommandsAreRefused() throws Exception {
    RedisEngine dead = fx.add(fx.builder("dead").leaseTtl(Duration.ofMillis(600)).build());
    List<String> runIds = List.of("r1", "r2", "r3");
    for (String id : runIds) {
      dead.directory().claim(Fixtures.record(dead, "s-" + id, id));
      dead.commands().bind(id, cmd -> Result.ok("never"));
    }
    // one of them ended before the death: not reported
    RunRecord r3 = dead.directory().lookup("r3").orElseThrow();
    dead.directory().end(Fixtures.outcome(r3, 1, RunState.COMPLETED), null);
    String deadId = dead.nodeId();
    List<String> reports = new CopyOnWriteArrayList<>();
    List<RunRecord> reported = new CopyOnWriteArrayList<>();
    List<RedisEngine> survivors = new ArrayList<>();
    for (String n : List.of("b", "c")) {
      RedisEngine s = fx.add(fx.builder(n).leaseTtl(Duration.ofMillis(600)).build());
      s.onNodeLost((node, running) -> {
        reports.add(node);
        reported.addAll(running);
      });
      survivors.add(s);
    }
    dead.kill();
    assertTrue(Fixtures.await(() -> !reports.isEmpty(), Duration.ofSeconds(5)), "the death is noticed");
    Thread.sleep(1000); // more sweeps on both survivors
    assertEquals(List.of(deadId), reports, "reported once, across the cluster");
    List<String> ids = new ArrayList<>();
    for (RunRecord r : reported) {
      ids.add(r.runId());
      assertEquals(deadId, r.nodeId());
    }
    ids.sort(null);
    assertEquals(List.of("r1", "r2"), ids);
    assertEquals(
        ErrorCode.NO_ACTIVE_RUN,
        await(survivors.get(0).commands().route("r1", new RunCommand.Abort("bob"))).refusalCode().orElseThrow(),
        "nobody listens on a dead node's channel");
  }
}
