/**
 * Runlane's public API: route each run's events to exactly that run's recipients, number and keep
 * them for resume, end every run exactly once, and deliver through bounded per-connection
 * outboxes.
 *
 * <p>Start at {@link dev.runlane.Runlane}: build one with a {@link dev.runlane.codec.WireCodec}, register
 * each client connection with {@link dev.runlane.Runlane#connect}, start runs with {@link
 * dev.runlane.Runlane#startRun} (or let clients start them through a {@link
 * dev.runlane.RunRuntime}), and publish through the {@link dev.runlane.RunHandle}.
 *
 * <p>Promises (see {@code docs/concepts/}): isolation (no broadcast of a run, ever), order and
 * uniqueness (seq 1, 2, 3 … per run), resume with a typed result, one end per run, one running
 * run per session, slow consumers hurt only themselves, control overtakes stream, bad input gets a
 * stable error code, nothing leaks.
 *
 * <p><b>Thread safety:</b> every public type states its contract; the engine is safe for
 * concurrent use and never calls host code (transport, hooks, listeners) under its locks.
 */
@NullMarked
package dev.runlane;

import org.jspecify.annotations.NullMarked;
