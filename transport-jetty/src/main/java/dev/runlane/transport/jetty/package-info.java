/**
 * The Runlane transport SPI on Jetty 12.1's native WebSocket API.
 *
 * <p>{@link dev.runlane.transport.jetty.JettyRunlaneWebSockets#install} maps a path of a Jetty
 * {@code ContextHandler} to WebSocket upgrades: each upgrade is authenticated by the host's {@link
 * dev.runlane.transport.jetty.UpgradeAuthenticator}, wrapped in a {@link
 * dev.runlane.transport.jetty.JettyConnection} and handed to the host's {@link
 * dev.runlane.transport.jetty.ConnectionAcceptor}, which registers it with Runlane and returns the
 * {@link dev.runlane.transport.InboundHandler} that receives the socket's inbound frames and its
 * close. Every rule T1–T7 of {@link dev.runlane.transport} is honoured here; the class that honours
 * a rule names it.
 *
 * <p><b>Thread safety:</b> every type here states its own contract.
 */
@NullMarked
package dev.runlane.transport.jetty;

import org.jspecify.annotations.NullMarked;
