/**
 * Small helpers for transport authors: code every host transport needs in the same form, kept out
 * of the SPI's contract types. Using them is optional; the rules in {@link dev.runlane.transport}
 * are what a transport must honour.
 *
 * <p><b>Thread safety:</b> every type here states its own contract.
 */
@NullMarked
package dev.runlane.transport.support;

import org.jspecify.annotations.NullMarked;
