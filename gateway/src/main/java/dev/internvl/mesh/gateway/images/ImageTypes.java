package dev.internvl.mesh.gateway.images;

import java.util.Locale;
import java.util.Set;

/** The image formats the vision pipeline decodes, as media types. */
final class ImageTypes {
    /** For messages; {@code image/jpg} is accepted as well, as the common misspelling of image/jpeg. */
    static final String SUPPORTED = "image/jpeg, image/png, image/gif, image/bmp and image/webp";

    private static final Set<String> TYPES =
            Set.of("image/jpeg", "image/jpg", "image/png", "image/gif", "image/bmp", "image/webp");

    private ImageTypes() {
    }

    /** Whether a media type (parameters after {@code ;} ignored, any case) is a supported image format. */
    static boolean supported(String mediaType) {
        return TYPES.contains(essence(mediaType));
    }

    /** The type/subtype of a media type, lower case, without parameters. */
    static String essence(String mediaType) {
        int semicolon = mediaType.indexOf(';');
        return (semicolon < 0 ? mediaType : mediaType.substring(0, semicolon)).strip().toLowerCase(Locale.ROOT);
    }
}
