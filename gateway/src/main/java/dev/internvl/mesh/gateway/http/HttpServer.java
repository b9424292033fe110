package dev.internvl.mesh.gateway.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.internvl.mesh.gateway.openai.ApiError;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * The gateway's HTTP/1.1 server on Netty: bodies up to a limit are aggregated (larger ones get 413 before they are
 * read), then routed by method and path to handlers that answer on their own time.
 */
public final class HttpServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HttpServer.class);

    /** Hears every exchange's end: the route it matched ("unmatched" if none), its status and duration. */
    @FunctionalInterface
    public interface Observer {
        void completed(String route, int status, long nanos);
    }

    /** Answers one exchange; may respond later from another thread. */
    @FunctionalInterface
    public interface Handler {
        void handle(HttpExchange exchange) throws Exception;
    }

    private final EventLoopGroup group;
    private final Channel channel;

    private HttpServer(EventLoopGroup group, Channel channel) {
        this.group = group;
        this.channel = channel;
    }

    public static Builder builder(String host, int port) {
        return new Builder(host, port);
    }

    public static final class Builder {
        private final String host;
        private final int port;
        private final Map<String, Handler> routes = new LinkedHashMap<>();
        private int maxBodyBytes = 64 << 20;
        private ObjectMapper json = new ObjectMapper();
        private Observer observer = (route, status, nanos) -> {
        };

        private Builder(String host, int port) {
            this.host = host;
            this.port = port;
        }

        public Builder route(String method, String path, Handler handler) {
            routes.put(method + " " + path, handler);
            return this;
        }

        public Builder maxBodyBytes(int bytes) {
            this.maxBodyBytes = bytes;
            return this;
        }

        public Builder observer(Observer o) {
            this.observer = o;
            return this;
        }

        public Builder json(ObjectMapper mapper) {
            this.json = mapper;
            return this;
        }

        public HttpServer start() throws InterruptedException {
            EventLoopGroup group = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
            Map<String, Handler> table = Map.copyOf(routes);
            ObjectMapper mapper = json;
            int limit = maxBodyBytes;
            Observer seen = observer;
            ServerBootstrap bootstrap = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec());
                            ch.pipeline().addLast(new HttpServerExpectContinueHandler());
                            ch.pipeline().addLast(new HttpObjectAggregator(limit, true));
                            ch.pipeline().addLast(new Dispatcher(table, mapper, seen));
                        }
                    });
            Channel channel = bootstrap.bind(new InetSocketAddress(host, port)).sync().channel();
            LOG.info("HTTP listening on {}:{}", host, ((InetSocketAddress) channel.localAddress()).getPort());
            return new HttpServer(group, channel);
        }
    }

    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static final class Dispatcher extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final Map<String, Handler> routes;
        private final ObjectMapper json;
        private final Observer observer;

        Dispatcher(Map<String, Handler> routes, ObjectMapper json, Observer observer) {
            this.routes = routes;
            this.json = json;
            this.observer = observer;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            long start = System.nanoTime();
            String uri = request.uri();
            String path = uri.indexOf('?') < 0 ? uri : uri.substring(0, uri.indexOf('?'));
            String route = match(request.method().name(), path);
            HttpExchange exchange = new HttpExchange(ctx, request, json,
                    status -> observer.completed(route == null ? "unmatched" : route, status, System.nanoTime() - start));
            if (!request.decoderResult().isSuccess()) {
                exchange.sendError(ApiError.invalidRequest("Malformed HTTP request.", null));
                return;
            }
            Handler handler = route == null ? null : routes.get(route);
            if (handler == null) {
                boolean pathKnown = routes.keySet().stream().anyMatch(k -> matches(k.substring(k.indexOf(' ') + 1), path));
                exchange.sendError(pathKnown
                        ? new ApiError(405, "invalid_request_error", "Method " + exchange.method() + " is not allowed on " + path + ".", null, null)
                        : new ApiError(404, "invalid_request_error", "Unknown request URL: " + exchange.method() + " " + path + ".", null, "unknown_url"));
                return;
            }
            run(handler, exchange);
        }

        /** The route key for a request: exact paths first, then patterns with {@code {name}} segments. */
        private String match(String method, String path) {
            String exact = method + " " + path;
            if (routes.containsKey(exact)) {
                return exact;
            }
            for (String key : routes.keySet()) {
                if (key.startsWith(method + " ") && matches(key.substring(method.length() + 1), path)) {
                    return key;
                }
            }
            return null;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof TooLongFrameException) {
                LOG.debug("request too long: {}", cause.getMessage());
            } else {
                LOG.debug("connection error: {}", cause.toString());
            }
            ctx.close();
        }
    }

    /**
     * {@code handler} run on {@code executor} instead of the event loop, for handlers that block (storage, image
     * downloads, waiting for admission); its errors are answered as on the event loop.
     */
    public static Handler blocking(Executor executor, Handler handler) {
        return exchange -> executor.execute(() -> run(handler, exchange));
    }

    /** Runs a handler, answering an {@link ApiError} it throws as such and anything else as a 500. */
    private static void run(Handler handler, HttpExchange exchange) {
        try {
            handler.handle(exchange);
        } catch (ApiError e) {
            exchange.sendError(e);
        } catch (Exception e) {
            LOG.error("unhandled error on {} {}", exchange.method(), exchange.path(), e);
            exchange.sendError(new ApiError(500, "server_error", "The server had an error while processing your request.", null, null));
        }
    }

    /** Whether {@code path} fits {@code pattern}, where a {@code {name}} segment matches any one segment. */
    static boolean matches(String pattern, String path) {
        String[] p = pattern.split("/", -1);
        String[] a = path.split("/", -1);
        if (p.length != a.length) {
            return false;
        }
        for (int i = 0; i < p.length; i++) {
            boolean variable = p[i].startsWith("{") && p[i].endsWith("}");
            if (variable ? a[i].isEmpty() : !p[i].equals(a[i])) {
                return false;
            }
        }
        return true;
    }

    /** The value of the {@code {name}} segment of {@code pattern} in {@code path}. */
    public static String pathParameter(String pattern, String path, String name) {
        String[] p = pattern.split("/", -1);
        String[] a = path.split("/", -1);
        for (int i = 0; i < p.length && i < a.length; i++) {
            if (p[i].equals("{" + name + "}")) {
                return java.net.URLDecoder.decode(a[i], java.nio.charset.StandardCharsets.UTF_8);
            }
        }
        throw new IllegalArgumentException(pattern + " has no {" + name + "}");
    }
}
