package dev.runlane.spring.boot.autoconfigure;

import static org.junit.jupiter.api.Assertions.*;

import dev.runlane.RunlaneBuilder;
import dev.runlane.RunRuntime;
import dev.runlane.Runlane;
import dev.runlane.RunlaneMetrics;
import dev.runlane.micrometer.MicrometerRunlaneMetrics;
import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.testkit.InMemoryTransport;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.spring.RunlaneWebSocketHandler;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.util.unit.DataSize;

/** Which beans appear under which conditions, and what they are wired with. */
class RunlaneAutoConfigurationTest {

  static final AutoConfigurations ALL =
      AutoConfigurations.of(
          RunlaneMetricsAutoConfiguration.class,
          RunlaneAutoConfiguration.class,
          RunlaneWebSocketAutoConfiguration.class,
          RunlaneSseAutoConfiguration.class,
          RunlaneHealthAutoConfiguration.class);

  final ApplicationContextRunner runner = new ApplicationContextRunner().withConfiguration(ALL);

  @Test
  void aRuntimeBeanIsWiredAndEveryPropertyBinds() {
    RunRuntime agent = (run, input) -> run.complete("done");
    AtomicReference<RunlaneBuilder> customized = new AtomicReference<>();
    runner
        .withBean(RunRuntime.class, () -> agent)
        .withBean(RunlaneBuilderCustomizer.class, () -> customized::set)
        .withPropertyValues(
            "runlane.max-queued-frames=10",
            "runlane.max-queued-bytes=2MB",
            "runlane.heartbeat-interval=5s",
            "runlane.replay-finished-runs=false",
            "runlane.websocket.path=/ws")
        .run(
            ctx -> {
              assertNotNull(ctx.getBean(Runlane.class));
              assertNotNull(customized.get(), "customizers see the builder");
              RunlaneProperties p = ctx.getBean(RunlaneProperties.class);
              assertEquals(10, p.getMaxQueuedFrames());
              assertEquals(DataSize.ofMegabytes(2), p.getMaxQueuedBytes());
              assertEquals(Duration.ofSeconds(5), p.getHeartbeatInterval());
              assertFalse(p.isReplayFinishedRuns());
              assertEquals("/ws", p.getWebsocket().getPath());
              assertEquals(8_192, new RunlaneProperties().getMaxQueuedFrames(), "defaults are the documented ones");
              assertFalse(ctx.containsBean("runlaneWebSocketHandler"), "no web application, no endpoint");
              assertTrue(ctx.getBeansOfType(RunlaneWebSocketHandler.class).isEmpty());
            });
  }

  @Test
  void aStoppedContextStartsAgainWithTheSameRunlane() {
    java.util.List<String> cancelled = new java.util.concurrent.CopyOnWriteArrayList<>();
    RunRuntime agent =
        new RunRuntime() {
          @Override
          public void run(dev.runlane.RunHandle run, Object input) {} // answers until cancelled

          @Override
          public void cancel(dev.runlane.RunHandle run) {
            cancelled.add(run.runId());
          }
        };
    runner
        .withBean(RunRuntime.class, () -> agent)
        .run(
            ctx -> {
              Runlane runlane = ctx.getBean(Runlane.class);
              RunlaneLifecycle lifecycle = ctx.getBean(RunlaneLifecycle.class);
              RunlaneHealthIndicator health = ctx.getBean(RunlaneHealthIndicator.class);
              InMemoryConnection before = connect(lifecycle, "c1");
              dev.runlane.RunHandle old =
                  runlane.startRun(dev.runlane.StartRequest.of("alice/chat", "alice").fromConnection("c1")).orElseThrow();
              old.publish("delta", "a"); // seq 2

              ctx.stop(); // Spring 7's context pausing does this
              assertFalse(lifecycle.isRunning());
              assertEquals(List.of(old.runId()), cancelled, "the run ended through the runtime's cancel hook");
              assertEquals(dev.runlane.FailureReason.SHUTDOWN, old.outcome().orElseThrow().failureReason());
              assertEquals(CloseReason.GOING_AWAY, before.closeReason(), "told to resume elsewhere or later");
              InMemoryConnection refused = connect(lifecycle, "c2");
              assertEquals(CloseReason.GOING_AWAY, refused.closeReason(), "no new connections while stopped");
              assertEquals(0, runlane.connectionCount());
              assertEquals(Status.OUT_OF_SERVICE, health.health().getStatus());

              ctx.start();
              assertTrue(lifecycle.isRunning());
              assertEquals(Status.UP, health.health().getStatus());
              InMemoryConnection after = connect(lifecycle, "c3");
              assertNull(after.closeReason());
              after.sendText(
                  "{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"alice/chat\",\"lastSeq\":2,\"epoch\":\""
                      + old.epoch()
                      + "\"}]}");
              assertEquals(List.of(3L), seqs(after, old.runId()), "the old run's terminal is replayed");
              dev.runlane.RunHandle next =
                  runlane.startRun(dev.runlane.StartRequest.of("alice/chat", "alice").fromConnection("c3")).orElseThrow();
              assertTrue(next.publish("delta", "b").isOk());
              assertTrue(next.complete("done").isOk());
              assertEquals(List.of(1L, 2L, 3L), seqs(after, next.runId()), "the new run streams to the new connection");
              assertFalse(runlane.startRun(dev.runlane.StartRequest.of("bob/chat", "bob")).orElseThrow().isEnded());
            });
  }

