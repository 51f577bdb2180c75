/** A real redis-server for this build's tests (not published). */
@NullMarked
package dev.runlane.testredis;

import org.jspecify.annotations.NullMarked;
