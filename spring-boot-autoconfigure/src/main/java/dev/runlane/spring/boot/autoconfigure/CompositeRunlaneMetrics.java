package dev.runlane.spring.boot.autoconfigure;

import dev.runlane.ConnectionStats;
import dev.runlane.ErrorCode;
import dev.runlane.ResumeStatus;
import dev.runlane.RunOutcome;
import dev.runlane.RunlaneMetrics;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Lane;
import java.util.List;

/** Several {@link RunlaneMetrics} beans as one; Runlane takes a single listener. */
final class CompositeRunlaneMetrics implements RunlaneMetrics {
  private final List<RunlaneMetrics> all;
  /** Those of {@link #all} that time deliveries. */
  private final List<RunlaneMetrics> timing;

  CompositeRunlaneMetrics(List<RunlaneMetrics> all) {
    this.all = List.copyOf(all);
    this.timing = this.all.stream().filter(RunlaneMetrics::timesDeliveries).toList();
  }

  @Override
  public boolean timesDeliveries() {
    return !timing.isEmpty();
  }

  @Override
  public void deliveryLatency(Lane lane, long latencyNanos) {
    for (RunlaneMetrics m : timing) {
      m.deliveryLatency(lane, latencyNanos);
    }
  }

  @Override
  public void subscribed(String connectionId, ResumeStatus status) {
    for (RunlaneMetrics m : all) {
      m.subscribed(connectionId, status);
    }
  }

  @Override
  public void connectionClosed(String connectionId, CloseReason reason) {
    for (RunlaneMetrics m : all) {
      m.connectionClosed(connectionId, reason);
    }
  }

  @Override
  public void connectionSample(ConnectionStats stats) {
    for (RunlaneMetrics m : all) {
      m.connectionSample(stats);
    }
  }

  @Override
  public void runEnded(RunOutcome outcome) {
    for (RunlaneMetrics m : all) {
      m.runEnded(outcome);
    }
  }

  @Override
  public void protocolError(String connectionId, ErrorCode code) {
    for (RunlaneMetrics m : all) {
      m.protocolError(connectionId, code);
    }
  }
}
