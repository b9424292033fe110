package dev.internvl.mesh.image;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Bit-exact against Pillow 9.4 ({@code Image.frombytes("RGB", (5, 3), src).resize(size)}); the golden cases are in ImagePreprocessorTest. */
class BicubicResamplerTest {
    private static final RgbImage SRC = new RgbImage(5, 3, bytes(11, 48, 85, 122, 159, 196, 233, 14, 51, 88, 125, 162, 199,
            236, 17, 54, 91, 128, 165, 202, 239, 20, 57, 94, 131, 168, 205, 242, 23, 60, 97, 134, 171, 208, 245, 26, 63,
            100, 137, 174, 211, 248, 29, 66, 103));

    @Test
    void shrinkBothAxes() {
        assertArrayEquals(bytes(71, 108, 150, 140, 84, 130, 171, 150, 89, 131, 168, 131, 104, 150, 146, 127, 106, 154),
                BicubicResampler.resize(SRC, 3, 2).pixels());
        assertArrayEquals(bytes(109, 131, 138, 138, 121, 129), BicubicResampler.resize(SRC, 2, 1).pixels());
    }

    @Test
    void widenOnlySkipsTheVerticalPass() {
        assertArrayEquals(bytes(3, 40, 77, 49, 99, 136, 129, 157, 194, 217, 49, 86, 198, 30, 75, 91, 118, 162, 148, 198, 80,
                207, 244, 7, 46, 83, 120, 105, 142, 179, 163, 200, 237, 55, 92, 129, 36, 81, 118, 124, 168, 205, 204, 86,
                123, 250, 13, 50, 89, 126, 181, 148, 185, 108, 206, 243, 26, 98, 135, 94, 87, 124, 180, 174, 211, 248, 92,
                129, 166, 19, 56, 93), BicubicResampler.resize(SRC, 8, 3).pixels());
    }

    @Test
    void heightenOnlySkipsTheHorizontalPass() {
        assertArrayEquals(bytes(7, 44, 81, 118, 155, 192, 253, 10, 47, 84, 121, 158, 195, 255, 13, 15, 52, 89, 126, 163, 202,
                213, 18, 55, 92, 129, 166, 205, 216, 21, 32, 69, 106, 143, 180, 234, 111, 35, 72, 109, 146, 183, 237, 114,
                38, 54, 91, 128, 165, 202, 239, 20, 57, 94, 131, 168, 205, 242, 23, 60, 76, 113, 150, 187, 224, 148, 25,
                79, 116, 153, 190, 227, 151, 28, 82, 93, 130, 167, 204, 241, 46, 57, 96, 133, 170, 207, 244, 49, 60, 99,
                101, 138, 175, 212, 249, 6, 67, 104, 141, 178, 215, 252, 9, 70, 107), BicubicResampler.resize(SRC, 5, 7).pixels());
    }

    @Test
    void sameSizeIsACopy() {
        RgbImage copy = BicubicResampler.resize(SRC, 5, 3);
        assertArrayEquals(SRC.pixels(), copy.pixels());
        assertNotSame(SRC.pixels(), copy.pixels());
    }

    @Test
    void flatImagesStayFlatAtAnyScale() {
        byte[] px = new byte[3 * 37 * 23];
        for (int i = 0; i < px.length; i += 3) {
            px[i] = (byte) 200;
            px[i + 1] = 7;
            px[i + 2] = (byte) 255;
        }
        RgbImage flat = new RgbImage(37, 23, px);
        for (int[] size : new int[][] {{1344, 896}, {448, 448}, {1, 1}, {5, 300}}) {
            RgbImage out = BicubicResampler.resize(flat, size[0], size[1]);
            for (int i = 0; i < out.pixels().length; i += 3) {
                assertEquals(200, out.pixels()[i] & 0xFF);
                assertEquals(7, out.pixels()[i + 1]);
                assertEquals(255, out.pixels()[i + 2] & 0xFF);
            }
        }
    }

    @Test
    void targetMustBePositive() {
        assertThrows(IllegalArgumentException.class, () -> BicubicResampler.resize(SRC, 0, 3));
    }

    private static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (byte) values[i];
        }
        return out;
    }
}
