/**
 * The runnable chat example: {@link dev.runlane.examples.chat.ChatServer} (Jetty 12.1, the JSON
 * protocol, stream tickets, a plain HTML+JS page) and its {@link dev.runlane.examples.chat.DemoAgent}.
 * Start it with {@link dev.runlane.examples.chat.ChatServerMain}.
 *
 * <p><b>Thread safety:</b> each type states its own.
 */
@NullMarked
package dev.runlane.examples.chat;

import org.jspecify.annotations.NullMarked;
