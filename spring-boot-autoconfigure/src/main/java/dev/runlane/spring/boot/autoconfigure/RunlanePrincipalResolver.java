package dev.runlane.spring.boot.autoconfigure;

import jakarta.servlet.http.HttpServletRequest;
import org.jspecify.annotations.Nullable;

/**
 * Who is asking for a stream ticket: a bean the ticket endpoint asks instead of the servlet
 * request's authenticated user ({@link HttpServletRequest#getUserPrincipal()}, which Spring
 * Security fills). Return {@code null} to refuse with 401.
 *
 * <pre>{@code
 * @Bean RunlanePrincipalResolver principals(Sessions sessions) {
 *   return request -> sessions.userOf(request.getCookies());   // your own login
 * }
 * }</pre>
 *
 * <p><b>Thread safety:</b> called from servlet container threads concurrently; must be thread-safe.
 */
@FunctionalInterface
public interface RunlanePrincipalResolver {

  /** The principal {@code request} is authenticated as, or {@code null} if it is not. */
  @Nullable String principal(HttpServletRequest request);
}
