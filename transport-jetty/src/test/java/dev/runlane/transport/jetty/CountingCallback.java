package dev.runlane.transport.jetty;

import dev.runlane.transport.SendCallback;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A {@link SendCallback} (possibly shared by several sends) that counts its completions. */
final class CountingCallback implements SendCallback {

  final AtomicInteger successes = new AtomicInteger();
  final AtomicInteger failures = new AtomicInteger();
  volatile Throwable lastFailure;
  private final CountDownLatch completions;

  CountingCallback(int expectedCompletions) {
    this.completions = new CountDownLatch(expectedCompletions);
  }

  @Override
  public void succeeded() {
    successes.incrementAndGet();
    completions.countDown();
  }

  @Override
  public void failed(Throwable cause) {
    lastFailure = cause;
    failures.incrementAndGet();
    completions.countDown();
  }

  void awaitAll() throws InterruptedException {
    if (!completions.await(10, TimeUnit.SECONDS)) {
      throw new AssertionError(
          "callbacks incomplete after 10 s: " + successes + " succeeded, " + failures + " failed");
    }
  }
}
