package dev.runlane.transport.jetty;

import java.net.HttpCookie;
import java.net.URI;
import java.security.Principal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpScheme;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.websocket.api.ExtensionConfig;
import org.eclipse.jetty.websocket.api.UpgradeRequest;
import org.eclipse.jetty.websocket.common.JettyExtensionConfig;
import org.eclipse.jetty.websocket.core.server.ServerUpgradeRequest;
import org.jspecify.annotations.Nullable;

/**
 * What a WebSocket session keeps of its upgrade request ({@code Session.getUpgradeRequest()}): a
 * copy that references nothing of the HTTP exchange.
 *
 * <p>Jetty 12.1's own snapshot keeps the request's header fields as parsed, and each parsed field
 * is an inner object of the connection's {@code HttpParser}, whose fields lead to the whole HTTP/1.1
 * connection (channel state, request, response, generator, the parser's buffers): about 4 KB of
 * heap per WebSocket, for as long as it is open (see docs/benchmarks.md, "Memory per connection").
 * This copy holds fresh header fields, the URI, the query, the cookies and the negotiated
 * extensions and sub-protocols, nothing else.
 *
 * <p><b>Thread safety:</b> immutable once built, apart from the lazily built maps, which are
 * idempotent.
 */
final class DetachedUpgradeRequest implements UpgradeRequest {
  private final HttpFields headers;
  private final HttpURI uri;
  private final String method;
  private final String httpVersion;
  private final List<String> subProtocols;
  private final List<ExtensionConfig> extensions;
  private final boolean secure;
  private final String protocolVersion;
  private final @Nullable Principal principal;
  private final List<HttpCookie> cookies;
  private final @Nullable Fields query;

  DetachedUpgradeRequest(ServerUpgradeRequest request) {
    this.headers = copy(request.getHeaders());
    this.uri = HttpURI.build(request.getHttpURI()).asImmutable();
    this.method = request.getMethod();
    this.httpVersion = request.getConnectionMetaData().getHttpVersion().asString();
    this.subProtocols = List.copyOf(request.getSubProtocols());
    List<ExtensionConfig> ext = new ArrayList<>();
    for (org.eclipse.jetty.websocket.core.ExtensionConfig e : request.getExtensions()) {
      ext.add(new JettyExtensionConfig(e));
    }
    this.extensions = Collections.unmodifiableList(ext);
    this.secure = request.isSecure();
    this.protocolVersion = request.getProtocolVersion();
    Request.AuthenticationState auth = Request.getAuthenticationState(request);
    this.principal = auth == null ? null : auth.getUserPrincipal();
    List<HttpCookie> c = new ArrayList<>();
    if (headers.contains(HttpHeader.COOKIE)) {
      for (org.eclipse.jetty.http.HttpCookie cookie : Request.getCookies(request)) {
        c.add(org.eclipse.jetty.http.HttpCookie.asJavaNetHttpCookie(cookie));
      }
    }
    this.cookies = Collections.unmodifiableList(c);
    this.query = uri.getQuery() == null ? null : Request.extractQueryParameters(request);
  }

  /** Fresh fields with the same names and values: none of them belongs to the parser. */
  static HttpFields copy(HttpFields fields) {
    HttpFields.Mutable copy = HttpFields.build(fields.size());
    for (HttpField f : fields) {
      copy.add(new HttpField(f.getHeader(), f.getName(), f.getValue()));
    }
    return copy.asImmutable();
  }

  @Override
  public List<HttpCookie> getCookies() {
    return cookies;
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
  public int getHeaderInt(String name) {
    HttpField field = headers.getField(name);
    return field == null ? -1 : field.getIntValue();
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
  public @Nullable String getHost() {
    return uri.getHost();
  }

  @Override
  public String getHttpVersion() {
    return httpVersion;
  }

  @Override
  public String getMethod() {
    return method;
  }

  @Override
  public @Nullable String getOrigin() {
    return headers.get(HttpHeader.ORIGIN);
  }

  @Override
  public Map<String, List<String>> getParameterMap() {
    Fields q = query;
    if (q == null) {
      return Map.of();
    }
    Map<String, List<String>> m = new LinkedHashMap<>();
    for (Fields.Field f : q) {
      m.put(f.getName(), f.getValues());
    }
    return Collections.unmodifiableMap(m);
  }

  @Override
  public String getProtocolVersion() {
    return protocolVersion;
  }

  @Override
  public @Nullable String getQueryString() {
    return uri.getQuery();
  }

  @Override
  public URI getRequestURI() {
    HttpURI.Mutable ws = HttpURI.build(uri);
    ws.scheme(HttpScheme.isSecure(uri.getScheme()) ? HttpScheme.WSS : HttpScheme.WS);
    return ws.toURI();
  }

  @Override
  public List<String> getSubProtocols() {
    return subProtocols;
  }

  @Override
  public @Nullable Principal getUserPrincipal() {
    return principal;
  }

  @Override
  public boolean hasSubProtocol(String test) {
    for (String p : subProtocols) {
      if (p.equalsIgnoreCase(test)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public boolean isSecure() {
    return secure;
  }
}
