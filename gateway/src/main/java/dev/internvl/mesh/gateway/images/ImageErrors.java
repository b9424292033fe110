package dev.internvl.mesh.gateway.images;

import dev.internvl.mesh.gateway.openai.ApiError;

/**
 * The errors a client gets for an image it sent: each names the request parameter and carries a {@code code} a
 * client can branch on. All are {@code invalid_request_error}s: the image, its URL or its server is at fault.
 */
final class ImageErrors {
    /** Not a URL this server can read: malformed, an unknown scheme, or a data URI that is not valid base64. */
    static final String INVALID_URL = "invalid_image_url";
    /** A media type or Content-Type that is not a supported image format. */
    static final String INVALID_FORMAT = "invalid_image_format";
    /** Larger than {@code GATEWAY_IMAGE_MAX_BYTES}; status 413. */
    static final String TOO_LARGE = "image_too_large";
    /** URL fetching is off, or the host, its address or a redirect is not allowed. */
    static final String NOT_ALLOWED = "image_url_not_allowed";
    /** The download failed: lookup, connection, TLS, HTTP status, timeout or a broken response. */
    static final String FETCH_FAILED = "image_fetch_failed";

    private static final int SHOWN_CHARS = 200;

    private ImageErrors() {
    }

    static ApiError invalidUrl(String message, String param) {
        return ApiError.invalidRequest(message, param, INVALID_URL);
    }

    static ApiError invalidFormat(String message, String param) {
        return ApiError.invalidRequest(message, param, INVALID_FORMAT);
    }

    static ApiError tooLarge(String message, String param) {
        return new ApiError(413, "invalid_request_error", message, param, TOO_LARGE);
    }

    static ApiError notAllowed(String message, String param) {
        return ApiError.invalidRequest(message, param, NOT_ALLOWED);
    }

    static ApiError fetchFailed(String message, String param) {
        return ApiError.invalidRequest(message, param, FETCH_FAILED);
    }

    /** A byte count as people read it: {@code 20 MiB}, {@code 512 KiB}, {@code 1000 bytes}. */
    static String size(long bytes) {
        if (bytes >= 1 << 20 && bytes % (1 << 20) == 0) {
            return (bytes >> 20) + " MiB";
        }
        if (bytes >= 1 << 10 && bytes % (1 << 10) == 0) {
            return (bytes >> 10) + " KiB";
        }
        return bytes + (bytes == 1 ? " byte" : " bytes");
    }

    /** Client text (a URL, a media type) quoted for a message, cut short so a long one cannot bloat the error. */
    static String quote(String text) {
        return "'" + (text.length() <= SHOWN_CHARS ? text : text.substring(0, SHOWN_CHARS) + "...") + "'";
    }
}
