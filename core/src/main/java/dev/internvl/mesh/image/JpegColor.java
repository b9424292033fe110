package dev.internvl.mesh.image;

/**
 * The colour step of libjpeg(-turbo) as Pillow uses it, applied to a JPEG's raw components (ImageIO's
 * {@code readRaster}, which neither converts colours nor applies an embedded ICC profile; Pillow does not apply the
 * profile either).
 *
 * <p>Which colour space the components are in is libjpeg's guess from the markers before the first scan
 * ({@code default_decompress_parms}): 3 components are YCbCr when there is a JFIF marker, RGB for an Adobe marker with
 * transform 0, RGB for component ids 'R','G','B' without either marker, and YCbCr otherwise; 4 components are YCCK
 * for an Adobe marker with a transform other than 0, and CMYK otherwise.
 */
final class JpegColor {
    enum Space { GRAY, RGB, YCBCR, CMYK, YCCK }

    // jdcolor.c's build_ycc_rgb_table: 16-bit fixed point, FIX(1.40200) = 91881, FIX(1.77200) = 116130,
    // FIX(0.71414) = 46802, FIX(0.34414) = 22554, ONE_HALF = 1 << 15.
    private static final int[] CR_R = new int[256];
    private static final int[] CB_B = new int[256];
    private static final int[] CR_G = new int[256];
    private static final int[] CB_G = new int[256];

    static {
        for (int i = 0; i < 256; i++) {
            int x = i - 128;
            CR_R[i] = (91881 * x + 32768) >> 16;
            CB_B[i] = (116130 * x + 32768) >> 16;
            CR_G[i] = -46802 * x;
            CB_G[i] = -22554 * x + 32768;
        }
    }

    private JpegColor() {
    }

    /** The colour space libjpeg assumes for a JPEG with {@code components} components. */
    static Space space(JpegMarkers m, int components) {
        return switch (components) {
            case 1 -> Space.GRAY;
            case 3 -> {
                if (m.jfif()) {
                    yield Space.YCBCR;
                }
                if (m.adobeTransform() >= 0) {
                    yield m.adobeTransform() == 0 ? Space.RGB : Space.YCBCR;
                }
                yield m.componentIds().length == 3 && m.componentIds()[0] == 'R' && m.componentIds()[1] == 'G'
                        && m.componentIds()[2] == 'B' ? Space.RGB : Space.YCBCR;
            }
            case 4 -> m.adobeTransform() > 0 ? Space.YCCK : Space.CMYK;
            default -> throw new ImageException("unsupported JPEG: " + components + " colour components (1, 3 or 4 are supported)");
        };
    }

    /**
     * Converts {@code n} pixels of tightly interleaved components to RGB. For 3 components the conversion is done in
     * place and {@code data} itself is returned.
     */
    static byte[] toRgb(byte[] data, int n, Space space) {
        return switch (space) {
            case GRAY -> {
                byte[] out = new byte[3 * n];
                for (int i = 0, o = 0; i < n; i++, o += 3) {
                    out[o] = out[o + 1] = out[o + 2] = data[i];
                }
                yield out;
            }
            case RGB -> data;
            case YCBCR -> {
                for (int p = 0; p < 3 * n; p += 3) {
                    int y = data[p] & 0xFF;
                    int cb = data[p + 1] & 0xFF;
                    int cr = data[p + 2] & 0xFF;
                    data[p] = clamp(y + CR_R[cr]);
                    data[p + 1] = clamp(y + ((CB_G[cb] + CR_G[cr]) >> 16));
                    data[p + 2] = clamp(y + CB_B[cb]);
                }
                yield data;
            }
            case CMYK, YCCK -> cmykToRgb(data, n, space == Space.YCCK);
        };
    }

    /**
     * Pillow reads 4-component JPEGs as libjpeg's CMYK with inverted values ("CMYK;I", the Adobe convention), then
     * {@code convert("RGB")} gives {@code k - k*c/255} per channel with its MULDIV255 rounding, where c and k are the
     * inverted values. For YCCK libjpeg first turns YCC into CMY = 255 - RGB (K unchanged), so the inverted CMY is
     * the clamped RGB itself.
     */
    private static byte[] cmykToRgb(byte[] data, int n, boolean ycck) {
        byte[] out = new byte[3 * n];
        for (int i = 0, p = 0, o = 0; i < n; i++, p += 4, o += 3) {
            int c0 = data[p] & 0xFF;
            int c1 = data[p + 1] & 0xFF;
            int c2 = data[p + 2] & 0xFF;
            int k = data[p + 3] & 0xFF;
            int i0;
            int i1;
            int i2;
            if (ycck) {
                i0 = Math.clamp(c0 + CR_R[c2], 0, 255);
                i1 = Math.clamp(c0 + ((CB_G[c1] + CR_G[c2]) >> 16), 0, 255);
                i2 = Math.clamp(c0 + CB_B[c1], 0, 255);
            } else {
                i0 = 255 - c0;
                i1 = 255 - c1;
                i2 = 255 - c2;
            }
            out[o] = (byte) (k - mulDiv255(i0, k));
            out[o + 1] = (byte) (k - mulDiv255(i1, k));
            out[o + 2] = (byte) (k - mulDiv255(i2, k));
        }
        return out;
    }

    /** Pillow's MULDIV255: a*b/255 rounded, without a division. */
    private static int mulDiv255(int a, int b) {
        int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    }

    private static byte clamp(int v) {
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }
}
