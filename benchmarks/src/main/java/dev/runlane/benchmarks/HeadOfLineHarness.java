package dev.runlane.benchmarks;

import dev.runlane.ConnectionStats;
import dev.runlane.codec.Inbound;
import dev.runlane.codec.Outbound;
import dev.runlane.codec.ProtocolException;
import dev.runlane.RunHandle;
import dev.runlane.Runlane;
import dev.runlane.codec.WireCodec;
import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.Frame;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Payload;
import dev.runlane.transport.SendCallback;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * Figure 7: latency of a control frame queued behind a stream backlog of {@value #BACKLOG} frames.
 *
 * <p>The connection is a simulated socket: a writer thread takes each send in order, spends
 * {@code writeNanos} "writing" it (a busy wait), then completes it, which lets Runlane's outbox
 * send the next (at most {@code maxInFlight}, default 64, outstanding). For each sample the writer
 * is held while {@value #BACKLOG} events are published to the connection's run, then the control
 * frame is requested and the writer released; the latency is from the request to the moment the
 * writer writes that frame.
 *
 * <ul>
 *   <li><b>ours:</b> the client sends {@code ping}; Runlane answers with a heartbeat on the
 *       control lane, which overtakes the queued stream frames (it waits only for the sends
 *       already in flight).
 *   <li><b>baseline (single FIFO):</b> the same outbox draining strictly FIFO: the marker frame
 *       is queued on the stream lane behind the backlog, as a one-queue design would queue it.
 * </ul>
 *
 * <p><b>Thread safety:</b> run from one thread; it starts and stops its writer thread.
 */
public final class HeadOfLineHarness {
  /** Stream frames queued ahead of the control frame. */
  public static final int BACKLOG = 10_000;

  private static final String MARKER = "{\"t\":\"marker\"}";

  /** Encodes heartbeats and "marker" events to {@link #MARKER}, everything else to the usual text. */
  static final class MarkerCodec implements WireCodec {
    @Override
    public Payload encode(Outbound m) {
      if (m instanceof Outbound.Heartbeat
          || (m instanceof Outbound.RunEvent e && "marker".equals(e.kind()))) {
        return new Payload.Text(MARKER);
      }
      return new Payload.Text(BenchCodec.TEXT);
    }

    @Override
    public Inbound decode(Payload frame) throws ProtocolException {
      return new Inbound.Ping(null);
    }
  }

  /** A socket whose writer thread takes {@code writeNanos} per frame, in send order. */
  static final class SimulatedSocket implements Connection, Runnable {
    private record Write(Frame frame, SendCallback callback) {}

    private final ConcurrentLinkedQueue<Write> queue = new ConcurrentLinkedQueue<>();
    private final long writeNanos;
    volatile boolean hold;
    volatile boolean holding;
    volatile boolean running = true;
    volatile long markerWrittenAt;
    volatile long markerPosition;
    volatile long written;

    SimulatedSocket(long writeNanos) {
      this.writeNanos = writeNanos;
    }

    @Override
    public void run() {
      long count = 0;
      while (running) {
        if (hold) {
          holding = true;
          Thread.onSpinWait();
          continue;
        }
        holding = false;
        Write w = queue.poll();
        if (w == null) {
          Thread.onSpinWait();
          continue;
        }
        long end = System.nanoTime() + writeNanos;
        while (System.nanoTime() < end) {
          Thread.onSpinWait();
        }
        if (MARKER.equals(((Payload.Text) w.frame.payload()).text())) {
          markerPosition = count;
          markerWrittenAt = System.nanoTime();
        }
        written = ++count;
        w.callback.succeeded();
      }
    }

    @Override
    public String id() {
      return "hol";
    }

    @Override
    public String principal() {
      return "u";
    }

    @Override
    public void send(Frame frame, SendCallback callback) {
      queue.add(new Write(frame, callback));
    }

    @Override
    public void close(CloseReason reason) {}

    @Override
    public void terminate() {}

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public Set<Capability> capabilities() {
      return Set.of();
    }
  }

  /**
   * Latencies in nanoseconds, ours and the single-FIFO baseline, {@code samples} each; and, free of
   * scheduling noise, how many frames the socket wrote between the request and the control frame.
   */
  public record Result(
      Histogram ours,
      Histogram fifo,
      Histogram oursFramesAhead,
      Histogram fifoFramesAhead,
      long writeNanos,
      int samples) {}

  /** Runs {@code samples} samples of each, alternating, with {@code writeNanos} per frame. */
  public static Result run(int samples, long writeNanos) {
    SimulatedSocket socket = new SimulatedSocket(writeNanos);
    Thread writer = new Thread(socket, "hol-socket-writer");
    writer.setDaemon(true);
    writer.start();
    Histogram ours = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
    Histogram fifo = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
    Histogram oursAhead = new Histogram(1_000_000, 5); // exact counts
    Histogram fifoAhead = new Histogram(1_000_000, 5); // exact counts
    try (Runlane rl =
        Fixtures.builder(new MarkerCodec()).maxQueuedFrames(4 * BACKLOG).build()) {
      InboundHandler in = rl.connect(socket);
      RunHandle run = Fixtures.start(rl, "s", "u", socket.id());
      Payload ping = Payload.text("ping");
      for (int i = 0; i < 2 * samples + 4; i++) {
        boolean control = i % 2 == 0;
        long[] t = sample(rl, run, socket, in, ping, control);
        if (i >= 4) { // the first rounds warm up both paths
          (control ? ours : fifo).recordValue(t[0]);
          (control ? oursAhead : fifoAhead).recordValue(t[1]);
        }
      }
    } finally {
      socket.running = false;
    }
    return new Result(ours, fifo, oursAhead, fifoAhead, writeNanos, samples);
  }

  /** One sample: {latency ns, frames written between the request and the control frame}. */
  private static long[] sample(
      Runlane rl, RunHandle run, SimulatedSocket socket, InboundHandler in, Payload ping, boolean control) {
    awaitIdle(rl, socket);
    socket.hold = true;
    while (!socket.holding) {
      Thread.onSpinWait();
    }
    for (int i = 0; i < BACKLOG; i++) {
      run.publish("delta", PublishBenchmark.DATA);
    }
    socket.markerWrittenAt = 0;
    long writtenBefore = socket.written; // stable: the writer is held
    long t0 = System.nanoTime();
    if (control) {
      in.onFrame(ping); // answered with a control-lane heartbeat
    } else {
      run.publish("marker", null); // queued behind the backlog on the same FIFO lane
    }
    socket.hold = false;
    long at;
    while ((at = socket.markerWrittenAt) == 0) {
      LockSupport.parkNanos(20_000);
    }
    return new long[] {at - t0, socket.markerPosition - writtenBefore};
  }

  private static void awaitIdle(Runlane rl, SimulatedSocket socket) {
    for (; ; ) {
      ConnectionStats s = rl.connectionStats(socket.id()).orElseThrow();
      if (s.queuedFrames() == 0 && s.inFlight() == 0) {
        return;
      }
      LockSupport.parkNanos(100_000);
    }
  }
}
