package dev.internvl.mesh.image;

/**
 * What an image may cost before it is decoded: its encoded size, and its pixel count as the file's header states it
 * (checked before any pixel is decoded, so a decompression bomb never allocates).
 *
 * @param maxEncodedBytes the largest encoded image accepted, in bytes
 * @param maxPixels       the largest width * height accepted
 */
public record ImageLimits(long maxEncodedBytes, long maxPixels) {
    /** 20 MB encoded. */
    public static final long DEFAULT_MAX_ENCODED_BYTES = 20L * 1024 * 1024;
    /**
     * Pillow's {@code MAX_IMAGE_PIXELS} (89,478,485, about 9459 x 9459): where Pillow starts warning of a decompression
     * bomb. Pillow refuses only at twice that, but one such image already costs 270 MB as 8-bit RGB.
     */
    public static final long DEFAULT_MAX_PIXELS = 89_478_485L;
    /** The most pixels one 8-bit RGB array can hold. */
    public static final long MAX_PIXELS = (Integer.MAX_VALUE - 8) / 3;

    public ImageLimits {
        if (maxEncodedBytes <= 0) {
            throw new IllegalArgumentException("maxEncodedBytes must be positive, got " + maxEncodedBytes);
        }
        if (maxPixels <= 0 || maxPixels > MAX_PIXELS) {
            throw new IllegalArgumentException("maxPixels must be in 1.." + MAX_PIXELS + ", got " + maxPixels);
        }
    }

    public static ImageLimits defaults() {
        return new ImageLimits(DEFAULT_MAX_ENCODED_BYTES, DEFAULT_MAX_PIXELS);
    }
}
