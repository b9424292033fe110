package dev.internvl.mesh.image;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PixelNormalizerTest {
    /** float32 bit patterns torchvision (numpy float32 ops) gives for u8 0, 1, 128, 254, 255 in each channel. */
    private static final int[][] TORCHVISION_BITS = {
            {-1073247299, -1073592028, -1075382263},
            {-1073319125, -1073665457, -1075528470},
            {1033350962, 1045568328, 1054498108},
            {1074713994, 1075465952, 1076353076},
            {1074785821, 1075539383, 1076426179},
    };

    @Test
    void bitIdenticalToTorchvision() {
        int[] levels = {0, 1, 128, 254, 255};
        for (int i = 0; i < levels.length; i++) {
            for (int c = 0; c < 3; c++) {
                assertEquals(TORCHVISION_BITS[i][c], Float.floatToRawIntBits(PixelNormalizer.IMAGENET.value(c, levels[i])),
                        "level " + levels[i] + " channel " + c);
            }
        }
    }

    @Test
    void writesChannelPlanes() {
        byte[] px = {0, (byte) 128, (byte) 255, 1, (byte) 254, 0};
        RgbImage img = new RgbImage(2, 1, px);
        float[] out = new float[1 + 6];
        PixelNormalizer.IMAGENET.writePlanar(img, out, 1);
        PixelNormalizer n = PixelNormalizer.IMAGENET;
        float[] want = {0, n.value(0, 0), n.value(0, 1), n.value(1, 128), n.value(1, 254), n.value(2, 255), n.value(2, 0)};
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], out[i], "index " + i);
        }
        assertThrows(IndexOutOfBoundsException.class, () -> n.writePlanar(img, new float[6], 1));
    }
}