  /** The seqs of {@code runId}'s run events that {@code c} received (JSON protocol). */
  static List<Long> seqs(InMemoryConnection c, String runId) throws Exception {
    com.fasterxml.jackson.databind.ObjectMapper m = new com.fasterxml.jackson.databind.ObjectMapper();
    List<Long> out = new java.util.ArrayList<>();
    for (dev.runlane.transport.Frame f : c.frames()) {
      com.fasterxml.jackson.databind.JsonNode n = m.readTree(((dev.runlane.transport.Payload.Text) f.payload()).text());
      if ("run_event".equals(n.path("kind").asText()) && runId.equals(n.path("runId").asText())) {
        out.add(n.get("seq").asLong());
      }
    }
    return out;
  }

  static InMemoryConnection connect(RunlaneLifecycle lifecycle, String id) {
    InMemoryConnection c = new InMemoryConnection(id, "alice", java.util.Set.of());
    c.bind(lifecycle.connect(c));
    return c;
  }

  @Test
  void stoppingTheContextClosesRunlaneAndSendsClientsAway() {
    AtomicReference<InMemoryConnection> client = new AtomicReference<>();
    runner.run(
        ctx -> {
          Runlane runlane = ctx.getBean(Runlane.class);
          client.set(new InMemoryTransport(runlane).open("alice"));
          assertEquals(1, runlane.connectionCount());
          assertTrue(ctx.getBean(RunlaneLifecycle.class).isRunning());
        });
    assertEquals(CloseReason.GOING_AWAY, client.get().closeReason(), "clients are told to resume elsewhere");
  }

  @Test
  void disabledMeansNoRunlane() {
    runner.withPropertyValues("runlane.enabled=false").run(ctx -> assertTrue(ctx.getBeansOfType(Runlane.class).isEmpty()));
  }

  @Test
  void aHostRunlaneBeanWins() {
    Runlane own = Runlane.builder().codec(new dev.runlane.protocol.json.JsonWireCodec()).build();
    runner.withBean(Runlane.class, () -> own).run(ctx -> assertSame(own, ctx.getBean(Runlane.class)));
    own.close();
  }

  @Test
  void aMeterRegistryGetsTheBridgeAndItsGauges() {
    runner
        .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
        .run(
            ctx -> {
              assertInstanceOf(MicrometerRunlaneMetrics.class, ctx.getBean(RunlaneMetrics.class));
              MeterRegistry registry = ctx.getBean(MeterRegistry.class);
              Runlane runlane = ctx.getBean(Runlane.class);
              InMemoryConnection c = new InMemoryTransport(runlane).open("alice");
              assertEquals(1.0, registry.get("runlane.connections").gauge().value());
              c.clientClose(CloseReason.GOING_AWAY);
              assertEquals(1.0, registry.get("runlane.connections.closed").tag("reason", "going_away").counter().count());
            });
  }

