package dev.internvl.mesh.gateway.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.internvl.mesh.gateway.openai.ApiError;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One HTTP request and its response, as a handler sees them: a full body in, then either one complete response
 * or a stream of server-sent events. Safe to answer from any thread; writes go through the channel's event loop.
 * Every response is written once: later attempts (e.g. a backend finishing after the client left) are dropped.
 */
public final class HttpExchange {
    private final ChannelHandlerContext ctx;
    private final FullHttpRequest request;
    private final byte[] body;
    private final ObjectMapper json;
    private final boolean keepAlive;
    private final AtomicBoolean responded = new AtomicBoolean();
    private final List<Runnable> onClose = new ArrayList<>();
    private volatile int status;
    private final AtomicBoolean completed = new AtomicBoolean();
    private final java.util.function.IntConsumer onCompleted;

    HttpExchange(ChannelHandlerContext ctx, FullHttpRequest request, ObjectMapper json, java.util.function.IntConsumer onCompleted) {
        this.ctx = ctx;
        this.onCompleted = onCompleted;
        this.request = request;
        this.json = json;
        ByteBuf content = request.content();
        this.body = new byte[content.readableBytes()];
        content.getBytes(content.readerIndex(), body);
        this.keepAlive = HttpUtil.isKeepAlive(request);
        ctx.channel().closeFuture().addListener(f -> {
            synchronized (onClose) {
                onClose.forEach(Runnable::run);
            }
            complete();
        });
    }

    public String method() {
        return request.method().name();
    }

    public String path() {
        String uri = request.uri();
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }

    /** The first value of a query parameter, decoded. */
    public Optional<String> queryParameter(String name) {
        List<String> values = new QueryStringDecoder(request.uri()).parameters().get(name);
        return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.getFirst());
    }

    public String header(String name) {
        return request.headers().get(name);
    }

    public byte[] body() {
        return body;
    }

    /** The status of the response, once one was started (for metrics). */
    public int status() {
        return status;
    }

    /** Runs when the client's connection closes, e.g. to cancel work a streaming response no longer needs. */
    public void onClientGone(Runnable action) {
        synchronized (onClose) {
            if (!ctx.channel().isActive()) {
                action.run();
            } else {
                onClose.add(action);
            }
        }
    }

    public boolean clientGone() {
        return !ctx.channel().isActive();
    }

    public void sendJson(int statusCode, JsonNode payload) {
        send(statusCode, "application/json", payload.toString().getBytes(StandardCharsets.UTF_8), List.of());
    }

    public void sendText(int statusCode, String contentType, String text) {
        send(statusCode, contentType, text.getBytes(StandardCharsets.UTF_8), List.of());
    }

    public void sendError(ApiError error) {
        List<String> headers = error.retryAfterSeconds() > 0
                ? List.of(HttpHeaderNames.RETRY_AFTER.toString(), Integer.toString(error.retryAfterSeconds())) : List.of();
        send(error.status(), "application/json", error.toJson(json).toString().getBytes(StandardCharsets.UTF_8), headers);
    }

    private void send(int statusCode, String contentType, byte[] bytes, List<String> extraHeaders) {
        if (!responded.compareAndSet(false, true)) {
            return;
        }
        status = statusCode;
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(statusCode), Unpooled.wrappedBuffer(bytes));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        for (int i = 0; i + 1 < extraHeaders.size(); i += 2) {
            response.headers().set(extraHeaders.get(i), extraHeaders.get(i + 1));
        }
        HttpUtil.setKeepAlive(response, keepAlive);
        var future = ctx.writeAndFlush(response);
        if (!keepAlive) {
            future.addListener(ChannelFutureListener.CLOSE);
        }
        complete();
    }

    /** Reports the exchange's end once: its response written, or the client gone. */
    private void complete() {
        if (completed.compareAndSet(false, true)) {
            onCompleted.accept(status == 0 ? 499 : status);
        }
    }

    /** Starts a {@code text/event-stream} response; events follow through the returned stream. */
    public EventStream startEventStream() {
        if (!responded.compareAndSet(false, true)) {
            throw new IllegalStateException("response already started");
        }
        status = 200;
        HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        response.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
        response.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        HttpUtil.setKeepAlive(response, keepAlive);
        ctx.writeAndFlush(response);
        return new EventStream();
    }

    /** Server-sent events: {@code data: <payload>\n\n} per event. */
    public final class EventStream {
        private boolean closed;

        public synchronized void send(String data) {
            if (closed) {
                return;
            }
            byte[] bytes = ("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8);
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(bytes)));
        }

        public synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            var future = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            if (!keepAlive) {
                future.addListener(ChannelFutureListener.CLOSE);
            }
            complete();
        }
    }
}
