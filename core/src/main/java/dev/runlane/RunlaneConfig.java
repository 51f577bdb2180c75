package dev.runlane;

import java.util.concurrent.TimeUnit;

/** The immutable configuration of one Runlane, built by {@link RunlaneBuilder}. */
final class RunlaneConfig {
  int replayCapacity = 1024;
  long replayByteBudget = 4L * 1024 * 1024;
  int maxEventBytes = 1024 * 1024;
  /** A quarter of the heap, at most 256 MiB; 0 = no process-wide budget. */
  long maxRetainedBytes = Math.min(256L * 1024 * 1024, Runtime.getRuntime().maxMemory() / 4);
  long retentionNanos = TimeUnit.MINUTES.toNanos(5);
  boolean replayFinishedRuns = true;
  int maxQueuedFrames = 8192;
  long maxQueuedBytes = 16L * 1024 * 1024;
  int maxInFlight = 16;
  /** A quarter of the cores, at least 1. */
  int writeThreads = Math.max(1, Runtime.getRuntime().availableProcessors() / 4);
  long sendStallNanos = TimeUnit.SECONDS.toNanos(30);
  long closeGraceNanos = TimeUnit.SECONDS.toNanos(5);
  long heartbeatNanos = TimeUnit.SECONDS.toNanos(30);
  long idleTimeoutNanos = TimeUnit.SECONDS.toNanos(90);
  long housekeepingNanos = TimeUnit.SECONDS.toNanos(1);
  long defaultRunTimeoutNanos = 0;
  long runTimeoutGraceNanos = TimeUnit.SECONDS.toNanos(30);
  long minRunTimeoutNanos = TimeUnit.SECONDS.toNanos(1);
  long maxRunTimeoutNanos = TimeUnit.HOURS.toNanos(24);
  int maxInboundBytes = 64 * 1024;
  int maxSessionsPerConnection = 64;
  int maxIdLength = 256;
  int commandBurst = 100;
  double commandsPerSecond = 50;
  long commandTimeoutNanos = TimeUnit.SECONDS.toNanos(5);

  RunlaneConfig copy() {
    RunlaneConfig c = new RunlaneConfig();
    c.replayCapacity = replayCapacity;
    c.replayByteBudget = replayByteBudget;
    c.maxEventBytes = maxEventBytes;
    c.maxRetainedBytes = maxRetainedBytes;
    c.retentionNanos = retentionNanos;
    c.replayFinishedRuns = replayFinishedRuns;
    c.maxQueuedFrames = maxQueuedFrames;
    c.maxQueuedBytes = maxQueuedBytes;
    c.maxInFlight = maxInFlight;
    c.writeThreads = writeThreads;
    c.sendStallNanos = sendStallNanos;
    c.closeGraceNanos = closeGraceNanos;
    c.heartbeatNanos = heartbeatNanos;
    c.idleTimeoutNanos = idleTimeoutNanos;
    c.housekeepingNanos = housekeepingNanos;
    c.defaultRunTimeoutNanos = defaultRunTimeoutNanos;
    c.runTimeoutGraceNanos = runTimeoutGraceNanos;
    c.minRunTimeoutNanos = minRunTimeoutNanos;
    c.maxRunTimeoutNanos = maxRunTimeoutNanos;
    c.maxInboundBytes = maxInboundBytes;
    c.maxSessionsPerConnection = maxSessionsPerConnection;
    c.maxIdLength = maxIdLength;
    c.commandBurst = commandBurst;
    c.commandsPerSecond = commandsPerSecond;
    c.commandTimeoutNanos = commandTimeoutNanos;
    return c;
  }
}
