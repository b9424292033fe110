package dev.internvl.mesh.gateway.images;

import dev.internvl.mesh.gateway.openai.ApiError;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslProvider;

import javax.net.ssl.SSLException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Downloads images from http(s) URLs that clients supply, without letting a URL steer the gateway anywhere the
 * operator has not allowed:
 * <ul>
 *   <li>the host must be on the allowlist, and URLs carrying credentials are refused;</li>
 *   <li>the name is resolved once, here, and every address it resolves to must be public (unless the operator
 *       allows private ones);</li>
 *   <li>the connection goes to that checked address with Netty's own resolver off, so a DNS answer that changes
 *       between check and connect (rebinding) cannot move it; TLS still sends the host name as SNI and verifies the
 *       certificate against it;</li>
 *   <li>a redirect is a new URL that passes all of the above again, a few times at most;</li>
 *   <li>one deadline bounds the whole download, and the body is collected up to the size limit and cut off
 *       beyond it.</li>
 * </ul>
 * One request per connection, HTTP/1.1, no compression, no cookies, no credentials sent.
 */
final class HttpImageFetcher implements AutoCloseable {
    private static final Set<Integer> REDIRECT_STATUSES = Set.of(301, 302, 303, 307, 308);
    /** Untyped bytes, as object stores serve files uploaded without a type; the decoder judges them. */
    private static final Set<String> GENERIC_BINARY = Set.of("application/octet-stream", "binary/octet-stream");
    private static final int INITIAL_BUFFER = 64 << 10;
    private static final int IO_THREADS = 2;

    private final ImageFetchConfig config;
    private final SslContext tls;
    private final EventLoopGroup group;

    /** {@code trustRoots} replace the JDK's trusted certificates when not empty. */
    HttpImageFetcher(ImageFetchConfig config, List<X509Certificate> trustRoots) {
        this.config = config;
        this.tls = clientTls(trustRoots);
        this.group = new MultiThreadIoEventLoopGroup(IO_THREADS, NioIoHandler.newFactory());
    }

    private static SslContext clientTls(List<X509Certificate> trustRoots) {
        SslContextBuilder builder = SslContextBuilder.forClient()
                .sslProvider(SslProvider.JDK)
                .endpointIdentificationAlgorithm("HTTPS");
        if (!trustRoots.isEmpty()) {
            builder.trustManager(trustRoots);
        }
        try {
            return builder.build();
        } catch (SSLException e) {
            throw new UncheckedIOException("cannot set up TLS for image downloads", e);
        }
    }

