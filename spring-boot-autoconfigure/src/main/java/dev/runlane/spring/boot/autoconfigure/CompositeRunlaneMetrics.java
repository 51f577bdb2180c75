package dev.runlane.spring.boot.autoconfigure;

import dev.runlane.ConnectionStats;
import dev.runlane.ErrorCode;
import dev.runlane.RunOutcome;
import dev.runlane.RunlaneMetrics;
import dev.runlane.transport.CloseReason;
import java.util.List;

/** Several {@link RunlaneMetrics} beans as one; Runlane takes a single listener. */
final class CompositeRunlaneMetrics implements RunlaneMetrics {
  private final List<RunlaneMetrics> all;

  CompositeRunlaneMetrics(List<RunlaneMetrics> all) {
    this.all = List.copyOf(all);
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
