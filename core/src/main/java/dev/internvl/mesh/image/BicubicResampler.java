package dev.internvl.mesh.image;

/**
 * Pillow's {@code Image.resize(size, BICUBIC)} on 8-bit RGB, bit for bit (Pillow 9.x, {@code Resample.c}).
 *
 * <p>Separable: a horizontal pass, whose result is rounded and clamped to 8 bits, then a vertical pass; a pass is
 * skipped when its dimension does not change. Each output sample is a weighted sum over the input samples within
 * the filter's support, which widens with the scale when shrinking (antialiasing). The weights are the cubic
 * convolution kernel with a = -0.5, normalised in double precision and then rounded to fixed point with 22
 * fractional bits; the sums are exact integer arithmetic. A float implementation differs by one level on some pixels.
 */
public final class BicubicResampler {
    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final int HALF = 1 << (PRECISION_BITS - 1);
    private static final double SUPPORT = 2.0;

    private BicubicResampler() {
    }

    /** {@code image} resized to {@code width x height}; an unchanged size gives a copy. */
    public static RgbImage resize(RgbImage image, int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("resize target must be positive, got " + width + "x" + height);
        }
        boolean horizontal = width != image.width();
        boolean vertical = height != image.height();
        if (!horizontal && !vertical) {
            return new RgbImage(width, height, image.pixels().clone());
        }
        byte[] src = image.pixels();
        int srcWidth = image.width();
        Weights rows = vertical ? new Weights(image.height(), height) : null;
        if (horizontal) {
            // Like Pillow, run the horizontal pass only over the rows the vertical pass reads.
            int first = vertical ? rows.start[0] : 0;
            int last = vertical ? rows.start[height - 1] + rows.count[height - 1] : image.height();
            byte[] tmp = new byte[3 * width * (last - first)];
            horizontalPass(src, srcWidth, first, last, new Weights(srcWidth, width), tmp, width);
            if (!vertical) {
                return new RgbImage(width, height, tmp);
            }
            src = tmp;
            srcWidth = width;
            rows.shift(first);
        }
        byte[] out = new byte[3 * width * height];
        verticalPass(src, srcWidth, rows, out, height);
        return new RgbImage(width, height, out);
    }

    private static void horizontalPass(byte[] src, int srcWidth, int firstRow, int lastRow, Weights w, byte[] dst,
                                       int dstWidth) {
        int[] start = w.start;
        int[] count = w.count;
        int[] k = w.k;
        int ksize = w.ksize;
        int o = 0;
        for (int y = firstRow; y < lastRow; y++) {
            int rowBase = 3 * y * srcWidth;
            for (int xx = 0; xx < dstWidth; xx++) {
                int p = rowBase + 3 * start[xx];
                int kBase = xx * ksize;
                int n = count[xx];
                int r = HALF;
                int g = HALF;
                int b = HALF;
                for (int i = 0; i < n; i++, p += 3) {
                    int weight = k[kBase + i];
                    r += (src[p] & 0xFF) * weight;
                    g += (src[p + 1] & 0xFF) * weight;
                    b += (src[p + 2] & 0xFF) * weight;
                }
                dst[o++] = clip8(r);
                dst[o++] = clip8(g);
                dst[o++] = clip8(b);
            }
        }
    }

    /**
     * Accumulates whole rows rather than one column at a time: the same integer sums as Pillow's loop (int addition
     * wraps the same in any order), read in memory order.
     */
    private static void verticalPass(byte[] src, int width, Weights w, byte[] dst, int dstHeight) {
        int rowLength = 3 * width;
        int[] acc = new int[rowLength];
        for (int yy = 0; yy < dstHeight; yy++) {
            java.util.Arrays.fill(acc, HALF);
            int kBase = yy * w.ksize;
            for (int i = 0; i < w.count[yy]; i++) {
                int weight = w.k[kBase + i];
                int p = (w.start[yy] + i) * rowLength;
                for (int x = 0; x < rowLength; x++) {
                    acc[x] += (src[p + x] & 0xFF) * weight;
                }
            }
            int o = yy * rowLength;
            for (int x = 0; x < rowLength; x++) {
                dst[o + x] = clip8(acc[x]);
            }
        }
    }

    private static byte clip8(int sum) {
        int v = sum >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /** Pillow's cubic kernel, a = -0.5, with its exact order of operations. */
    static double cubic(double x) {
        final double a = -0.5;
        if (x < 0.0) {
            x = -x;
        }
        if (x < 1.0) {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        }
        if (x < 2.0) {
            return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0.0;
    }

    /** For each output index along one axis: the first input index, how many inputs, and their fixed-point weights. */
    static final class Weights {
        final int ksize;
        final int[] start;
        final int[] count;
        final int[] k;

        Weights(int inSize, int outSize) {
            double scale = (double) inSize / outSize;
            double filterscale = Math.max(scale, 1.0);
            double support = SUPPORT * filterscale;
            ksize = (int) Math.ceil(support) * 2 + 1;
            start = new int[outSize];
            count = new int[outSize];
            k = new int[outSize * ksize];
            double[] pre = new double[ksize];
            double ss = 1.0 / filterscale;
            for (int xx = 0; xx < outSize; xx++) {
                double center = (xx + 0.5) * scale;
                int xmin = Math.max((int) (center - support + 0.5), 0);
                int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
                double sum = 0.0;
                for (int x = 0; x < xmax; x++) {
                    double w = cubic((x + xmin - center + 0.5) * ss);
                    pre[x] = w;
                    sum += w;
                }
                for (int x = 0; x < xmax; x++) {
                    double w = sum != 0.0 ? pre[x] / sum : pre[x];
                    k[xx * ksize + x] = (int) (w < 0 ? w * (1 << PRECISION_BITS) - 0.5 : w * (1 << PRECISION_BITS) + 0.5);
                }
                start[xx] = xmin;
                count[xx] = xmax;
            }
        }

        void shift(int first) {
            for (int i = 0; i < start.length; i++) {
                start[i] -= first;
            }
        }
    }
}
