package dev.runlane.transport.jetty;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.websocket.api.ExtensionConfig;
import org.eclipse.jetty.websocket.api.UpgradeResponse;
import org.eclipse.jetty.websocket.common.JettyExtensionConfig;
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
  private final HttpFields headers;
  private final int status;
  private final @Nullable String subProtocol;
  private final List<ExtensionConfig> extensions;

  DetachedUpgradeResponse(ServerUpgradeResponse response) {
    this.headers = DetachedUpgradeRequest.copy(response.getHeaders());
    this.status = response.getStatus();
    this.subProtocol = response.getAcceptedSubProtocol();
    List<ExtensionConfig> ext = new ArrayList<>();
    for (org.eclipse.jetty.websocket.core.ExtensionConfig e : response.getExtensions()) {
      ext.add(new JettyExtensionConfig(e));
    }
    this.extensions = Collections.unmodifiableList(ext);
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
    return headers.get(name);
  }

  @Override
  public Set<String> getHeaderNames() {
    return headers.getFieldNamesCollection();
  }

  @Override
  public Map<String, List<String>> getHeaders() {
    return HttpFields.asMap(headers);
  }

  @Override
  public List<String> getHeaders(String name) {
    return headers.getValuesList(name);
  }

  @Override
  public int getStatusCode() {
    return status;
  }
}
