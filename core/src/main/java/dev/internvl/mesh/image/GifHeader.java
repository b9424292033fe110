package dev.internvl.mesh.image;

import java.util.Arrays;

/**
 * What Pillow takes from a GIF for its first frame, read the way Pillow's GifImagePlugin reads it: the logical screen,
 * the frame's position, size and interlacing, its palette (local, else global, else none) and the transparent index
 * of a graphic control extension before it. Bytes between blocks that are no block are skipped, as Pillow does.
 */
record GifHeader(int screenWidth, int screenHeight, int left, int top, int width, int height, boolean interlaced,
                 int flagsOffset, byte[] palette, int transparentIndex) {

    static GifHeader parse(byte[] d) {
        int p = 13;
        need(d, p);
        int screenFlags = d[10] & 0xFF;
        byte[] global = new byte[0];
        if ((screenFlags & 0x80) != 0) {
            int size = 3 << ((screenFlags & 7) + 1);
            need(d, p + size);
            global = Arrays.copyOfRange(d, p, p + size);
            p += size;
        }
        int transparent = -1;
        while (p < d.length) {
            int b = d[p] & 0xFF;
            if (b == 0x21) { // extension: label, then data sub-blocks
                need(d, p + 3);
                int label = d[p + 1] & 0xFF;
                p += 2;
                if (label == 0xF9 && (d[p] & 0xFF) >= 4) {
                    need(d, p + 5);
                    if ((d[p + 1] & 1) != 0) {
                        transparent = d[p + 4] & 0xFF;
                    }
                }
                while (p < d.length && d[p] != 0) {
                    p += (d[p] & 0xFF) + 1;
                }
                p++;
            } else if (b == 0x2C) { // image descriptor
                need(d, p + 10);
                int flags = d[p + 9] & 0xFF;
                byte[] palette = global;
                if ((flags & 0x80) != 0) {
                    int size = 3 << ((flags & 7) + 1);
                    need(d, p + 10 + size);
                    palette = Arrays.copyOfRange(d, p + 10, p + 10 + size);
                }
                return new GifHeader(u16(d, 6), u16(d, 8), u16(d, p + 1), u16(d, p + 3), u16(d, p + 5), u16(d, p + 7),
                        (flags & 0x40) != 0, p + 9, palette, transparent);
            } else if (b == 0x3B) { // trailer
                break;
            } else {
                p++;
            }
        }
        throw new ImageException("truncated or corrupt GIF image (no image in the file)");
    }

    /** The canvas Pillow gives the first frame: the screen, grown to hold the frame. */
    long canvasWidth() {
        return Math.max(screenWidth, (long) left + width);
    }

    long canvasHeight() {
        return Math.max(screenHeight, (long) top + height);
    }

    /**
     * A copy of the file with the frame's interlace flag cleared, so that a reader hands back the rows in stored
     * order ({@link #storedRowOrder()} places them). ImageIO's own de-interlacing loses rows of frames under 5 rows.
     */
    byte[] withoutInterlaceFlag(byte[] gif) {
        byte[] copy = gif.clone();
        copy[flagsOffset] &= (byte) ~0x40;
        return copy;
    }

    /** For an interlaced frame, the image row of each stored row: rows 0, 8, 16.. then 4, 12.. then 2, 6.. then odd. */
    int[] storedRowOrder() {
        int[] order = new int[height];
        int k = 0;
        for (int[] pass : new int[][] {{0, 8}, {4, 8}, {2, 4}, {1, 2}}) {
            for (int y = pass[0]; y < height; y += pass[1]) {
                order[k++] = y;
            }
        }
        return order;
    }

    private static int u16(byte[] d, int p) {
        return (d[p] & 0xFF) | (d[p + 1] & 0xFF) << 8;
    }

    private static void need(byte[] d, int end) {
        if (end > d.length) {
            throw new ImageException("truncated or corrupt GIF image (the file ends inside its header)");
        }
    }
}
