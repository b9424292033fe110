package dev.internvl.mesh.image;

/**
 * The one chroma upsampling where the JDK's libjpeg (6b) and libjpeg-turbo (Pillow's) differ: a component with full
 * horizontal and half vertical resolution (4:4:0). 6b repeats each row; turbo interpolates ({@code h1v2_fancy_upsample}):
 * output row 2k is (3 * row k + row k-1 + 1) / 4 and row 2k+1 is (3 * row k + row k+1 + 2) / 4, the first and last
 * rows standing in for their missing neighbours. Since 6b's rows are exact copies, the original rows can be read
 * back from every other row and interpolated as turbo does. Both libraries agree on every other sampling.
 */
final class JpegUpsampling {
    private JpegUpsampling() {
    }

    /** Re-upsamples, in {@code data} (tightly interleaved, {@code bands} per pixel), every 4:4:0 component. */
    static void fixVerticalHalfComponents(byte[] data, int width, int height, int bands, JpegMarkers markers) {
        int[] h = markers.hSampling();
        int[] v = markers.vSampling();
        if (h.length != bands) {
            return;
        }
        int maxH = 0;
        int maxV = 0;
        for (int i = 0; i < bands; i++) {
            maxH = Math.max(maxH, h[i]);
            maxV = Math.max(maxV, v[i]);
        }
        for (int c = 0; c < bands; c++) {
            if (h[c] == maxH && 2 * v[c] == maxV) {
                interpolate(data, width, height, bands, c);
            }
        }
    }

    private static void interpolate(byte[] data, int width, int height, int bands, int c) {
        int rows = (height + 1) / 2; // the component's own height, ceil(height / 2)
        int[] prev = row(data, width, bands, c, 0);
        int[] cur = prev;
        for (int k = 0; k < rows; k++) {
            int[] next = k + 1 < rows ? row(data, width, bands, c, 2 * (k + 1)) : cur;
            write(data, width, bands, c, 2 * k, cur, prev, 1);
            if (2 * k + 1 < height) {
                write(data, width, bands, c, 2 * k + 1, cur, next, 2);
            }
            prev = cur;
            cur = next;
        }
    }

    private static int[] row(byte[] data, int width, int bands, int c, int y) {
        int[] out = new int[width];
        for (int x = 0, p = y * width * bands + c; x < width; x++, p += bands) {
            out[x] = data[p] & 0xFF;
        }
        return out;
    }

    private static void write(byte[] data, int width, int bands, int c, int y, int[] near, int[] far, int bias) {
        for (int x = 0, p = y * width * bands + c; x < width; x++, p += bands) {
            data[p] = (byte) ((3 * near[x] + far[x] + bias) >> 2);
        }
    }
}
