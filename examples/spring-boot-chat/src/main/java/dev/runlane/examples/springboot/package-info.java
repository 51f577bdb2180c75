/**
 * The chat example on Spring Boot: {@link dev.runlane.examples.springboot.SpringBootChatApplication}.
 *
 * <p><b>Thread safety:</b> see each type.
 */
@NullMarked
package dev.runlane.examples.springboot;

import org.jspecify.annotations.NullMarked;
