package dev.runlane.transport.jetty;

import java.net.HttpCookie;
import java.net.URI;
import java.security.Principal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpScheme;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.UrlEncoded;
import org.eclipse.jetty.websocket.api.ExtensionConfig;
import org.eclipse.jetty.websocket.api.UpgradeRequest;
import org.eclipse.jetty.websocket.common.JettyExtensionConfig;
import org.eclipse.jetty.websocket.core.server.ServerUpgradeRequest;
import org.jspecify.annotations.Nullable;

/**
 * What a WebSocket session keeps of its upgrade request ({@code Session.getUpgradeRequest()}): a
 * compact copy that references nothing of the HTTP exchange.
 *
 * <p>Jetty 12.1's own snapshot keeps the request's header fields as parsed, and each parsed field
 * is an inner object of the connection's {@code HttpParser}, whose fields lead to the whole HTTP/1.1
 * connection (channel state, request, response, generator, the parser's buffers): about 3 KB of
 * heap per WebSocket, for as long as it is open (see docs/benchmarks.md, "Memory per connection").
 * This copy keeps the header names and values in one array, the URI as one string, and the
 * cookies, sub-protocols and extensions; the query parameters, the URI's parts and header maps are
 * derived when asked for.
 *
 * <p><b>Thread safety:</b> immutable.
 */
final class DetachedUpgradeRequest implements UpgradeRequest {
  /** Header names and values, alternating, in arrival order. */
  private final String[] headers;

  private final String uri;
  private final String method;
  private final String httpVersion;
  private final List<String> subProtocols;
  private final List<ExtensionConfig> extensions;
  private final boolean secure;
  private final String protocolVersion;
  private final @Nullable Principal principal;
  private final List<HttpCookie> cookies;

  DetachedUpgradeRequest(ServerUpgradeRequest request) {
    HttpFields fields = request.getHeaders();
    this.headers = flatten(fields);
    this.uri = request.getHttpURI().toString();
    this.method = request.getMethod();
    this.httpVersion = request.getConnectionMetaData().getHttpVersion().asString();
    this.subProtocols = List.copyOf(request.getSubProtocols());
    this.extensions = apiExtensions(request.getExtensions());
    this.secure = request.isSecure();
    this.protocolVersion = request.getProtocolVersion();
    Request.AuthenticationState auth = Request.getAuthenticationState(request);
    this.principal = auth == null ? null : auth.getUserPrincipal();
    List<HttpCookie> c = List.of();
    if (fields.contains(HttpHeader.COOKIE)) {
      List<HttpCookie> parsed = new ArrayList<>();
      for (org.eclipse.jetty.http.HttpCookie cookie : Request.getCookies(request)) {
        parsed.add(org.eclipse.jetty.http.HttpCookie.asJavaNetHttpCookie(cookie));
      }
      c = Collections.unmodifiableList(parsed);
    }
    this.cookies = c;
  }

  /** Names and values, alternating: fresh references to the strings, none to the fields. */
  static String[] flatten(HttpFields fields) {
    String[] flat = new String[fields.size() * 2];
    int i = 0;
    for (HttpField f : fields) {
      flat[i++] = f.getName();
      flat[i++] = f.getValue() == null ? "" : f.getValue();
    }
    return flat;
  }

  /** The values of the headers named {@code name} (case-insensitive), in order. */
  static List<String> values(String[] flat, String name) {
    List<String> out = new ArrayList<>(1);
    for (int i = 0; i < flat.length; i += 2) {
      if (flat[i].equalsIgnoreCase(name)) {
        out.add(flat[i + 1]);
      }
    }
    return out;
  }

  static @Nullable String first(String[] flat, String name) {
    for (int i = 0; i < flat.length; i += 2) {
      if (flat[i].equalsIgnoreCase(name)) {
        return flat[i + 1];
      }
    }
    return null;
  }

  /** Header name (case-insensitive) to its values, in the order the names first appear. */
  static Map<String, List<String>> asMap(String[] flat) {
    Map<String, List<String>> m = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    for (int i = 0; i < flat.length; i += 2) {
      m.computeIfAbsent(flat[i], k -> new ArrayList<>(1)).add(flat[i + 1]);
    }
    m.replaceAll((k, v) -> Collections.unmodifiableList(v));
    return Collections.unmodifiableMap(m);
  }

  static List<ExtensionConfig> apiExtensions(List<org.eclipse.jetty.websocket.core.ExtensionConfig> core) {
    if (core.isEmpty()) {
      return List.of();
    }
    List<ExtensionConfig> ext = new ArrayList<>(core.size());
    for (org.eclipse.jetty.websocket.core.ExtensionConfig e : core) {
      ext.add(new JettyExtensionConfig(e));
    }
    return Collections.unmodifiableList(ext);
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
    return first(headers, name);
  }

  @Override
  public int getHeaderInt(String name) {
    String v = first(headers, name);
    return v == null ? -1 : Integer.parseInt(v);
  }

  @Override
  public Map<String, List<String>> getHeaders() {
    return asMap(headers);
  }

  @Override
  public List<String> getHeaders(String name) {
    return Collections.unmodifiableList(values(headers, name));
  }

  @Override
  public @Nullable String getHost() {
    return HttpURI.from(uri).getHost();
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
    return first(headers, HttpHeader.ORIGIN.asString());
  }

  @Override
  public Map<String, List<String>> getParameterMap() {
    String query = HttpURI.from(uri).getQuery();
    if (query == null || query.isEmpty()) {
      return Map.of();
    }
    Map<String, List<String>> m = new LinkedHashMap<>();
    UrlEncoded.decodeUtf8To(
        query, 0, query.length(), (k, v) -> m.computeIfAbsent(k, x -> new ArrayList<>(1)).add(v));
    m.replaceAll((k, v) -> Collections.unmodifiableList(v));
    return Collections.unmodifiableMap(m);
  }

  @Override
  public String getProtocolVersion() {
    return protocolVersion;
  }

  @Override
  public @Nullable String getQueryString() {
    return HttpURI.from(uri).getQuery();
  }

  @Override
  public URI getRequestURI() {
    HttpURI u = HttpURI.from(uri);
    return HttpURI.build(u).scheme(HttpScheme.isSecure(u.getScheme()) ? HttpScheme.WSS : HttpScheme.WS).toURI();
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
