/**
 * Runlane's transport SPI over Server-Sent Events on Jakarta Servlet 6: {@link
 * dev.runlane.transport.sse.SseRunlaneServlet}.
 *
 * <p><b>Thread safety:</b> see each type.
 */
@NullMarked
package dev.runlane.transport.sse;

import org.jspecify.annotations.NullMarked;
