package dev.internvl.mesh.gateway.images;

import dev.internvl.mesh.gateway.openai.ApiError;

import java.security.cert.X509Certificate;
import java.util.List;

/**
 * Turns the URL of an {@code image_url} content part into image bytes: {@code data:} URIs always, http(s) URLs
 * when {@link ImageFetchConfig#urlsEnabled()} (see {@link HttpImageFetcher} for what keeps them safe). Every
 * failure is an {@link ApiError} naming the part's parameter, with one of the codes {@code invalid_image_url},
 * {@code invalid_image_format}, {@code image_url_not_allowed}, {@code image_fetch_failed} (status 400) or
 * {@code image_too_large} (status 413).
 *
 * <p>{@link #load} blocks for as long as a download takes (up to the fetch timeout): call it from a worker or
 * virtual thread, never from an event loop. One instance serves all requests; {@link #close()} it at shutdown.
 */
public final class ImageLoader implements AutoCloseable {
    private final ImageFetchConfig config;
    /** Null when image URLs are disabled. */
    private final HttpImageFetcher http;

    public ImageLoader(ImageFetchConfig config) {
        this(config, List.of());
    }

    /** With {@code trustRoots} in place of the JDK's trusted certificates for https (tests use their own). */
    ImageLoader(ImageFetchConfig config, List<X509Certificate> trustRoots) {
        this.config = config;
        this.http = config.urlsEnabled() ? new HttpImageFetcher(config, trustRoots) : null;
    }

    /**
     * The bytes of the image at {@code url}, still encoded (PNG, JPEG, ...); decoding is the vision pipeline's job.
     *
     * @param param the JSON path of the URL in the request, e.g. {@code messages[1].content[0].image_url.url},
     *              which errors name
     * @throws ApiError when the URL is malformed, not allowed, cannot be fetched, or is too large
     */
    public byte[] load(String url, String param) {
        if (hasPrefix(url, "data:")) {
            return DataUris.decode(url, param, config.maxBytes());
        }
        if (hasPrefix(url, "http://") || hasPrefix(url, "https://")) {
            if (http == null) {
                throw ImageErrors.notAllowed("Image URLs are not enabled on this server: send the image in '" + param
                        + "' inline as a data URI (data:image/png;base64,...). Operators enable http(s) image URLs "
                        + "with " + ImageFetchConfig.URLS_ENABLED + "=true and " + ImageFetchConfig.URL_ALLOWLIST + ".",
                        param);
            }
            return http.fetch(url, param);
        }
        throw ImageErrors.invalidUrl("The image URL in '" + param + "' must be a data URI (data:image/png;base64,...)"
                + (http == null ? "." : " or an http(s) URL."), param);
    }

    @Override
    public void close() {
        if (http != null) {
            http.close();
        }
    }

    private static boolean hasPrefix(String url, String prefix) {
        return url.regionMatches(true, 0, prefix, 0, prefix.length());
    }
}
