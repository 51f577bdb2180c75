package dev.runlane.transport.jetty;

import org.eclipse.jetty.websocket.server.ServerUpgradeRequest;
import org.jspecify.annotations.Nullable;

/**
 * The host's authentication of a WebSocket upgrade request, before the upgrade happens (rule T1.2:
 * Runlane never authenticates, it authorizes by the principal resolved here).
 *
 * <p>Returning {@code null} (or an empty string) refuses the upgrade: the client gets the HTTP status
 * configured by {@link JettyRunlaneWebSockets.Settings.Builder#refusalStatus(int)} (401 by default)
 * and no WebSocket is opened. Throwing refuses it with HTTP 500.
 *
 * <p>Runs on a Jetty request thread; it may block briefly (e.g. to look up a token), since the
 * upgrade request is not yet a WebSocket.
 *
 * <p><b>Thread safety:</b> called concurrently for different requests; implementations must be
 * thread-safe.
 */
@FunctionalInterface
public interface UpgradeAuthenticator {

  /**
   * Resolves the principal of an upgrade request.
   *
   * @param request the HTTP upgrade request: headers, query, cookies, remote address
   * @return the principal (user id, account id, …), or {@code null} to refuse the upgrade
   * @throws Exception to refuse the upgrade with HTTP 500
   */
  @Nullable String authenticate(ServerUpgradeRequest request) throws Exception;
}
