package dev.internvl.mesh.gateway.images;

import dev.internvl.mesh.serving.Settings;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * How the gateway turns {@code image_url} parts into image bytes. {@link #from(Settings)} reads these environment
 * variables:
 * <ul>
 *   <li>{@code GATEWAY_IMAGE_MAX_BYTES} (default {@code 20m}): the largest image accepted, counted in decoded bytes,
 *       for {@code data:} URIs and downloads alike; sizes like {@code 512k}, {@code 20m}.</li>
 *   <li>{@code GATEWAY_IMAGE_URLS_ENABLED} (default {@code false}): whether http(s) image URLs are fetched at all.
 *       {@code data:} URIs are always accepted.</li>
 *   <li>{@code GATEWAY_IMAGE_URL_ALLOWLIST} (no default; required when URLs are enabled): comma-separated hosts that
 *       images may be fetched from, each an exact name ({@code images.example.com}), a suffix pattern
 *       ({@code *.example.com}: any name below example.com, not example.com itself) or {@code *} for any host. An IP
 *       literal matches only when listed exactly ({@code 127.0.0.1}, {@code [::1]}). Every redirect hop must match
 *       too.</li>
 *   <li>{@code GATEWAY_IMAGE_ALLOW_PRIVATE_ADDRESSES} (default {@code false}): also fetch from hosts that resolve to
 *       loopback, private, link-local, shared, multicast or otherwise non-public addresses. Off, a URL can never
 *       reach the gateway's own network (cloud metadata services included); turn on only for tests and closed
 *       networks.</li>
 *   <li>{@code GATEWAY_IMAGE_CONNECT_TIMEOUT} (default {@code 5s}): the limit on opening one connection.</li>
 *   <li>{@code GATEWAY_IMAGE_FETCH_TIMEOUT} (default {@code 10s}): the limit on a whole download: name lookups,
 *       connections, TLS, redirects and the body.</li>
 *   <li>{@code GATEWAY_IMAGE_MAX_REDIRECTS} (default {@code 3}): redirects followed per image; {@code 0} refuses
 *       them.</li>
 * </ul>
 * Durations are milliseconds or values like {@code 500ms}, {@code 10s}, {@code 1m}. A value that does not parse,
 * or URLs enabled without an allowlist, is an {@link IllegalArgumentException} naming the variable.
 */
public record ImageFetchConfig(
        long maxBytes,
        boolean urlsEnabled,
        List<String> urlAllowlist,
        boolean allowPrivateAddresses,
        Duration connectTimeout,
        Duration fetchTimeout,
        int maxRedirects) {

    public static final String MAX_BYTES = "GATEWAY_IMAGE_MAX_BYTES";
    public static final String URLS_ENABLED = "GATEWAY_IMAGE_URLS_ENABLED";
    public static final String URL_ALLOWLIST = "GATEWAY_IMAGE_URL_ALLOWLIST";
    public static final String ALLOW_PRIVATE_ADDRESSES = "GATEWAY_IMAGE_ALLOW_PRIVATE_ADDRESSES";
    public static final String CONNECT_TIMEOUT = "GATEWAY_IMAGE_CONNECT_TIMEOUT";
    public static final String FETCH_TIMEOUT = "GATEWAY_IMAGE_FETCH_TIMEOUT";
    public static final String MAX_REDIRECTS = "GATEWAY_IMAGE_MAX_REDIRECTS";

    /** The decoded image must fit one Java array. */
    private static final long LARGEST_ARRAY = Integer.MAX_VALUE - 8;
    private static final int REDIRECT_CEILING = 10;
    /** {@code *}, a host name (with an optional final dot) optionally behind {@code *.}, or a bracketed IPv6 literal. */
    private static final Pattern ALLOWLIST_ENTRY =
            Pattern.compile("\\*|(\\*\\.)?[a-z0-9_-]+(\\.[a-z0-9_-]+)*\\.?|\\[[0-9a-f:.]+]");

    public ImageFetchConfig {
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(fetchTimeout, "fetchTimeout");
        if (maxBytes <= 0 || maxBytes > LARGEST_ARRAY) {
            throw new IllegalArgumentException(MAX_BYTES + " must be between 1 and " + LARGEST_ARRAY + " bytes");
        }
        List<String> normalized = new ArrayList<>();
        for (String entry : urlAllowlist) {
            String host = entry.strip().toLowerCase(Locale.ROOT);
            // Checked before the final dot goes, so that "*." cannot turn into "*".
            if (!ALLOWLIST_ENTRY.matcher(host).matches()) {
                throw new IllegalArgumentException(URL_ALLOWLIST + " entry '" + entry + "' is not a host name, "
                        + "*.suffix pattern or *; give hosts without scheme, port or path");
            }
            normalized.add(normalizeHost(host));
        }
        urlAllowlist = List.copyOf(normalized);
        if (urlsEnabled && urlAllowlist.isEmpty()) {
            throw new IllegalArgumentException(URLS_ENABLED + "=true needs " + URL_ALLOWLIST
                    + ": the hosts to fetch images from (comma-separated, *.example.com patterns allowed), or * for any host");
        }
        if (connectTimeout.isNegative() || connectTimeout.isZero()) {
            throw new IllegalArgumentException(CONNECT_TIMEOUT + " must be positive");
        }
        if (fetchTimeout.isNegative() || fetchTimeout.isZero()) {
            throw new IllegalArgumentException(FETCH_TIMEOUT + " must be positive");
        }
        if (maxRedirects < 0 || maxRedirects > REDIRECT_CEILING) {
            throw new IllegalArgumentException(MAX_REDIRECTS + " must be between 0 and " + REDIRECT_CEILING);
        }
    }

    /** Settings from the environment; see the class comment for the variables and their defaults. */
    public static ImageFetchConfig from(Settings settings) {
        List<String> allowlist = settings.string(URL_ALLOWLIST)
                .map(v -> Arrays.stream(v.split(",")).filter(s -> !s.isBlank()).toList())
                .orElse(List.of());
        return new ImageFetchConfig(
                settings.bytes(MAX_BYTES, 20L << 20),
                flag(settings, URLS_ENABLED),
                allowlist,
                flag(settings, ALLOW_PRIVATE_ADDRESSES),
                settings.duration(CONNECT_TIMEOUT, Duration.ofSeconds(5)),
                settings.duration(FETCH_TIMEOUT, Duration.ofSeconds(10)),
                settings.integer(MAX_REDIRECTS, 3));
    }

    /** The defaults: {@code data:} URIs up to 20 MiB, no URL fetching. */
    public static ImageFetchConfig defaults() {
        return from(new Settings(Map.of()));
    }

    /** Whether the allowlist admits {@code host} (as {@link java.net.URI#getHost()} gives it). */
    public boolean allowsHost(String host) {
        String name = normalizeHost(host);
        for (String entry : urlAllowlist) {
            if (entry.equals("*") || entry.equals(name)
                    || entry.startsWith("*.") && name.endsWith(entry.substring(1))) {
                return true;
            }
        }
        return false;
    }

    /** Lower case without the trailing dot of a fully qualified name, so {@code Example.COM.} is example.com. */
    private static String normalizeHost(String host) {
        String lower = host.toLowerCase(Locale.ROOT);
        return lower.endsWith(".") ? lower.substring(0, lower.length() - 1) : lower;
    }

    private static boolean flag(Settings settings, String name) {
        return settings.string(name).map(v -> switch (v.toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(name + "=" + v + " is not a boolean (true or false)");
        }).orElse(false);
    }
}
