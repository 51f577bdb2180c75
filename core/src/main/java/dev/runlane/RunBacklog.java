package dev.runlane;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Producers waiting for a run's recipient backlog to drop to a mark ({@link
 * RunHandle#whenBacklogBelow}). A count shared by every run keeps the drain path free while nobody
 * waits: a connection's drain looks at its runs only when the count is not zero.
 *
 * <p><b>Thread safety:</b> not thread-safe: every method is called under the owning run's lock;
 * the futures it returns are completed by the caller after the lock is released.
 */
final class RunBacklog {
  private record Waiter(int frames, CompletableFuture<Void> done) {}

  private final AtomicInteger waitingEverywhere;
  private final List<Waiter> waiters = new ArrayList<>();

  RunBacklog(AtomicInteger waitingEverywhere) {
    this.waitingEverywhere = waitingEverywhere;
  }

  boolean isEmpty() {
    return waiters.isEmpty();
  }

  void add(int frames, CompletableFuture<Void> done) {
    waiters.add(new Waiter(frames, done));
    waitingEverywhere.incrementAndGet();
  }

  /** Removes and returns the waiters whose mark {@code backlog} meets, or all of them if {@code ended}. */
  List<CompletableFuture<Void>> takeReady(int backlog, boolean ended) {
    List<CompletableFuture<Void>> ready = new ArrayList<>();
    for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
      Waiter w = it.next();
      if (ended || backlog <= w.frames()) {
        it.remove();
        ready.add(w.done());
      }
    }
    waitingEverywhere.addAndGet(-ready.size());
    return ready;
  }
}
