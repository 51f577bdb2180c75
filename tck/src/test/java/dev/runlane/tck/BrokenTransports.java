package dev.runlane.tck;

import dev.runlane.testkit.InMemoryConnection;
import dev.runlane.transport.Capability;
import dev.runlane.transport.CloseReason;
import dev.runlane.transport.Connection;
import dev.runlane.transport.Frame;
import dev.runlane.transport.InboundHandler;
import dev.runlane.transport.Payload;
import dev.runlane.transport.SendCallback;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A catalogue of deliberately broken transports, each breaking exactly one SPI rule, and the kit
 * run against each. {@link BrokenTransportsTest} runs these kits with JUnit's EngineTestKit and
 * checks that exactly the broken rule's tests fail. They only run there: the holder's name is not
 * a test name, nested classes are not picked up by Surefire, and {@link OnlyInCatalogue} disables
 * them unless the configuration parameter {@value #CATALOGUE} is set.
 */
final class BrokenTransports {

  static final String CATALOGUE = "runlane.tck.catalogue";

  private BrokenTransports() {}

  /** One broken behaviour and the rule it breaks. */
  enum Fault {
    CALLBACK_TWICE(Rule.T2_2, CallbackTwice.class),
    BLOCKING_SEND(Rule.T2_1, BlockingSend.class),
    CALLBACK_UNDER_LOCK(Rule.T2_3, CallbackUnderLock.class),
    REORDERING(Rule.T2_6, Reordering.class),
    SUCCESS_BEFORE_WRITE(Rule.T2_6, SuccessBeforeWrite.class),
    SEND_AFTER_CLOSE_WRITES(Rule.T3_2, SendAfterCloseWrites.class),
    CONCURRENT_INBOUND(Rule.T7_1, ConcurrentInbound.class),
    PING_NEVER_ANSWERED(Rule.T8_2, PingNeverAnswered.class),
    FLUSH_THROWS(Rule.T2_7, FlushThrows.class);

    final Rule breaks;
    final Class<? extends TransportRulesKit> kit;

    Fault(Rule breaks, Class<? extends TransportRulesKit> kit) {
      this.breaks = breaks;
      this.kit = kit;
    }

    InMemoryFixture fixture() {
      if (this == CONCURRENT_INBOUND) {
        return new InMemoryFixture(c -> c, false);
      }
      return new InMemoryFixture(c -> new BrokenConnection(c, this), true);
    }
  }

  /** Runs the broken kits only when {@link BrokenTransportsTest} asks for them. */
  static final class OnlyInCatalogue implements ExecutionCondition {
    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
      return context.getConfigurationParameter(CATALOGUE).map(Boolean::parseBoolean).orElse(false)
          ? ConditionEvaluationResult.enabled("run by BrokenTransportsTest")
          : ConditionEvaluationResult.disabled("a deliberately broken transport: only BrokenTransportsTest runs it");
    }
  }

  /** The kit against one broken transport, with a short timeout so that blocking faults fail fast. */
  @ExtendWith(OnlyInCatalogue.class)
  abstract static class BrokenKit extends TransportRulesKit {
    abstract Fault fault();

    @Override
    protected TransportFixture createFixture() {
      return fault().fixture();
    }

    @Override
    protected TckSettings settings() {
      return TckSettings.fromSystemProperties().withTimeout(Duration.ofSeconds(2)).withBacklogBytes(1 << 20);
    }
  }

  static final class CallbackTwice extends BrokenKit {
    @Override
    Fault fault() {
      return Fault.CALLBACK_TWICE;
    }
  }

  static final class BlockingSend extends BrokenKit {
    @Override
    Fault fault() {
      return Fault.BLOCKING_SEND;
    }
  }

  static final class CallbackUnderLock extends BrokenKit {
    @Override
    Fault fault() {
      return Fault.CALLBACK_UNDER_LOCK;
    }
  }

  static final class Reordering extends BrokenKit {
    @Override
    Fault fault() {
      return Fault.REORDERING;
    }
  }

  static final class SuccessBeforeWrite extends BrokenKit {
    @Override
    Fault fault() {
      return Fault.SUCCESS_BEFORE_WRITE;
    }
  }

  static final class SendAfterCloseWrites extends BrokenKit {
    @Override
    Fault fault() {
      return Fault.SEND_AFTER_CLOSE_WRITES;
    }
  }

  static final class ConcurrentInbound extends BrokenKit {
    @Override
    Fault fault() {
      return Fault.CONCURRENT_INBOUND;
    }
  }

  static final class FlushThrows extends BrokenKit {
    @Override
    Fault fault() {
      return Fault.FLUSH_THROWS;
    }
  }

  static final class PingNeverAnswered extends BrokenKit {
    @Override
    Fault fault() {
      return Fault.PING_NEVER_ANSWERED;
    }
  }

  /**
   * A correct transport that declares no capability and whose peers cannot stop reading: every
   * test that needs one must be skipped with the reason, none may fail.
   */
  @ExtendWith(OnlyInCatalogue.class)
  static final class LimitedRules extends TransportRulesKit {
    @Override
    protected TransportFixture createFixture() {
      return new InMemoryFixture(Set.of(), false);
    }
  }

  /** The promises kit over the same limited transport. */
  @ExtendWith(OnlyInCatalogue.class)
  static final class LimitedPromises extends TransportPromisesKit {
    @Override
    protected TransportFixture createFixture() {
      return new InMemoryFixture(Set.of(), false);
    }
  }

  private static ThreadFactory daemons(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  private static final ScheduledExecutorService LATER =
      Executors.newSingleThreadScheduledExecutor(daemons("broken-later"));

  /** A connection that delegates to an in-memory one and breaks one rule on the way. */
  static final class BrokenConnection implements Connection {
    private final InMemoryConnection delegate;
    private final Fault fault;
    private final AtomicInteger sends = new AtomicInteger();
    private final AtomicBoolean closeRequested = new AtomicBoolean();

    BrokenConnection(InMemoryConnection delegate, Fault fault) {
      this.delegate = delegate;
      this.fault = fault;
    }

    @Override
    public String id() {
      return delegate.id();
    }

    @Override
    public String principal() {
      return delegate.principal();
    }

    @Override
    public Set<Capability> capabilities() {
      if (fault == Fault.PING_NEVER_ANSWERED || fault == Fault.FLUSH_THROWS) {
        java.util.EnumSet<Capability> caps =
            java.util.EnumSet.of(fault == Fault.FLUSH_THROWS ? Capability.BATCHING : Capability.TRANSPORT_PING);
        caps.addAll(delegate.capabilities());
        return java.util.Collections.unmodifiableSet(caps);
      }
      return delegate.capabilities();
    }

    @Override
    public void flush() {
      // every send is written at once (a trivially correct batch), but:
      throw new IllegalStateException("BROKEN: T2.7, flush() throws");
    }

    @Override
    public void ping() {
      // BROKEN: T8.2 when declared, the ping goes nowhere and no pong is ever reported
    }

    @Override
    public void send(Frame frame, SendCallback callback) {
      switch (fault) {
        case CALLBACK_TWICE:
          delegate.send(frame, new SendCallback() {
            @Override
            public void succeeded() {
              callback.succeeded();
              callback.succeeded(); // BROKEN: T2.2
            }

            @Override
            public void failed(Throwable cause) {
              callback.failed(cause);
            }
          });
          return;
        case BLOCKING_SEND: {
          CountDownLatch written = new CountDownLatch(1);
          delegate.send(frame, new SendCallback() {
            @Override
            public void succeeded() {
              written.countDown();
              callback.succeeded();
            }

            @Override
            public void failed(Throwable cause) {
              written.countDown();
              callback.failed(cause);
            }
          });
          try {
            written.await(30, TimeUnit.SECONDS); // BROKEN: T2.1, waits for the peer to read
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return;
        }
        case CALLBACK_UNDER_LOCK:
          synchronized (this) {
            delegate.send(frame, callback); // BROKEN: T2.3, completes inside our lock
          }
          return;
        case REORDERING:
          if (!isOpen()) {
            callback.failed(new IllegalStateException("closed"));
          } else if (sends.getAndIncrement() % 2 == 0) {
            LATER.schedule(() -> delegate.send(frame, callback), 50, TimeUnit.MILLISECONDS); // BROKEN: T2.6
          } else {
            delegate.send(frame, callback);
          }
          return;
        case SUCCESS_BEFORE_WRITE:
          if (!isOpen()) {
            callback.failed(new IllegalStateException("closed"));
            return;
          }
          callback.succeeded(); // BROKEN: T2.6, success before the write
          LATER.schedule(() -> delegate.send(frame, NO_CALLBACK), 20, TimeUnit.MILLISECONDS);
          return;
        case SEND_AFTER_CLOSE_WRITES:
          delegate.send(frame, callback); // BROKEN: T3.2, no closed check; the close is still underway
          return;
        default:
          delegate.send(frame, callback);
      }
    }

    @Override
    public void close(CloseReason reason) {
      if (fault == Fault.SEND_AFTER_CLOSE_WRITES) {
        if (closeRequested.compareAndSet(false, true)) {
          LATER.schedule(() -> delegate.close(reason), 50, TimeUnit.MILLISECONDS);
        }
        return;
      }
      if (fault == Fault.CALLBACK_UNDER_LOCK) {
        synchronized (this) {
          delegate.close(reason);
        }
        return;
      }
      delegate.close(reason);
    }

    @Override
    public void terminate() {
      closeRequested.set(true);
      delegate.terminate();
    }

    @Override
    public boolean isOpen() {
      if (fault == Fault.CALLBACK_UNDER_LOCK) {
        synchronized (this) {
          return delegate.isOpen();
        }
      }
      return !closeRequested.get() && delegate.isOpen();
    }
  }

  private static final SendCallback NO_CALLBACK = new SendCallback() {
    @Override
    public void succeeded() {}

    @Override
    public void failed(Throwable cause) {}
  };

  /**
   * An inbound path that hands frames to a thread pool (BROKEN: T7.1). It still reports the close
   * once, after every frame handed over before it, and drops later frames, so only T7.1 breaks.
   */
  static final class PoolInbound implements InboundHandler {
    private final ExecutorService pool = Executors.newFixedThreadPool(4, daemons("broken-inbound"));
    private final Object lock = new Object();
    private int pending; // guarded by lock
    private boolean closed; // guarded by lock
    private volatile @Nullable InboundHandler target;
    private final CountDownLatch bound = new CountDownLatch(1);

    void bind(InboundHandler h) {
      target = h;
      bound.countDown();
    }

    private InboundHandler target() {
      try {
        bound.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      InboundHandler h = target;
      if (h == null) {
        throw new IllegalStateException("not bound");
      }
      return h;
    }

    @Override
    public void onFrame(Payload payload) {
      dispatch(h -> h.onFrame(payload));
    }

    @Override
    public void onActivity() {
      dispatch(InboundHandler::onActivity);
    }

    private void dispatch(java.util.function.Consumer<InboundHandler> call) {
      synchronized (lock) {
        if (closed) {
          return;
        }
        pending++;
      }
      pool.execute(() -> {
        try {
          call.accept(target());
        } finally {
          synchronized (lock) {
            pending--;
            lock.notifyAll();
          }
        }
      });
    }

    @Override
    public void onClose(CloseReason reason) {
      synchronized (lock) {
        if (closed) {
          return;
        }
        closed = true;
        while (pending > 0) {
          try {
            lock.wait();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
        }
      }
      target().onClose(reason);
      pool.shutdown();
    }
  }
}