    /** The body of {@code url} (an http or https URL), or an {@link ApiError} for {@code param}. */
    byte[] fetch(String url, String param) {
        return new Download(url, param).run();
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private sealed interface Outcome permits Body, Redirect {
    }

    private record Body(byte[] bytes) implements Outcome {
    }

    private record Redirect(String location) implements Outcome {
    }

    /** Connecting to one address failed; the next one may be tried. */
    private static final class Unreachable extends Exception {
        Unreachable(Throwable cause) {
            super(cause);
        }
    }

    /** One image download: the client's URL, then each redirect hop, against one deadline. */
    private final class Download {
        private final String url;
        private final String param;
        private final long deadline;
        private URI current;
        private int redirects;
        /** The URL being fetched as messages name it: the client's, or a redirect hop and the client's. */
        private String subject;

        Download(String url, String param) {
            this.url = url;
            this.param = param;
            this.deadline = System.nanoTime() + config.fetchTimeout().toNanos();
            this.subject = "the image URL " + ImageErrors.quote(url);
        }

        byte[] run() {
            try {
                current = new URI(url);
            } catch (URISyntaxException e) {
                throw ImageErrors.invalidUrl("The image URL in '" + param + "' is not a valid URL: " + e.getReason()
                        + " at index " + e.getIndex() + ".", param);
            }
            try {
                while (true) {
                    switch (hop()) {
                        case Body body -> {
                            return body.bytes();
                        }
                        case Redirect redirect -> follow(redirect.location());
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ApiError(503, "server_error", "The download of the image in '" + param
                        + "' was interrupted; please retry.", param, null);
            }
        }

        private Outcome hop() throws InterruptedException {
            String scheme = current.getScheme() == null ? "" : current.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https")) {
                throw ImageErrors.notAllowed(capitalized(subject) + " is not an http(s) URL.", param);
            }
            String host = current.getHost();
            if (host == null) {
                throw ImageErrors.invalidUrl(capitalized(subject) + " has no valid host name.", param);
            }
            if (current.getRawUserInfo() != null) {
                throw ImageErrors.notAllowed(capitalized(subject) + " contains user credentials, which image URLs may not carry.", param);
            }
            if (!config.allowsHost(host)) {
                throw ImageErrors.notAllowed(capitalized(subject) + " names host '" + host
                        + "', which is not on this server's allowlist for image URLs.", param);
            }
            List<InetAddress> addresses = resolve(host);
            if (!config.allowPrivateAddresses() && !addresses.stream().allMatch(PublicAddresses::isPublic)) {
                throw ImageErrors.notAllowed(capitalized(subject) + " names host '" + host + "', which resolves to a "
                        + "loopback, private or otherwise non-public address; this server does not fetch images from "
                        + "such addresses.", param);
            }
            boolean https = scheme.equals("https");
            int port = current.getPort() == -1 ? (https ? 443 : 80) : current.getPort();
            Throwable unreachable = null;
            for (InetAddress address : addresses) {
                try {
                    return exchange(address, host, port, https);
                } catch (Unreachable e) {
                    unreachable = e.getCause();
                }
            }
            throw failed("could not connect to " + host + ":" + port + " (" + reason(unreachable) + ")");
        }

        private List<InetAddress> resolve(String host) throws InterruptedException {
            // The system resolver has no timeout of its own: look up on a virtual thread and stop waiting at the
            // deadline.
            FutureTask<InetAddress[]> lookup = new FutureTask<>(() -> InetAddress.getAllByName(host));
            Thread.ofVirtual().name("image-url-lookup").start(lookup);
            try {
                return List.of(lookup.get(remainingNanos(), TimeUnit.NANOSECONDS));
            } catch (TimeoutException e) {
                lookup.cancel(true);
                throw timedOut();
            } catch (ExecutionException e) {
                throw failed(e.getCause() instanceof UnknownHostException
                        ? "could not resolve host '" + host + "'"
                        : "looking up host '" + host + "' failed (" + reason(e.getCause()) + ")");
            }
        }

        private Outcome exchange(InetAddress address, String host, int port, boolean https)
                throws InterruptedException, Unreachable {
            long left = remainingNanos();
            Response response = new Response(requestFor(host));
            // IPv6 literals come bracketed from URI.getHost(); TLS wants them bare.
            String tlsHost = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
            Bootstrap bootstrap = new Bootstrap().group(group).channel(NioSocketChannel.class)
                    .disableResolver()
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                            (int) Math.max(1, Math.min(config.connectTimeout().toMillis(), TimeUnit.NANOSECONDS.toMillis(left))))
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            if (https) {
                                ch.pipeline().addLast(tls.newHandler(ch.alloc(), tlsHost, port));
                            }
                            ch.pipeline().addLast(new HttpClientCodec());
                            ch.pipeline().addLast(response);
                        }
                    });
            ChannelFuture connect = bootstrap.connect(new InetSocketAddress(address, port));
            Channel channel = connect.channel();
            try {
                if (!connect.await(left, TimeUnit.NANOSECONDS)) {
                    throw timedOut();
                }
                if (!connect.isSuccess()) {
                    throw new Unreachable(connect.cause());
                }
                return response.result.get(remainingNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                throw timedOut();
            } catch (ExecutionException e) {
                throw (ApiError) e.getCause();
            } finally {
                channel.close();
            }
        }

