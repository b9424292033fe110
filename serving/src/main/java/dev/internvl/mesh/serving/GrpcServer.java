package dev.internvl.mesh.serving;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A gRPC server as every tier runs it: the tier's services, {@code grpc.health.v1} health checking (NOT_SERVING
 * until the tier says it is ready, and again while it drains) and server reflection, so grpcurl and Kubernetes
 * probes work against any tier.
 */
public final class GrpcServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GrpcServer.class);

    private final Server server;
    private final HealthStatusManager health;
    private final List<String> serviceNames;

    private GrpcServer(Server server, HealthStatusManager health, List<String> serviceNames) {
        this.server = server;
        this.health = health;
        this.serviceNames = serviceNames;
    }

    /** A server that speaks TLS (requiring client certificates) where {@code tls} is enabled, else plaintext. */
    public static Builder builder(String host, int port, MeshTls tls) {
        return new Builder(host, port, tls);
    }

    public static final class Builder {
        private final NettyServerBuilder netty;
        private final List<String> names = new ArrayList<>();
        private final HealthStatusManager health = new HealthStatusManager();
        private final String transport;

        private Builder(String host, int port, MeshTls tls) {
            this.transport = tls.enabled() ? "mutual TLS" : "plaintext";
            this.netty = NettyServerBuilder.forAddress(new InetSocketAddress(host, port), tls.serverCredentials())
                    // embeddings of a 13-tile image are ~3 MB per tile message at most; leave headroom
                    .maxInboundMessageSize(64 << 20);
        }

        public Builder service(BindableService service, ServerInterceptor... interceptors) {
            netty.addService(ServerInterceptors.intercept(service, interceptors));
            names.add(service.bindService().getServiceDescriptor().getName());
            return this;
        }

        public Builder maxInboundMessageBytes(int bytes) {
            netty.maxInboundMessageSize(bytes);
            return this;
        }

        public GrpcServer start() {
            netty.addService(health.getHealthService());
            netty.addService(ProtoReflectionServiceV1.newInstance());
            Server server = netty.build();
            try {
                server.start();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start gRPC server: " + e.getMessage(), e);
            }
            GrpcServer s = new GrpcServer(server, health, List.copyOf(names));
            s.setServing(false);
            LOG.info("gRPC listening on port {} ({}): {}", server.getPort(), transport, names);
            return s;
        }
    }

    public int port() {
        return server.getPort();
    }

    /** Readiness as the health service reports it, for the whole server ("") and each service. */
    public void setServing(boolean serving) {
        ServingStatus status = serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
        health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, status);
        serviceNames.forEach(name -> health.setStatus(name, status));
    }

    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    /** Stops taking calls, lets running ones finish for a grace period, then cancels the rest. */
    @Override
    public void close() {
        setServing(false);
        health.enterTerminalState();
        server.shutdown();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
