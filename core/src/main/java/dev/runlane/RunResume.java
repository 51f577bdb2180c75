package dev.runlane;

import dev.runlane.codec.Outbound;
import dev.runlane.codec.SubscribeAck;
import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.FrameMeta;
import dev.runlane.engine.RunLog;
import dev.runlane.transport.Lane;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The two ways a connection becomes a run's recipient, both under the run's lock: a subscribe
 * (acknowledgement, exact replay, then live — the linearization point of the resume) and an
 * attach without replay.
 *
 * <p><b>Thread safety:</b> stateless; takes the run's lock.
 */
final class RunResume {
  private RunResume() {}

  /**
   * The resume algorithm: under the run lock, acknowledge, replay exactly what {@code target} asks
   * for (never behind what this connection was already handed), then attach for the live stream.
   * The caller flushes {@code c} afterwards. A mirror reads its replay from the engine's store
   * before anything is queued, so a store that fails leaves nothing half-sent.
   *
   * @return the ack, or null if this mirror was retired meanwhile or its store lost the run (the
   *     caller looks it up again)
   * @throws EngineUnavailableException a mirror could not read its replay (nothing was queued)
   */
  static @Nullable SubscribeAck subscribe(
      RunBase run, ConnectionState c, SubscribeTarget target, AttachMode mode, boolean following, @Nullable String ref) {
    SubscribeAck ack;
    synchronized (run) {
      RunLog log = run.log;
      RunRecipients edges = run.edgesLocked();
      HostHooks hooks = run.hooks;
      String epoch = run.epoch;
      if (run.retired) {
        return null;
      }
      long head = log.head();
      long oldest = log.oldest();
      long n = target.lastSeq();
      ResumeStatus status = null;
      if (target.epoch() != null && !epoch.equals(target.epoch())) {
        status = ResumeStatus.EPOCH_CHANGED;
        n = 0;
      } else if (n > head) {
        status = ResumeStatus.AHEAD_OF_HEAD;
        n = 0;
      }
      RunEdge e = edges.get(c);
      RunRecipients.Resume r = RunRecipients.resume(e, n, head, oldest);
      boolean truncated = r.truncated();
      long replayFrom = Math.max(r.from(), oldest);
      long replayTo = head;
      boolean finished = run.state.isTerminal();
      if (finished && !hooks.config.replayFinishedRuns) {
        replayFrom = head + 1;
      }
      List<EncodedFrame> replay = null;
      if (run.mirror && replayFrom <= replayTo) {
        replay = new ArrayList<>();
        log.read(replayFrom, replayTo, replay::add); // one range read from the store, before anything is queued
        if (replay.isEmpty()) {
          // the newest frame is never trimmed: a store without it lost the run (restarted empty, expired)
          run.storeLost = true;
          return null;
        }
        FrameMeta first = replay.isEmpty() ? null : replay.get(0).meta();
        long got = first == null ? replayTo + 1 : first.seq();
        if (got > replayFrom) { // trimmed in the store since oldest() was read
          truncated = true;
          oldest = got;
          replayFrom = got;
        }
      }
      edges.consume(e);
      if (finished) {
        status = ResumeStatus.FINISHED;
      } else if (status == null) {
        status = truncated ? ResumeStatus.TRUNCATED : ResumeStatus.EXACT;
      }
      ack =
          new SubscribeAck(
              run.sessionId, run.runId, epoch, status, !finished, head, oldest, replayFrom, replayTo,
              truncated, following, run.approvals.pendingLocked(), run.outcome, target.lastSeq());
      EncodedFrame ackFrame = hooks.encode(new Outbound.Subscribed(ack, ref), Lane.CONTROL, null);
      if (ackFrame != null) {
        c.enqueue(ackFrame);
      }
      if (replay != null) {
        replay.forEach(c::enqueueReplay);
      } else {
        log.read(replayFrom, replayTo, c::enqueueReplay); // one range read: the engine seam's shape
      }
      if (!finished) {
        edges.add(c, mode, head);
      } else {
        // it now has, or was told how to get, everything up to the end
        RunEdge after = edges.edge(c);
        RunRecipients.rememberHanded(after, head);
        edges.prune(after);
      }
    }
    return ack;
  }

  /**
   * Adds {@code c} as a recipient (no replay). Under the session lock when called at start.
   *
   * @return whether it is a recipient now (false if the run ended or the connection closed)
   */
  static boolean attach(RunBase run, ConnectionState c, AttachMode mode) {
    synchronized (run) {
      return attachLocked(run.edgesLocked(), run.log, run.state.isTerminal() || run.retired, c, mode);
    }
  }

  private static boolean attachLocked(RunRecipients edges, RunLog log, boolean ended, ConnectionState c, AttachMode mode) {
    if (ended) {
      return false;
    }
    RunEdge before = edges.get(c);
    boolean wasRecipient = before != null && before.recipient;
    RunEdge e = edges.add(c, mode, log.head());
    if (!wasRecipient && e != null && log.head() > 0) {
      // No replay: unless it was handed everything before, a later subscribe below this point
      // must be told of the gap (it cannot be replayed ahead of the live frames already queued).
      long handed = e.takeHandedUpTo();
      long covered = e.takeCoveredFrom();
      if (handed == 0 || handed < log.head()) {
        e.coveredFrom = log.head() + 1;
      } else if (covered != 0) {
        e.coveredFrom = covered;
      }
      if (handed == 0) {
        // Attached mid-run with no ack and no run.started: its client cannot map a compact event
        // of this run to its session and epoch, so it gets full frames from now on (protocol.md).
        c.pinFullFrames();
      }
    }
    return e != null;
  }
}
