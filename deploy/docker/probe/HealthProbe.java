import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The images' health check, so they need neither curl, wget nor grpc_health_probe (none of which the slim base
 * ships, and each of which would be one more binary to patch). Exit status 0 when healthy, 1 otherwise.
 *
 * <pre>
 *   HealthProbe http &lt;port|ENV_VAR&gt; &lt;path&gt;             GET http://127.0.0.1:port/path, healthy on 200
 *   HealthProbe grpc &lt;port|ENV_VAR&gt; [service]           grpc.health.v1 Check on 127.0.0.1:port, healthy on SERVING
 * </pre>
 *
 * A port given as a variable name is read from the environment, so the check follows VISION_GRPC_PORT and the
 * like. The gRPC check speaks TLS when MESH_TLS_CA is set (with MESH_TLS_CERT and MESH_TLS_KEY as the client's
 * certificate when both are set, and MESH_TLS_AUTHORITY as the name the server certificate must carry). The http
 * mode uses java.base alone and starts fast; the grpc mode needs grpc-java on the class path.
 */
public final class HealthProbe {
    private static final int TIMEOUT_MS = 3_000;

    public static void main(String[] args) {
        if (args.length < 2 || !(args[0].equals("http") || args[0].equals("grpc"))) {
            System.err.println("usage: HealthProbe http <port|ENV_VAR> <path> | grpc <port|ENV_VAR> [service]");
            System.exit(2);
        }
        int port = port(args[1]);
        boolean healthy;
        try {
            healthy = args[0].equals("http")
                    ? http(port, args.length > 2 ? args[2] : "/")
                    : grpc(port, args.length > 2 ? args[2] : "");
        } catch (Exception e) {
            System.err.println("unhealthy: " + e);
            healthy = false;
        }
        System.exit(healthy ? 0 : 1);
    }

    private static int port(String arg) {
        String value = arg.chars().allMatch(Character::isDigit) ? arg : System.getenv(arg);
        if (value == null || value.isBlank()) {
            System.err.println("unhealthy: " + arg + " is not set");
            System.exit(1);
        }
        return Integer.parseInt(value.trim());
    }

    private static boolean http(int port, String path) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), TIMEOUT_MS);
            socket.setSoTimeout(TIMEOUT_MS);
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            StringBuilder statusLine = new StringBuilder();
            for (int c = in.read(); c != -1 && c != '\n'; c = in.read()) {
                statusLine.append((char) c);
            }
            // "HTTP/1.1 200 OK"
            String[] parts = statusLine.toString().trim().split(" ", 3);
            boolean ok = parts.length >= 2 && parts[1].equals("200");
            if (!ok) {
                System.err.println("unhealthy: " + path + " answered '" + statusLine.toString().trim() + "'");
            }
            return ok;
        }
    }

    private static boolean grpc(int port, String service) throws IOException, InterruptedException {
        ManagedChannelBuilder<?> builder = Grpc.newChannelBuilderForAddress("127.0.0.1", port, credentials());
        String authority = System.getenv("MESH_TLS_AUTHORITY");
        if (authority != null && !authority.isBlank()) {
            builder.overrideAuthority(authority);
        }
        ManagedChannel channel = builder.build();
        try {
            ServingStatus status = HealthGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(TIMEOUT_MS, TimeUnit.MILLISECONDS)
                    .check(HealthCheckRequest.newBuilder().setService(service).build())
                    .getStatus();
            if (status != ServingStatus.SERVING) {
                System.err.println("unhealthy: '" + service + "' is " + status);
            }
            return status == ServingStatus.SERVING;
        } finally {
            channel.shutdownNow().awaitTermination(1, TimeUnit.SECONDS);
        }
    }

    private static ChannelCredentials credentials() throws IOException {
        String ca = System.getenv("MESH_TLS_CA");
        if (ca == null || ca.isBlank()) {
            return InsecureChannelCredentials.create();
        }
        TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder().trustManager(new File(ca));
        String cert = System.getenv("MESH_TLS_CERT");
        String key = System.getenv("MESH_TLS_KEY");
        if (cert != null && !cert.isBlank() && key != null && !key.isBlank()) {
            tls.keyManager(new File(cert), new File(key));
        }
        return tls.build();
    }
}
