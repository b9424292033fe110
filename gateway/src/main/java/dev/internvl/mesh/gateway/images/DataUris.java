package dev.internvl.mesh.gateway.images;

import java.util.Base64;

/**
 * Decodes {@code data:image/<type>;base64,<payload>} (RFC 2397). Parameters between the media type and
 * {@code ;base64} are ignored; the payload is standard base64, padding optional, with no whitespace.
 */
final class DataUris {
    private static final String FORM = "data:image/<type>;base64,<data>";

    private DataUris() {
    }

    /** The image bytes of a URL that starts with {@code data:} (any case). */
    static byte[] decode(String url, String param, long maxBytes) {
        int comma = url.indexOf(',');
        if (comma < 0) {
            throw ImageErrors.invalidUrl("The data URI in '" + param + "' is malformed: expected " + FORM + ".", param);
        }
        String[] header = url.substring("data:".length(), comma).split(";", -1);
        String mediaType = header[0].strip();
        if (header.length < 2 || !header[header.length - 1].strip().equalsIgnoreCase("base64")) {
            throw ImageErrors.invalidUrl("The data URI in '" + param + "' is not base64-encoded: images must be sent as "
                    + FORM + ".", param);
        }
        if (mediaType.isEmpty()) {
            throw ImageErrors.invalidFormat("The data URI in '" + param + "' has no media type: expected " + FORM
                    + " with one of " + ImageTypes.SUPPORTED + ".", param);
        }
        if (!ImageTypes.supported(mediaType)) {
            throw ImageErrors.invalidFormat("Unsupported image type " + ImageErrors.quote(mediaType) + " in '" + param
                    + "'. Supported types are " + ImageTypes.SUPPORTED + ".", param);
        }
        int start = comma + 1;
        int length = url.length() - start;
        if (length == 0) {
            throw ImageErrors.invalidUrl("The data URI in '" + param + "' has no image data after the comma.", param);
        }
        // Bound the decoded size from the length alone, so an oversized payload is refused without decoding it.
        int padding = url.endsWith("==") ? 2 : url.endsWith("=") ? 1 : 0;
        long decodedBytes = (long) Math.max(0, length - padding) * 3 / 4;
        if (decodedBytes > maxBytes) {
            throw ImageErrors.tooLarge("The image in '" + param + "' is " + ImageErrors.size(decodedBytes)
                    + ", larger than this server's limit of " + ImageErrors.size(maxBytes) + ".", param);
        }
        byte[] image;
        try {
            image = Base64.getDecoder().decode(url.substring(start));
        } catch (IllegalArgumentException e) {
            throw ImageErrors.invalidUrl("The data URI in '" + param + "' is not valid base64 (" + e.getMessage()
                    + "); use the standard alphabet with no line breaks or spaces.", param);
        }
        if (image.length == 0) {
            throw ImageErrors.invalidUrl("The data URI in '" + param + "' has no image data after the comma.", param);
        }
        return image;
    }
}
