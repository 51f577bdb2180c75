/**
 * The transport conformance kit: JUnit 5 tests that tell an adapter author whether their transport
 * honours the Runlane transport SPI.
 *
 * <p>An author writes one {@link dev.runlane.tck.TransportFixture} (start the server side, hand
 * every accepted connection to a {@link dev.runlane.tck.ConnectionSink}, open a {@link
 * dev.runlane.tck.ClientPeer}; WebSocket adapters reuse {@link
 * dev.runlane.tck.JdkWebSocketClientPeer}) and extends two abstract test classes:
 *
 * <ul>
 *   <li>{@link dev.runlane.tck.TransportRulesKit}: one test per SPI rule T1–T7 of {@link
 *       dev.runlane.transport}, named by the rule id ({@code T2_2_…});
 *   <li>{@link dev.runlane.tck.TransportPromisesKit}: Runlane's end-to-end promises (isolation,
 *       order, resume, one end per run, slow consumers, control lane) with the real core running
 *       over the adapter, named by the promise number ({@code P3_…}).
 * </ul>
 *
 * <p>Every failure message says which rule broke, what to check ("If this fails, check …"), the
 * anchor of the rule in {@code docs/reference/transport-spi.md}, and the timeout and seed to
 * reproduce it with ({@code -Drunlane.tck.timeoutMillis}, {@code -Drunlane.tck.seed}). Tests of a
 * capability the connection does not declare, or of a peer ability the fixture lacks, are reported
 * as skipped with the reason, never as passed.
 *
 * <p><b>Thread safety:</b> every type here states its own contract.
 */
@NullMarked
package dev.runlane.tck;

import org.jspecify.annotations.NullMarked;
