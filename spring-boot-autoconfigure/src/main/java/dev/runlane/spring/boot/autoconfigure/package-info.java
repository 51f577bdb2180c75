/**
 * Spring Boot auto-configuration for Runlane: a {@link dev.runlane.Runlane} bean built from {@code
 * runlane.*} properties and the host's {@link dev.runlane.RunRuntime}, a WebSocket endpoint with the
 * JSON protocol, a stream ticket endpoint, graceful shutdown, Micrometer metrics and an Actuator
 * health indicator.
 *
 * <p><b>Thread safety:</b> see each type.
 */
@NullMarked
package dev.runlane.spring.boot.autoconfigure;

import org.jspecify.annotations.NullMarked;
