/**
 * Runlane's metrics bridge to Micrometer: {@link dev.runlane.micrometer.MicrometerRunlaneMetrics}.
 *
 * <p><b>Thread safety:</b> see each type.
 */
@NullMarked
package dev.runlane.micrometer;

import org.jspecify.annotations.NullMarked;