        private FullHttpRequest requestFor(String host) {
            String path = current.getRawPath() == null || current.getRawPath().isEmpty() ? "/" : current.getRawPath();
            String target = current.getRawQuery() == null ? path : path + "?" + current.getRawQuery();
            FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, target);
            request.headers()
                    .set(HttpHeaderNames.HOST, current.getPort() == -1 ? host : host + ":" + current.getPort())
                    .set(HttpHeaderNames.USER_AGENT, "internvl-mesh-gateway")
                    .set(HttpHeaderNames.ACCEPT, "image/*")
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            return request;
        }

        private void follow(String location) {
            URI next;
            try {
                next = current.resolve(new URI(location));
            } catch (URISyntaxException | IllegalArgumentException e) {
                throw failed("the server redirected to an invalid URL " + ImageErrors.quote(location));
            }
            if (config.maxRedirects() == 0) {
                throw ImageErrors.notAllowed(capitalized(subject) + " redirects to " + ImageErrors.quote(next.toString())
                        + "; this server does not follow redirects for image URLs.", param);
            }
            if (redirects == config.maxRedirects()) {
                throw failed("more than " + config.maxRedirects() + " redirects");
            }
            current = next;
            redirects++;
            subject = "the redirect to " + ImageErrors.quote(next.toString()) + " from the image URL " + ImageErrors.quote(url);
        }

        private ApiError failed(String reason) {
            return failed(subject, reason);
        }

        private ApiError failed(String what, String reason) {
            return ImageErrors.fetchFailed("Downloading " + what + " failed: " + reason + ".", param);
        }

        private ApiError timedOut() {
            return ImageErrors.fetchFailed("Downloading " + subject + " timed out after " + show(config.fetchTimeout())
                    + ".", param);
        }

        private long remainingNanos() {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw timedOut();
            }
            return left;
        }

        /**
         * Reads one response on the event loop into {@link #result}: a redirect, the body, or the error that ended
         * it. The body buffer never grows past the size limit.
         */
        private final class Response extends SimpleChannelInboundHandler<HttpObject> {
            final CompletableFuture<Outcome> result = new CompletableFuture<>();
            private final FullHttpRequest request;
            /** Taken on the caller's thread: the event loop must not read the download's fields, which move on. */
            private final String what = subject;
            private byte[] body;
            private int size;

            Response(FullHttpRequest request) {
                this.request = request;
            }

            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                // A failed write closes the channel; channelInactive or the TLS event then says why.
                ctx.writeAndFlush(request).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
                ctx.fireChannelActive();
            }

            @Override
            protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
                if (result.isDone()) {
                    return;
                }
                if (msg.decoderResult().isFailure()) {
                    fail(ctx, failed(what, "the server sent a malformed HTTP response"));
                    return;
                }
                if (msg instanceof HttpResponse head && !start(ctx, head)) {
                    return;
                }
                if (msg instanceof HttpContent chunk) {
                    int n = chunk.content().readableBytes();
                    if (size + (long) n > config.maxBytes()) {
                        fail(ctx, tooLarge());
                        return;
                    }
                    if (size + n > body.length) {
                        body = Arrays.copyOf(body, (int) Math.min(config.maxBytes(), Math.max(size + n, 2L * body.length)));
                    }
                    chunk.content().readBytes(body, size, n);
                    size += n;
                    if (msg instanceof LastHttpContent) {
                        if (size == 0) {
                            fail(ctx, failed(what, "the server sent an empty body"));
                        } else {
                            result.complete(new Body(size == body.length ? body : Arrays.copyOf(body, size)));
                            ctx.close();
                        }
                    }
                }
            }

            /** Checks the status and headers; whether the body is wanted. */
            private boolean start(ChannelHandlerContext ctx, HttpResponse head) {
                int status = head.status().code();
                String location = head.headers().get(HttpHeaderNames.LOCATION);
                if (REDIRECT_STATUSES.contains(status) && location != null) {
                    result.complete(new Redirect(location));
                    ctx.close();
                    return false;
                }
                if (status / 100 != 2) {
                    fail(ctx, failed(what, "the server answered HTTP " + HttpResponseStatus.valueOf(status)));
                    return false;
                }
                String type = head.headers().get(HttpHeaderNames.CONTENT_TYPE);
                if (type != null && !ImageTypes.supported(type) && !GENERIC_BINARY.contains(ImageTypes.essence(type))) {
                    fail(ctx, ImageErrors.invalidFormat(capitalized(what) + " returned Content-Type "
                            + ImageErrors.quote(type) + ", not an image of a supported type (" + ImageTypes.SUPPORTED
                            + ").", param));
                    return false;
                }
                String encoding = head.headers().get(HttpHeaderNames.CONTENT_ENCODING);
                if (encoding != null && !encoding.equalsIgnoreCase("identity")) {
                    // None was asked for; passing compressed bytes on would only fail later, in the decoder.
                    fail(ctx, failed(what, "the server sent the image with Content-Encoding " + ImageErrors.quote(encoding)));
                    return false;
                }
                long length = HttpUtil.getContentLength(head, -1L);
                if (length > config.maxBytes()) {
                    fail(ctx, tooLarge());
                    return false;
                }
                body = new byte[(int) (length >= 0 ? length : Math.min(config.maxBytes(), INITIAL_BUFFER))];
                return true;
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                if (event instanceof SslHandshakeCompletionEvent handshake && !handshake.isSuccess()) {
                    fail(ctx, failed(what, "the TLS handshake failed (" + reason(handshake.cause()) + ")"));
                }
                ctx.fireUserEventTriggered(event);
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                fail(ctx, failed(what, isTls(cause)
                        ? "the TLS connection failed (" + reason(cause) + ")"
                        : "the connection broke (" + reason(cause) + ")"));
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                fail(ctx, failed(what, "the server closed the connection before the image was complete"));
                ctx.fireChannelInactive();
            }

            private ApiError tooLarge() {
                return ImageErrors.tooLarge("The image from " + what + " is larger than this server's limit of "
                        + ImageErrors.size(config.maxBytes()) + ".", param);
            }

            private void fail(ChannelHandlerContext ctx, ApiError error) {
                result.completeExceptionally(error);
                ctx.close();
            }
        }
    }

    private static String capitalized(String phrase) {
        return Character.toUpperCase(phrase.charAt(0)) + phrase.substring(1);
    }

    /** What went wrong, for a message: the root cause, as its wrappers only add noise. */
    private static String reason(Throwable failure) {
        Throwable shown = failure;
        while (shown.getCause() != null) {
            shown = shown.getCause();
        }
        String message = shown.getMessage() == null ? shown.getClass().getSimpleName() : shown.getMessage();
        // Netty appends ": /address:port" to connect errors; the messages name the host and port already.
        int annotation = message.indexOf(": /");
        return shown instanceof ConnectException && annotation > 0 ? message.substring(0, annotation) : message;
    }

    private static boolean isTls(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SSLException) {
                return true;
            }
        }
        return false;
    }

    private static String show(Duration duration) {
        long ms = duration.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
    }
}
