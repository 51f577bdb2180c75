/**
 * JMH benchmarks and scale harnesses for Runlane, each measured beside a baseline in the same run,
 * and {@link dev.runlane.benchmarks.QuickPass}, the one command that runs them all briefly and
 * prints the table of {@code docs/benchmarks.md}.
 *
 * <p>The hot-path figures use {@link dev.runlane.benchmarks.BenchConnection} (a send that completes
 * at once) and {@link dev.runlane.benchmarks.BenchCodec} (an encode that wraps a constant string),
 * so they measure Runlane's routing, sequencing, retention and delivery, not a test transport or a
 * serializer.
 *
 * <p><b>Thread safety:</b> each type states its own; benchmark state follows JMH's scopes.
 */
@NullMarked
package dev.runlane.benchmarks;

import org.jspecify.annotations.NullMarked;
