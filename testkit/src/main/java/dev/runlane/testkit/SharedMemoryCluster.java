package dev.runlane.testkit;

import dev.runlane.ErrorCode;
import dev.runlane.Result;
import dev.runlane.RunOutcome;
import dev.runlane.engine.CommandRouter;
import dev.runlane.engine.EncodedFrame;
import dev.runlane.engine.Engine;
import dev.runlane.engine.EngineUnavailableException;
import dev.runlane.engine.NodeLossListener;
import dev.runlane.engine.RunCommand;
import dev.runlane.engine.RunDirectory;
import dev.runlane.engine.RunFeed;
import dev.runlane.engine.RunLog;
import dev.runlane.engine.RunLogView;
import dev.runlane.engine.RunRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A <b>test engine</b>: N Runlane nodes in one JVM sharing one in-memory store, so cluster
 * behaviour (resume on any node, live delivery across nodes, commands routed to the owner, one
 * end per run, a node's death) is tested fast and without Redis. Not for production: nothing
 * leaves the JVM.
 *
 * <pre>{@code
 * SharedMemoryCluster cluster = new SharedMemoryCluster(Duration.ofMillis(300));
 * Runlane a = Runlane.builder().codec(codec).engine(cluster.node("a")).build();
 * Runlane b = Runlane.builder().codec(codec).engine(cluster.node("b")).build();
 * cluster.kill("a");       // a is cut off with no shutdown path; b ends a's running runs
 * cluster.storeDown(true); // every engine call throws EngineUnavailableException
 * }</pre>
 *
 * <p>What it models: the directory is one compare-and-set store; each run's log holds its
 * sequenced frames and unsequenced signals in write order, bounded like the ring, fenced after a
 * recorded end; each node delivers its {@link RunFeed} tails on its own feed thread, in order,
 * once; commands run on the owning node's handler on a pool thread; each node renews a lease, and a
 * node whose lease runs out (killed, or closed with runs still running) is reported to every
 * surviving node's {@link NodeLossListener}. Ended runs are kept for their retention.
 *
 * <p><b>Thread safety:</b> safe for concurrent use.
 */
public final class SharedMemoryCluster implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(SharedMemoryCluster.class.getName());

  private final long leaseNanos;
  private final Object directoryLock = new Object();
  private final Map<String, RunRecord> records = new HashMap<>(); // guarded by directoryLock
  private final Map<String, String> runningBySession = new HashMap<>(); // guarded by directoryLock
  private final Map<String, String> latestBySession = new HashMap<>(); // guarded by directoryLock
  private final Map<String, StoredLog> logs = new ConcurrentHashMap<>();
  private final Map<String, Node> nodes = new ConcurrentHashMap<>();
  private final Map<String, Bound> bindings = new ConcurrentHashMap<>();
  private final List<Watch> watches = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService timer;
  private final ExecutorService commandPool;
  private volatile boolean storeDown;
  private volatile boolean closed;

  private record Bound(Node node, CommandRouter.Handler handler) {}

  private record Watch(Node node, String sessionId, Consumer<RunRecord> started) {}

  /** A cluster whose nodes hold leases of {@code lease} (a lost node is noticed within about that long). */
  public SharedMemoryCluster(Duration lease) {
    this.leaseNanos = lease.toNanos();
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "shared-memory-cluster-timer"));
    this.commandPool = Executors.newCachedThreadPool(r -> daemon(r, "shared-memory-cluster-command"));
    long period = Math.max(1, leaseNanos / 4);
    timer.scheduleAtFixedRate(this::checkLeases, period, period, TimeUnit.NANOSECONDS);
  }

  /** A cluster with a 300 ms lease. */
  public SharedMemoryCluster() {
    this(Duration.ofMillis(300));
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /**
   * A one-node cluster whose engine closes the cluster with itself: a store that outlives the
   * node's own memory (ended runs kept for their retention, by the wall clock), for running a
   * single-node suite against a durable engine.
   */
  public static Engine standalone() {
    SharedMemoryCluster c = new SharedMemoryCluster();
    Node n = (Node) c.node("solo");
    n.closesCluster = true;
    return n;
  }

  /** A new node's engine, with this id (unique in the cluster); give it to one Runlane. */
  public Engine node(String nodeId) {
    Node n = new Node(nodeId);
    if (nodes.putIfAbsent(nodeId, n) != null) {
      throw new IllegalArgumentException("node " + nodeId + " exists");
    }
    return n;
  }

  /**
   * Cuts {@code nodeId} off with no shutdown path, as a killed process or a partition would: its
   * engine calls throw {@link EngineUnavailableException}, its tails stop, commands for its runs
   * are refused, and it stops renewing its lease, so the surviving nodes are told within the lease.
   */
  public void kill(String nodeId) {
    Node n = Objects.requireNonNull(nodes.get(nodeId), "no node " + nodeId);
    n.cut = true;
    n.feed.shutdownNow();
  }

  /**
   * Loses everything the store held, as a store restarted empty would: records, claims and logs.
   * Tails notice when next woken (a later write to the run, or {@link #storeDown} toggled).
   */
  public void wipe() {
    synchronized (directoryLock) {
      records.clear();
      runningBySession.clear();
      latestBySession.clear();
      logs.clear();
    }
  }

  /**
   * Freezes ({@code true}) or thaws {@code nodeId}'s lease renewal, as a long GC pause or a stalled
   * host would: the node keeps its store access, so once the survivors took it for lost and ended its
   * runs, its next writes to those runs are fenced.
   */
  public void freeze(String nodeId, boolean frozen) {
    Objects.requireNonNull(nodes.get(nodeId), "no node " + nodeId).frozen = frozen;
  }

  /**
   * Makes the store unreachable ({@code true}) or reachable again: while down every engine call of
   * every node throws {@link EngineUnavailableException}, tails pause (and resume where they were)
   * and leases are neither renewed nor expired.
   */
  public void storeDown(boolean down) {
    storeDown = down;
    if (!down) {
      for (Node n : nodes.values()) {
        n.renew();
        n.tails.keySet().forEach(ClusterTail::kick);
      }
    }
  }

  /**
   * Waits until every frame and notice already written has been handed by every live node's feed
   * thread (a barrier on each feed thread, twice, so work a feed task queued is done too).
   *
   * @return false if a feed thread did not get there within {@code timeout}
   */
  public boolean settle(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (int round = 0; round < 2; round++) {
      for (Node n : nodes.values()) {
        if (n.cut) {
          continue;
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        n.onFeedThread(() -> done.complete(null));
        try {
          done.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
          if (!n.cut && !n.feed.isShutdown()) {
            return false;
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
    return true;
  }

  /** The ids of the nodes declared lost so far. */
  public List<String> lostNodes() {
    List<String> out = new ArrayList<>();
    for (Node n : nodes.values()) {
      if (n.lost) {
        out.add(n.id);
      }
    }
    return out;
  }

  /** The run records in the store (running, or ended within retention). */
  public int storedRuns() {
    synchronized (directoryLock) {
      return records.size();
    }
  }

  /** Open tails and session watches of the live nodes: 0 when nothing leaks. */
  public int openTails() {
    int n = 0;
    for (Node node : nodes.values()) {
      if (!node.cut) { // a killed node's tails died with it
        n += node.tails.size();
      }
    }
    for (Watch w : watches) {
      if (!w.node.cut) {
        n++;
      }
    }
    return n;
  }

  /** Command handlers bound by live nodes. */
  public int boundHandlers() {
    int n = 0;
    for (Bound b : bindings.values()) {
      if (!b.node.cut) {
        n++;
      }
    }
    return n;
  }

  @Override
  public void close() {
    closed = true;
    timer.shutdownNow();
    commandPool.shutdownNow();
    for (Node n : nodes.values()) {
      n.feed.shutdownNow();
    }
  }

  @Nullable StoredLog log(String runId) {
    return logs.get(runId);
  }

  /** Whether {@code runId} is claimed and running but its owner has not created its log yet. */
  boolean awaitingLog(String runId) {
    synchronized (directoryLock) {
      RunRecord r = records.get(runId);
      return r != null && !r.ended() && !logs.containsKey(runId);
    }
  }

  private void checkLeases() {
    if (storeDown || closed) {
      return;
    }
    long now = System.nanoTime();
    for (Node n : nodes.values()) {
      if (!n.lost && now - n.leaseUntil > 0) {
        declareLost(n);
      }
    }
  }

  private void declareLost(Node dead) {
    dead.lost = true;
    bindings.values().removeIf(b -> b.node == dead);
    watches.removeIf(w -> w.node == dead);
    List<RunRecord> running = new ArrayList<>();
    synchronized (directoryLock) {
      for (RunRecord r : records.values()) {
        if (!r.ended() && r.nodeId().equals(dead.id)) {
          running.add(r);
        }
      }
    }
    for (Node n : nodes.values()) {
      NodeLossListener l = n.listener;
      if (n != dead && !n.cut && !n.lost && l != null) {
        List<RunRecord> copy = List.copyOf(running);
        n.onFeedThread(() -> l.nodeLost(dead.id, copy));
      }
    }
  }

  private void expireLater(String runId, long millis) {
    try {
      timer.schedule(
          () -> {
            synchronized (directoryLock) {
              RunRecord r = records.remove(runId);
              if (r != null) {
                latestBySession.remove(r.sessionId(), runId);
              }
            }
            logs.remove(runId);
          },
          Math.max(0, millis),
          TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // closed: nothing is kept anyway
    }
  }

  private void kickTails(String runId) {
    for (Node n : nodes.values()) {
      for (Map.Entry<ClusterTail, String> t : n.tails.entrySet()) {
        if (t.getValue().equals(runId)) {
          t.getKey().kick();
        }
      }
    }
  }

  /** One node's engine: a view of the shared store with this node's identity, feed thread and lease. */
  final class Node implements Engine, RunDirectory, RunFeed, CommandRouter {
    final String id;
    final ExecutorService feed;
    final Map<ClusterTail, String> tails = new ConcurrentHashMap<>();
    volatile boolean cut;
    volatile boolean lost;
    volatile long leaseUntil;
    volatile @Nullable NodeLossListener listener;
    volatile boolean closesCluster;
    volatile boolean frozen;

    Node(String id) {
      this.id = id;
      this.feed = Executors.newSingleThreadExecutor(r -> daemon(r, "shared-memory-feed-" + id));
      renew();
      long period = Math.max(1, leaseNanos / 3);
      timer.scheduleAtFixedRate(this::renewIfAlive, period, period, TimeUnit.NANOSECONDS);
    }

    SharedMemoryCluster cluster() {
      return SharedMemoryCluster.this;
    }

    void renew() {
      leaseUntil = System.nanoTime() + leaseNanos;
    }

    private void renewIfAlive() {
      if (!cut && !storeDown && !frozen) {
        renew();
        lost = false; // declared lost while it was only slow: its runs were ended (and are fenced); it carries on
      }
    }

    boolean feedMayRun() {
      return !cut && !storeDown && !closed;
    }

    void onFeedThread(Runnable r) {
      try {
        feed.execute(
            () -> {
              try {
                r.run();
              } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "a feed task of node " + id + " threw", e);
              }
            });
      } catch (RejectedExecutionException e) {
        // the node is cut off or closed: it delivers nothing more
      }
    }

    void tailGone(ClusterTail t, String runId) {
      tails.remove(t);
      StoredLog log = logs.get(runId);
      if (log != null) {
        log.tails.remove(t);
      }
    }

    private void check(String what) {
      if (cut) {
        throw new EngineUnavailableException("node " + id + " is cut off from the store (" + what + ")");
      }
      if (storeDown) {
        throw new EngineUnavailableException("the store is down (" + what + ")");
      }
    }

    // ------------------------------------------------------------ Engine

    @Override
    public RunLog newLog(String runId, int maxFrames, long maxBytes) {
      check("newLog");
      StoredLog log = logs.computeIfAbsent(runId, k -> new StoredLog(k, maxFrames, maxBytes));
      kickTails(runId); // tails opened between the claim and now (a session watch's) start
      return new NodeLog(log);
    }

    @Override
    public RunDirectory directory() {
      return this;
    }

    @Override
    public Optional<RunFeed> feed() {
      return Optional.of(this);
    }

    @Override
    public CommandRouter commands() {
      return this;
    }

    @Override
    public String newEpoch() {
      return Long.toHexString(ThreadLocalRandom.current().nextLong() | 1L << 63);
    }

    @Override
    public RunLogView view(String runId) {
      return new RunLogView() {
        private StoredLog stored() {
          check("view");
          StoredLog l = logs.get(runId);
          return l == null ? new StoredLog(runId, 1, 0) : l;
        }

        @Override
        public long head() {
          return stored().head();
        }

        @Override
        public long oldest() {
          return stored().oldest();
        }

        @Override
        public void read(long from, long to, Consumer<EncodedFrame> sink) {
          stored().read(from, to, sink);
        }

        @Override
        public List<EncodedFrame> pendingApprovals() {
          return stored().pendingApprovals();
        }
      };
    }

    @Override
    public String nodeId() {
      return id;
    }

    @Override
    public void onNodeLost(NodeLossListener l) {
      listener = l;
    }

    @Override
    public void close() {
      // a graceful stop: no more renewals; runs still running are ended by the survivors
      cut = true;
      for (ClusterTail t : new ArrayList<>(tails.keySet())) {
        t.close();
      }
      watches.removeIf(w -> w.node == this);
      feed.shutdown();
      if (closesCluster) {
        SharedMemoryCluster.this.close();
      }
    }

    // ------------------------------------------------------------ RunDirectory

    @Override
    public Optional<String> claim(RunRecord run) {
      check("claim");
      List<Watch> told = new ArrayList<>();
      synchronized (directoryLock) {
        String holder = runningBySession.get(run.sessionId());
        if (holder != null) {
          return Optional.of(holder);
        }
        runningBySession.put(run.sessionId(), run.runId());
        latestBySession.put(run.sessionId(), run.runId());
        records.put(run.runId(), run);
        for (Watch w : watches) {
          if (w.sessionId.equals(run.sessionId())) {
            told.add(w);
          }
        }
      }
      for (Watch w : told) {
        w.node.onFeedThread(() -> w.started.accept(run));
      }
      return Optional.empty();
    }

    @Override
    public boolean end(RunOutcome outcome, @Nullable EncodedFrame terminal) {
      check("end");
      long retention;
      synchronized (directoryLock) {
        RunRecord r = records.get(outcome.runId());
        if (r == null || r.ended()) {
          return false;
        }
        StoredLog log = logs.get(outcome.runId());
        if (log != null && !log.end(outcome.terminalSeq(), terminal)) {
          return false;
        }
        if (log == null && terminal != null) {
          return false;
        }
        records.put(r.runId(), r.withOutcome(outcome));
        runningBySession.remove(r.sessionId(), r.runId());
        retention = r.retentionMillis();
      }
      expireLater(outcome.runId(), retention);
      if (terminal != null) {
        kickTails(outcome.runId());
      }
      return true;
    }

    @Override
    public Optional<RunRecord> lookup(String runId) {
      check("lookup");
      synchronized (directoryLock) {
        return Optional.ofNullable(records.get(runId));
      }
    }

    @Override
    public Optional<RunRecord> latest(String sessionId) {
      check("latest");
      synchronized (directoryLock) {
        String id = latestBySession.get(sessionId);
        return id == null ? Optional.empty() : Optional.ofNullable(records.get(id));
      }
    }

    // ------------------------------------------------------------ RunFeed

    @Override
    public Tail tail(String runId, long afterSeq, Sink sink) {
      check("tail");
      StoredLog log = logs.get(runId);
      long start = log == null ? 1 : log.startPosition(afterSeq);
      ClusterTail t = new ClusterTail(this, runId, start, sink);
      tails.put(t, runId);
      if (log != null) {
        log.tails.add(t);
      }
      t.kick();
      return t;
    }

    @Override
    public Tail watchSession(String sessionId, Consumer<RunRecord> started) {
      check("watchSession");
      Watch w = new Watch(this, sessionId, started);
      watches.add(w);
      return () -> watches.remove(w);
    }

    // ------------------------------------------------------------ CommandRouter

    @Override
    public Binding bind(String runId, Handler handler) {
      check("bind");
      Bound b = new Bound(this, handler);
      if (bindings.putIfAbsent(runId, b) != null) {
        throw new IllegalStateException("run " + runId + " is already bound");
      }
      return () -> bindings.remove(runId, b);
    }

    @Override
    public CompletionStage<Result<?>> route(String runId, RunCommand command) {
      if (cut || storeDown) {
        return CompletableFuture.failedFuture(new EngineUnavailableException("cannot route: the store is unreachable"));
      }
      Bound b = bindings.get(runId);
      if (b == null || b.node.cut) {
        return CompletableFuture.completedFuture(
            Result.refused(ErrorCode.NO_ACTIVE_RUN, "run " + runId + " is not running"));
      }
      try {
        return CompletableFuture.supplyAsync(() -> b.handler.handle(command), commandPool);
      } catch (RejectedExecutionException e) {
        return CompletableFuture.failedFuture(new EngineUnavailableException("the cluster is closed", e));
      }
    }

    /** The owner's handle on a run's stored log: every call checks the node can reach the store. */
    private final class NodeLog implements RunLog {
      private final StoredLog log;

      NodeLog(StoredLog log) {
        this.log = log;
      }

      @Override
      public void append(long seq, EncodedFrame frame) {
        check("append");
        log.append(seq, frame);
        kickTails(log.runId);
      }

      @Override
      public void signal(EncodedFrame frame) {
        check("signal");
        log.signal(frame);
        kickTails(log.runId);
      }

      @Override
      public long head() {
        return log.head(); // the owner's own head: it is the only writer
      }

      @Override
      public long oldest() {
        return log.oldest();
      }

      @Override
      public void read(long from, long to, Consumer<EncodedFrame> sink) {
        log.read(from, to, sink);
      }

      @Override
      public long retainedBytes() {
        return 0; // held in the store, not in the node's memory
      }

      @Override
      public long retainedFrames() {
        return 0;
      }

      @Override
      public void trim(long maxBytes) {}

      @Override
      public void clear() {} // the store keeps the log for the record's retention
    }
  }
}
