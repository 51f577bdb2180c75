package dev.runlane.transport.jetty;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.eclipse.jetty.websocket.api.ExtensionConfig;
import org.eclipse.jetty.websocket.api.UpgradeResponse;
import org.eclipse.jetty.websocket.core.server.ServerUpgradeResponse;
import org.jspecify.annotations.Nullable;

/**
 * What a WebSocket session keeps of its upgrade response ({@code Session.getUpgradeResponse()}): a
 * copy of the status, headers, sub-protocol and extensions when the endpoint was created. Jetty
 * 12.1's own snapshot keeps a live view of the response's headers, and through it the whole HTTP
 * exchange, for as long as the WebSocket is open (see {@link DetachedUpgradeRequest}).
 *
 * <p><b>Thread safety:</b> immutable.
 */
final class DetachedUpgradeResponse implements UpgradeResponse {
  /** Header names and values, alternating. */
  private final String[] headers;

  private final int status;
  private final @Nullable String subProtocol;
  private final List<ExtensionConfig> extensions;

  DetachedUpgradeResponse(ServerUpgradeResponse response) {
    this.headers = DetachedUpgradeRequest.flatten(response.getHeaders());
    this.status = response.getStatus();
    this.subProtocol = response.getAcceptedSubProtocol();
    this.extensions = DetachedUpgradeRequest.apiExtensions(response.getExtensions());
  }

  @Override
  public @Nullable String getAcceptedSubProtocol() {
    return subProtocol;
  }

  @Override
  public List<ExtensionConfig> getExtensions() {
    return extensions;
  }

  @Override
  public @Nullable String getHeader(String name) {
    return DetachedUpgradeRequest.first(headers, name);
  }

  @Override
  public Set<String> getHeaderNames() {
    Set<String> names = new LinkedHashSet<>();
    for (int i = 0; i < headers.length; i += 2) {
      names.add(headers[i]);
    }
    return Collections.unmodifiableSet(names);
  }

  @Override
  public Map<String, List<String>> getHeaders() {
    return DetachedUpgradeRequest.asMap(headers);
  }

  @Override
  public List<String> getHeaders(String name) {
    return Collections.unmodifiableList(DetachedUpgradeRequest.values(headers, name));
  }

  @Override
  public int getStatusCode() {
    return status;
  }
}
