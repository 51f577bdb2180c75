/**
 * Drive Runlane in tests without sockets: {@link dev.runlane.testkit.InMemoryTransport} with
 * scriptable connections (closed, failing, slow: callbacks completed later by the test), {@link
 * dev.runlane.testkit.ManualTimeSource} for deterministic timers, {@link
 * dev.runlane.testkit.TextCodec} (a tiny human-readable wire format) and {@link
 * dev.runlane.testkit.RunlaneAssertions}.
 *
 * <pre>{@code
 * ManualTimeSource time = new ManualTimeSource();
 * Runlane runlane = Runlane.builder().codec(new TextCodec()).timeSource(time).build();
 * InMemoryTransport transport = new InMemoryTransport(runlane);
 * InMemoryConnection alice = transport.open("alice");
 * alice.sendText("start s1 hello");
 * RunlaneAssertions.assertSeqs(alice, runId, 1, 2, 3);
 * }</pre>
 *
 * <p><b>Thread safety:</b> each type states its own.
 */
@NullMarked
package dev.runlane.testkit;

import org.jspecify.annotations.NullMarked;
