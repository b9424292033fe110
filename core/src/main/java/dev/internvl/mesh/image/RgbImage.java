package dev.internvl.mesh.image;

/**
 * An 8-bit RGB image, pixels interleaved row by row ({@code r, g, b} at {@code 3 * (y * width + x)}), as Pillow's
 * mode "RGB" holds it. The pixel array is shared, not copied: whoever holds the image may read it directly.
 */
public final class RgbImage {
    private final int width;
    private final int height;
    private final byte[] pixels;

    public RgbImage(int width, int height, byte[] pixels) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if (pixels.length != 3L * width * height) {
            throw new IllegalArgumentException(width + "x" + height + " RGB needs " + 3L * width * height
                    + " bytes, got " + pixels.length);
        }
        this.width = width;
        this.height = height;
        this.pixels = pixels;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** The interleaved RGB bytes, not a copy. */
    public byte[] pixels() {
        return pixels;
    }

    /** Channel {@code c} (0 red, 1 green, 2 blue) of pixel (x, y), 0..255. */
    public int get(int x, int y, int c) {
        return pixels[3 * (y * width + x) + c] & 0xFF;
    }

    /** A copy of the {@code w x h} rectangle whose top-left corner is (x, y). */
    public RgbImage crop(int x, int y, int w, int h) {
        if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > width || y + h > height) {
            throw new IllegalArgumentException("crop " + w + "x" + h + " at (" + x + "," + y + ") is outside "
                    + width + "x" + height);
        }
        byte[] out = new byte[3 * w * h];
        for (int row = 0; row < h; row++) {
            System.arraycopy(pixels, 3 * ((y + row) * width + x), out, 3 * row * w, 3 * w);
        }
        return new RgbImage(w, h, out);
    }
}
