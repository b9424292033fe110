package dev.internvl.mesh.vision;

import com.google.protobuf.ByteString;
import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.image.ImageLimits;
import dev.internvl.mesh.proto.v1.DType;
import dev.internvl.mesh.proto.v1.EncodeRequest;
import dev.internvl.mesh.proto.v1.TileEmbedding;
import dev.internvl.mesh.proto.v1.TilingOptions;
import dev.internvl.mesh.proto.v1.VisionServiceGrpc;
import dev.internvl.mesh.serving.MeshTls;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/** A vision service started in-process on free ports of 127.0.0.1, with a client channel and a metrics scraper. */
final class RunningVision implements AutoCloseable {
    static final String HOST = "127.0.0.1";

    final VisionServer server;
    final ManagedChannel channel;
    private final HttpClient http = HttpClient.newHttpClient();

    RunningVision(int maxBatchTiles, Duration maxBatchWait, ImageLimits limits, Function<Checkpoint, VisionEngine> engines) {
        VisionSettings settings = new VisionSettings(Golden.checkpoint(), HOST, 0, 0, VisionEngineKind.CPU,
                maxBatchTiles, maxBatchWait, 64L << 20, limits, 2, MeshTls.plaintext());
        this.server = VisionServer.start(settings, engines);
        this.channel = NettyChannelBuilder.forAddress(HOST, server.grpcPort()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
    }

    VisionServiceGrpc.VisionServiceBlockingStub blocking() {
        return VisionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    static EncodeRequest request(byte[] image, int maxTiles, DType dtype) {
        return EncodeRequest.newBuilder()
                .setImage(ByteString.copyFrom(image))
                .setTiling(TilingOptions.newBuilder().setMaxTiles(maxTiles))
                .setDtype(dtype)
                .build();
    }

    /** All tiles of one Encode call, in the order they arrived. */
    List<TileEmbedding> encode(EncodeRequest request) {
        List<TileEmbedding> tiles = new ArrayList<>();
        Iterator<TileEmbedding> it = blocking().encode(request);
        it.forEachRemaining(tiles::add);
        return tiles;
    }

    String scrape() {
        try {
            HttpResponse<String> response = http.send(
                    HttpRequest.newBuilder(URI.create("http://" + HOST + ":" + server.metricsPort() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("metrics endpoint answered " + response.statusCode());
            }
            return response.body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * The value of the sample {@code name} whose labels include every {@code key=value} pair given, from the
     * Prometheus text format; 0 when there is no such sample yet.
     */
    double metric(String name, String... labels) {
        for (String line : scrape().lines().toList()) {
            if (line.startsWith("#") || !(line.startsWith(name + "{") || line.startsWith(name + " "))) {
                continue;
            }
            String series = line.substring(0, line.lastIndexOf(' '));
            boolean matches = true;
            for (String label : labels) {
                int eq = label.indexOf('=');
                matches &= series.contains(label.substring(0, eq) + "=\"" + label.substring(eq + 1) + "\"");
            }
            if (matches) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return 0;
    }

    static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    @Override
    public void close() {
        channel.shutdownNow();
        server.close();
    }
}
