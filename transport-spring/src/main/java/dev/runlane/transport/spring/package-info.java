/**
 * Runlane's transport SPI on Spring's WebSocket support: {@link
 * dev.runlane.transport.spring.RunlaneWebSocketHandler} serves Runlane connections from any
 * servlet container Spring runs WebSockets on.
 *
 * <p><b>Thread safety:</b> see each type.
 */
@NullMarked
package dev.runlane.transport.spring;

import org.jspecify.annotations.NullMarked;
