/**
 * Test support for this build's own tests: {@link dev.runlane.testsupport.CapturedLogs}, an SLF4J
 * provider that keeps log records in memory instead of printing them, and {@link
 * dev.runlane.testsupport.LogsOnFailure}, which prints a test's records only when that test fails.
 */
@NullMarked
package dev.runlane.testsupport;

import org.jspecify.annotations.NullMarked;
