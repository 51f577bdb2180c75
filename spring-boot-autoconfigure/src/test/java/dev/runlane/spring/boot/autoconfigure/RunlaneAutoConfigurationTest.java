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
