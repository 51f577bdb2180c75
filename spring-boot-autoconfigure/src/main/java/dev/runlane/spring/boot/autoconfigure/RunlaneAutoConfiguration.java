package dev.runlane.spring.boot.autoconfigure;

import dev.runlane.RunlaneBuilder;
import dev.runlane.Authorizer;
import dev.runlane.RunListener;
import dev.runlane.RunRuntime;
import dev.runlane.Runlane;
import dev.runlane.RunlaneMetrics;
import dev.runlane.codec.WireCodec;
import dev.runlane.protocol.json.JsonWireCodec;
import java.util.List;
import java.util.stream.Collectors;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * The {@link Runlane} bean: the JSON protocol ({@link JsonWireCodec}, unless a {@link WireCodec}
 * bean is declared), the {@code runlane.*} properties, and the host's {@link RunRuntime}, {@link
 * Authorizer}, {@link RunListener} and {@link RunlaneMetrics} beans when present; drained through
 * {@link RunlaneLifecycle} when the context stops, closed when the context closes.
 *
 * <p><b>Thread safety:</b> Spring calls it once, at start-up.
 */
@AutoConfiguration
@ConditionalOnClass({Runlane.class, JsonWireCodec.class})
@ConditionalOnProperty(prefix = "runlane", name = "enabled", havingValue = "true", matchIfMissing = true)
@EnableConfigurationProperties(RunlaneProperties.class)
public class RunlaneAutoConfiguration {

  /** The JSON wire protocol of {@code runlane-protocol-json}. */
  @Bean
  @ConditionalOnMissingBean
  public WireCodec runlaneWireCodec() {
    return new JsonWireCodec();
  }

  /** Runlane, built from the properties and the host's beans. */
  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean
  public Runlane runlane(
      RunlaneProperties p,
      WireCodec codec,
      ObjectProvider<RunRuntime> runtime,
      ObjectProvider<Authorizer> authorizer,
      ObjectProvider<RunListener> listeners,
      ObjectProvider<RunlaneMetrics> metrics,
      ObjectProvider<RunlaneBuilderCustomizer> customizers) {
    RunlaneBuilder b =
        Runlane.builder()
            .codec(codec)
            .replayCapacity(p.getReplayCapacity())
            .replayByteBudget(p.getReplayByteBudget().toBytes())
            .retention(p.getRetention())
            .replayFinishedRuns(p.isReplayFinishedRuns())
            .maxQueuedFrames(p.getMaxQueuedFrames())
            .maxQueuedBytes(p.getMaxQueuedBytes().toBytes())
            .maxInFlight(p.getMaxInFlight())
            .sendStallTimeout(p.getSendStallTimeout())
            .closeGrace(p.getCloseGrace())
            .heartbeatInterval(p.getHeartbeatInterval())
            .idleTimeout(p.getIdleTimeout())
            .housekeepingInterval(p.getHousekeepingInterval())
            .runTimeout(p.getRunTimeout())
            .runTimeoutGrace(p.getRunTimeoutGrace())
            .maxInboundBytes(Math.toIntExact(p.getMaxInboundBytes().toBytes()))
            .maxSessionsPerConnection(p.getMaxSessionsPerConnection())
            .ticketTtl(p.getTicketTtl())
            .maxTickets(p.getMaxTickets());
    Integer writeThreads = p.getWriteThreads();
    if (writeThreads != null) {
      b.writeThreads(writeThreads);
    }
    runtime.ifUnique(b::runtime);
    authorizer.ifUnique(b::authorizer);
    listeners.orderedStream().forEach(b::runListener);
    List<RunlaneMetrics> all = metrics.orderedStream().collect(Collectors.toList());
    if (all.size() == 1) {
      b.metrics(all.get(0));
    } else if (all.size() > 1) {
      b.metrics(new CompositeRunlaneMetrics(all));
    }
    customizers.orderedStream().forEach(c -> c.customize(b));
    return b.build();
  }

  /** Drains Runlane when the context stops and accepts connections again when it starts. */
  @Bean
  @ConditionalOnMissingBean
  public RunlaneLifecycle runlaneLifecycle(Runlane runlane) {
    return new RunlaneLifecycle(runlane);
  }
}
