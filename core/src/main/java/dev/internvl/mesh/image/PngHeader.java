package dev.internvl.mesh.image;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A PNG's IHDR size and colour type and its PLTE palette as the file gives it (Pillow reads indices past its end as
 * gray), read from the chunks before the image data.
 */
record PngHeader(long width, long height, int colorType, byte[] palette) {

    static PngHeader scan(byte[] d) {
        byte[] palette = new byte[0];
        long width = -1;
        long height = -1;
        int type = -1;
        int p = 8;
        while (p + 8 <= d.length) {
            long length = u32(d, p);
            if (length > d.length - p - 12L) {
                break;
            }
            String chunk = new String(d, p + 4, 4, StandardCharsets.ISO_8859_1);
            int data = p + 8;
            if (chunk.equals("IHDR") && length >= 13) {
                width = u32(d, data);
                height = u32(d, data + 4);
                type = d[data + 9] & 0xFF;
            } else if (chunk.equals("PLTE")) {
                palette = Arrays.copyOfRange(d, data, data + (int) (length / 3 * 3));
            } else if (chunk.equals("IDAT") || chunk.equals("IEND")) {
                break;
            }
            p = data + (int) length + 4;
        }
        if (type < 0) {
            throw new ImageException("truncated or corrupt PNG image (no IHDR chunk)");
        }
        return new PngHeader(width, height, type, palette);
    }

    private static long u32(byte[] d, int p) {
        return ((long) (d[p] & 0xFF) << 24) | ((d[p + 1] & 0xFF) << 16) | ((d[p + 2] & 0xFF) << 8) | (d[p + 3] & 0xFF);
    }
}
