package dev.runlane.transport.jetty;

import java.util.List;
import java.util.stream.Collectors;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.api.ExtensionConfig;
import org.eclipse.jetty.websocket.common.JettyExtensionConfig;
import org.eclipse.jetty.websocket.common.JettyWebSocketFrameHandler;
import org.eclipse.jetty.websocket.common.JettyWebSocketFrameHandlerFactory;
import org.eclipse.jetty.websocket.core.Configuration;
import org.eclipse.jetty.websocket.core.WebSocketComponents;
import org.eclipse.jetty.websocket.core.server.FrameHandlerFactory;
import org.eclipse.jetty.websocket.core.server.ServerUpgradeRequest;
import org.eclipse.jetty.websocket.core.server.ServerUpgradeResponse;
import org.eclipse.jetty.websocket.core.server.WebSocketMappings;
import org.eclipse.jetty.websocket.core.server.WebSocketServerComponents;
import org.eclipse.jetty.websocket.server.ServerWebSocketContainer;
import org.eclipse.jetty.websocket.server.WebSocketCreator;
import org.jspecify.annotations.Nullable;

/**
 * Upgrades the requests of one path to Runlane WebSockets the way Jetty's {@code
 * ServerWebSocketContainer.addMapping} does, except for what each session keeps of its upgrade:
 * {@link DetachedUpgradeRequest} and {@link DetachedUpgradeResponse} instead of Jetty 12.1's
 * snapshots, which keep the whole HTTP/1.1 exchange reachable (about 4 KB per open WebSocket).
 * Sessions still belong to the container (its session listeners and open sessions see them) and
 * get its settings (buffer sizes, limits, idle timeout) as its own mappings would; requests for
 * other paths go to the next handler.
 *
 * <p><b>Thread safety:</b> thread-safe once the server started, as any Jetty handler.
 */
final class DetachedUpgradeHandler extends Handler.Wrapper {
  private final WebSocketMappings mappings;

  DetachedUpgradeHandler(
      Server server,
      ContextHandler context,
      ServerWebSocketContainer container,
      String pathSpec,
      WebSocketCreator creator) {
    WebSocketComponents components =
        WebSocketServerComponents.ensureWebSocketComponents(server, context);
    this.mappings = new WebSocketMappings(components);
    JettyWebSocketFrameHandlerFactory handlers =
        new JettyWebSocketFrameHandlerFactory(container, components);
    FrameHandlerFactory factory =
        (endpoint, request, response) -> {
          JettyWebSocketFrameHandler handler = handlers.newJettyFrameHandler(endpoint);
          handler.setUpgradeRequest(new DetachedUpgradeRequest(request));
          handler.setUpgradeResponse(new DetachedUpgradeResponse(response));
          return handler;
        };
    org.eclipse.jetty.websocket.core.server.WebSocketCreator core =
        (request, response, callback) -> {
          try {
            return creator.createWebSocket(
                new ApiRequest(request), new ApiResponse(request, response), callback);
          } catch (Throwable x) {
            callback.failed(x);
            return null;
          }
        };
    // what the container's own mappings get: its settings, read at each upgrade
    Configuration.Customizer settings =
        session -> {
          session.setIdleTimeout(container.getIdleTimeout());
          session.setAutoFragment(container.isAutoFragment());
          session.setMaxFrameSize(container.getMaxFrameSize());
          session.setInputBufferSize(container.getInputBufferSize());
          session.setOutputBufferSize(container.getOutputBufferSize());
          session.setMaxBinaryMessageSize(container.getMaxBinaryMessageSize());
          session.setMaxTextMessageSize(container.getMaxTextMessageSize());
          session.setMaxOutgoingFrames(container.getMaxOutgoingFrames());
        };
    mappings.addMapping(WebSocketMappings.parsePathSpec(pathSpec), core, factory, settings);
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    boolean upgraded;
    try {
      upgraded = mappings.upgrade(request, response, callback, null);
    } catch (Throwable x) {
      Response.writeError(request, response, callback, x);
      return true;
    }
    return upgraded || super.handle(request, response, callback);
  }

  /** The upgrade request as Jetty's WebSocket API presents it to a creator, during the upgrade. */
  private static final class ApiRequest extends Request.Wrapper
      implements org.eclipse.jetty.websocket.server.ServerUpgradeRequest {
    private final ServerUpgradeRequest core;

    ApiRequest(ServerUpgradeRequest core) {
      super(core);
      this.core = core;
    }

    @Override
    public List<ExtensionConfig> getExtensions() {
      return core.getExtensions().stream().map(JettyExtensionConfig::new).collect(Collectors.toList());
    }

    @Override
    public List<String> getSubProtocols() {
      return core.getSubProtocols();
    }

    @Override
    public boolean hasSubProtocol(String subProtocol) {
      return core.hasSubProtocol(subProtocol);
    }
  }

  /** The upgrade response as Jetty's WebSocket API presents it to a creator, during the upgrade. */
  private static final class ApiResponse extends Response.Wrapper
      implements org.eclipse.jetty.websocket.server.ServerUpgradeResponse {
    private final ServerUpgradeResponse core;

    ApiResponse(ServerUpgradeRequest request, ServerUpgradeResponse core) {
      super(request, core);
      this.core = core;
    }

    @Override
    public @Nullable String getAcceptedSubProtocol() {
      return core.getAcceptedSubProtocol();
    }

    @Override
    public void setAcceptedSubProtocol(@Nullable String protocol) {
      core.setAcceptedSubProtocol(protocol);
    }

    @Override
    public List<ExtensionConfig> getExtensions() {
      return core.getExtensions().stream().map(JettyExtensionConfig::new).collect(Collectors.toList());
    }

    @Override
    public void setExtensions(List<ExtensionConfig> configs) {
      core.setExtensions(
          configs.stream()
              .map(e -> org.eclipse.jetty.websocket.core.ExtensionConfig.parse(e.getParameterizedName()))
              .collect(Collectors.toList()));
    }
  }
}