  @Test
  void severalMetricsBeansEachHearResumesAndDeliveryLatencies() {
    java.util.concurrent.atomic.AtomicInteger resumes = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger latencies = new java.util.concurrent.atomic.AtomicInteger();
    RunlaneMetrics extra =
        new RunlaneMetrics() {
          @Override
          public void subscribed(String connectionId, dev.runlane.ResumeStatus status) {
            resumes.incrementAndGet();
          }

          @Override
          public boolean timesDeliveries() {
            return true;
          }

          @Override
          public void deliveryLatency(dev.runlane.transport.Lane lane, long latencyNanos) {
            latencies.incrementAndGet();
          }
        };
    runner
        .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
        .withBean("extraMetrics", RunlaneMetrics.class, () -> extra)
        .run(
            ctx -> {
              MeterRegistry registry = ctx.getBean(MeterRegistry.class);
              Runlane runlane = ctx.getBean(Runlane.class);
              RunlaneLifecycle lifecycle = ctx.getBean(RunlaneLifecycle.class);
              connect(lifecycle, "c1");
              dev.runlane.RunHandle run =
                  runlane.startRun(dev.runlane.StartRequest.of("alice/chat", "alice").fromConnection("c1")).orElseThrow();
              run.publish("delta", "a"); // seq 1..2 live to c1
              InMemoryConnection late = connect(lifecycle, "c2");
              late.sendText("{\"type\":\"chat.subscribe\",\"sessions\":[{\"sessionId\":\"alice/chat\"}]}");
              assertEquals(List.of(1L, 2L), seqs(late, run.runId()), "replayed, so not timed");
              run.publish("delta", "b"); // seq 3 live to both
              assertEquals(1, resumes.get());
              assertEquals(1.0, registry.get("runlane.resumes").tag("status", "exact").counter().count());
              assertEquals(4, latencies.get());
              assertEquals(4, registry.get("runlane.delivery.latency").tag("lane", "stream").timer().count());
            });
    runner
        .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
        .withPropertyValues("runlane.metrics.delivery-latency=false")
        .run(ctx -> assertFalse(ctx.getBean(MicrometerRunlaneMetrics.class).timesDeliveries()));
  }

  @Test
  void withoutAMeterRegistryThereIsNoBridge() {
    runner.run(ctx -> assertTrue(ctx.getBeansOfType(MicrometerRunlaneMetrics.class).isEmpty()));
  }

  @Test
  void theHealthIndicatorIsUpWhileRunningWithCounts() {
    runner.run(
        ctx -> {
          RunlaneHealthIndicator health = ctx.getBean("runlaneHealthIndicator", RunlaneHealthIndicator.class);
          assertEquals(Status.UP, health.health().getStatus());
          assertEquals(0, health.health().getDetails().get("connections"));
          ctx.getBean(RunlaneLifecycle.class).stop();
          assertEquals(Status.OUT_OF_SERVICE, health.health().getStatus());
        });
  }

  @Test
  void aServletWebApplicationGetsTheEndpoint() {
    new WebApplicationContextRunner()
        .withConfiguration(ALL)
        .run(
            ctx -> {
              assertNotNull(ctx.getBean(RunlaneWebSocketHandler.class));
              assertTrue(ctx.containsBean("runlaneTicketEndpoint"));
              assertTrue(ctx.containsBean("runlaneSseEndpoint"), "runlane-transport-sse is on the class path");
            });
  }

  @Test
  void theTicketEndpointCanBeTurnedOff() {
    new WebApplicationContextRunner()
        .withConfiguration(ALL)
        .withPropertyValues("runlane.ticket-endpoint.enabled=false", "runlane.sse.enabled=false")
        .run(
            ctx -> {
              assertFalse(ctx.containsBean("runlaneTicketEndpoint"));
              assertFalse(ctx.containsBean("runlaneSseEndpoint"));
              assertTrue(ctx.containsBean("runlaneWebSocketHandler"));
            });
  }
}
