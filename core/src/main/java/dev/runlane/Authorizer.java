package dev.runlane;

import org.jspecify.annotations.Nullable;

/**
 * The host's authorization hook: may {@code principal} do {@code action} on {@code sessionId}?
 *
 * <p>Runlane consults it for every start, every subscribe/attach by a connection that did not start
 * the run, every abort and every approval resolution. The {@linkplain #ownerOnly() default} allows
 * a session's owner (the principal that first started a run in it) and nobody else; a host that
 * shares sessions (a team chat) supplies its own. Example:
 *
 * <pre>{@code
 * Authorizer byAcl = (principal, action, sessionId, owner) ->
 *     acl.canAccess(principal, sessionId) ? Decision.ALLOW : Decision.NOT_FOUND;
 * }</pre>
 *
 * <p><b>Thread safety:</b> called concurrently from connection and publisher threads, never under a
 * Runlane lock. Must be fast and must not block for long; an exception counts as {@link
 * Decision#DENY} and is logged.
 */
@FunctionalInterface
public interface Authorizer {

  /** The answer. {@link #NOT_FOUND} hides a session's existence from those who may not see it. */
  enum Decision {
    ALLOW,
    DENY,
    NOT_FOUND
  }

  /**
   * Decides.
   *
   * @param principal who asks (the connection's principal, or the caller of an API method)
   * @param action what they ask
   * @param sessionId the session concerned
   * @param owner the session's owner if it has one yet (the principal of its first run), else null
   */
  Decision authorize(String principal, Action action, String sessionId, @Nullable String owner);

  /**
   * Allows the session's owner and hides the session from everyone else ({@link
   * Decision#NOT_FOUND}); in an ownerless session (nobody started a run in it yet) anyone may start
   * a run (and so claim it), follow it, or ask to abort (there is nothing to abort).
   */
  static Authorizer ownerOnly() {
    return (principal, action, sessionId, owner) -> {
      if (owner == null) {
        return action == Action.RESOLVE_APPROVAL ? Decision.NOT_FOUND : Decision.ALLOW;
      }
      return owner.equals(principal) ? Decision.ALLOW : Decision.NOT_FOUND;
    };
  }
}
