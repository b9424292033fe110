package dev.internvl.mesh.image;

/**
 * torchvision's {@code ToTensor()} then {@code Normalize(mean, std)} on 8-bit RGB, bit-identical:
 * {@code float32(float32(float32(u8 / 255) - mean[c]) / std[c])}, every step rounded to float32. With only 256
 * inputs per channel the values come from a table.
 */
public final class PixelNormalizer {
    /** The ImageNet mean and std that InternVL uses. */
    public static final PixelNormalizer IMAGENET =
            new PixelNormalizer(new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f});

    private final float[][] table = new float[3][256];

    public PixelNormalizer(float[] mean, float[] std) {
        if (mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("mean and std need one value per RGB channel");
        }
        for (int c = 0; c < 3; c++) {
            for (int v = 0; v < 256; v++) {
                float unit = v / 255f;
                table[c][v] = (unit - mean[c]) / std[c];
            }
        }
    }

    /** The normalised value of 8-bit level {@code value} (0..255) in channel {@code channel}. */
    public float value(int channel, int value) {
        return table[channel][value];
    }

    /**
     * Writes {@code image} channel-planar ({@code [3, height, width]}, as a tensor's {@code [c][y][x]}) into
     * {@code out} from {@code offset}.
     */
    public void writePlanar(RgbImage image, float[] out, int offset) {
        byte[] px = image.pixels();
        int plane = image.width() * image.height();
        if (offset < 0 || offset > out.length - 3 * plane) {
            throw new IndexOutOfBoundsException("3 x " + plane + " values at offset " + offset + " do not fit " + out.length);
        }
        float[] r = table[0];
        float[] g = table[1];
        float[] b = table[2];
        for (int i = 0, p = 0; i < plane; i++, p += 3) {
            out[offset + i] = r[px[p] & 0xFF];
            out[offset + plane + i] = g[px[p + 1] & 0xFF];
            out[offset + 2 * plane + i] = b[px[p + 2] & 0xFF];
        }
    }
}
