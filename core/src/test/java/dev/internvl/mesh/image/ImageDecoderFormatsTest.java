package dev.internvl.mesh.image;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Every format decodes to the RGB bytes Pillow 9.4's {@code convert("RGB")} gives. */
class ImageDecoderFormatsTest {
    private static final ImageDecoder DECODER = new ImageDecoder(ImageLimits.defaults());
    /** Lossy WebP goes through TwelveMonkeys' VP8 decoder, which is close to libwebp but not bit-exact. */
    private static final String LOSSY_WEBP = "webp_lossy.webp";

    /** The golden images: JPEGs with an ICC profile (not applied) and EXIF orientation 6 (not applied), PNG L/RGBA. */
    @Test
    void goldenImagesDecodeBitExact() {
        JsonNode images = TestData.json(TestData.golden().resolve("manifest.json")).get("images");
        int checked = 0;
        for (var e : images.properties()) {
            checked++;
            JsonNode info = e.getValue();
            RgbImage img = DECODER.decode(TestData.bytes(TestData.golden().resolve(info.get("file").asText())));
            assertEquals(info.get("width").asInt() + "x" + info.get("height").asInt(), img.width() + "x" + img.height(), e.getKey());
            assertEquals(info.get("decoded_rgb_sha256").asText(), TestData.sha256(img.pixels()), e.getKey());
        }
        assertEquals(10, checked);
    }

    static Stream<String> pillowFixtures() {
        List<String> names = new ArrayList<>();
        expected().fieldNames().forEachRemaining(names::add);
        return names.stream().filter(n -> !n.equals(LOSSY_WEBP));
    }

    /** 16-bit and low-bit PNGs, palettes with tRNS or too short, GIF canvases, lossless WebP, CMYK/YCCK/4:4:0 JPEGs. */
    @ParameterizedTest
    @MethodSource("pillowFixtures")
    void fixtureDecodesAsPillow(String name) {
        JsonNode e = expected().get(name);
        RgbImage img = DECODER.decode(TestData.bytes(TestData.images().resolve(name)));
        assertEquals(e.get("width").asInt() + "x" + e.get("height").asInt(), img.width() + "x" + img.height());
        assertPixels(HexFormat.of().parseHex(e.get("rgb").asText()), img);
    }

    @Test
    void lossyWebpIsCloseToLibwebp() {
        JsonNode e = expected().get(LOSSY_WEBP);
        RgbImage img = DECODER.decode(TestData.bytes(TestData.images().resolve(LOSSY_WEBP)));
        byte[] want = HexFormat.of().parseHex(e.get("rgb").asText());
        assertEquals(want.length, img.pixels().length);
        long sum = 0;
        for (int i = 0; i < want.length; i++) {
            sum += Math.abs((want[i] & 0xFF) - (img.pixels()[i] & 0xFF));
        }
        double mean = (double) sum / want.length;
        assertTrue(mean < 4, "mean |difference| from libwebp " + mean); // 2.75 on this gradient
    }

    @Test
    void sixteenBitGrayPngClampsLikePillowModeI() {
        // Pillow opens 16-bit gray as mode I and convert("RGB") clamps: 254 stays, 255 and above are white.
        RgbImage img = DECODER.decode(TestData.bytes(TestData.images().resolve("png_gray16.png")));
        int[] stored = {0, 1, 100, 254, 255, 256, 1000, 65535};
        for (int x = 0; x < stored.length; x++) {
            int want = Math.min(stored[x], 255);
            assertEquals(List.of(want, want, want), List.of(img.get(x, 0, 0), img.get(x, 0, 1), img.get(x, 0, 2)), "x=" + x);
        }
    }

    @Test
    void pngRgbAndAlphaDropAlphaKeepingColour() throws IOException {
        BufferedImage src = new BufferedImage(7, 5, BufferedImage.TYPE_INT_ARGB);
        Random rnd = new Random(1);
        for (int y = 0; y < 5; y++) {
            for (int x = 0; x < 7; x++) {
                int alpha = x == 0 ? 0 : rnd.nextInt(256); // fully transparent column keeps its colour
                src.setRGB(x, y, alpha << 24 | rnd.nextInt(1 << 24));
            }
        }
        RgbImage img = DECODER.decode(encode(src, "png"));
        assertSameRgb(src, img);

        BufferedImage rgb = new BufferedImage(7, 5, BufferedImage.TYPE_3BYTE_BGR);
        fill(rgb, rnd);
        assertSameRgb(rgb, DECODER.decode(encode(rgb, "png")));
    }

    @Test
    void grayPngAndBmpCopyGrayToEveryChannel() throws IOException {
        BufferedImage gray = new BufferedImage(9, 4, BufferedImage.TYPE_BYTE_GRAY);
        WritableRaster r = gray.getRaster();
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 9; x++) {
                r.setSample(x, y, 0, (x * 29 + y * 71) & 0xFF);
            }
        }
        for (String format : List.of("png", "bmp")) {
            RgbImage img = DECODER.decode(encode(gray, format));
            for (int y = 0; y < 4; y++) {
                for (int x = 0; x < 9; x++) {
                    int v = r.getSample(x, y, 0);
                    assertEquals(List.of(v, v, v), List.of(img.get(x, y, 0), img.get(x, y, 1), img.get(x, y, 2)), format);
                }
            }
        }
    }

    @Test
    void palettePngGifAndBmpLookUpThePalette() throws IOException {
        // 256 entries: ImageIO's BMP writer garbles smaller palettes (Pillow reads its output the same way we do).
        Random rnd = new Random(2);
        byte[] reds = new byte[256];
        byte[] greens = new byte[256];
        byte[] blues = new byte[256];
        rnd.nextBytes(reds);
        rnd.nextBytes(greens);
        rnd.nextBytes(blues);
        IndexColorModel icm = new IndexColorModel(8, 256, reds, greens, blues);
        BufferedImage src = new BufferedImage(13, 6, BufferedImage.TYPE_BYTE_INDEXED, icm);
        for (int y = 0; y < 6; y++) {
            for (int x = 0; x < 13; x++) {
                src.getRaster().setSample(x, y, 0, rnd.nextInt(256));
            }
        }
        for (String format : List.of("png", "gif", "bmp")) {
            assertSameRgb(format, src, DECODER.decode(encode(src, format)));
        }
        BufferedImage bits = new BufferedImage(19, 7, BufferedImage.TYPE_BYTE_BINARY);
        for (int x = 0; x < 19; x++) {
            bits.setRGB(x, x % 7, 0xFFFFFF);
        }
        for (String format : List.of("png", "gif", "bmp")) {
            assertSameRgb(format + " 1-bit", bits, DECODER.decode(encode(bits, format)));
        }
    }

    /** ImageIO writes interlaced GIFs; its reader alone loses rows of interlaced frames under 5 rows high. */
    @Test
    void interlacedGifsOfEveryHeight() throws IOException {
        for (int h = 1; h <= 9; h++) {
            BufferedImage bits = new BufferedImage(11, h, BufferedImage.TYPE_BYTE_BINARY);
            for (int x = 0; x < 11; x++) {
                bits.setRGB(x, x % h, 0xFFFFFF);
            }
            assertSameRgb("height " + h, bits, DECODER.decode(encode(bits, "gif")));
        }
    }

    @Test
    void bmp24BitAndSixteenBitFieldsScaleAsPillow() throws IOException {
        Random rnd = new Random(3);
        BufferedImage rgb = new BufferedImage(5, 3, BufferedImage.TYPE_3BYTE_BGR);
        fill(rgb, rnd);
        assertSameRgb(rgb, DECODER.decode(encode(rgb, "bmp")));

        // Pillow unpacks BGR;15 and BGR;16 as field * 255 / max, truncated.
        for (int type : new int[] {BufferedImage.TYPE_USHORT_555_RGB, BufferedImage.TYPE_USHORT_565_RGB}) {
            BufferedImage src = new BufferedImage(6, 4, type);
            WritableRaster r = src.getRaster();
            int[] max = {31, type == BufferedImage.TYPE_USHORT_565_RGB ? 63 : 31, 31};
            for (int y = 0; y < 4; y++) {
                for (int x = 0; x < 6; x++) {
                    for (int c = 0; c < 3; c++) {
                        r.setSample(x, y, c, rnd.nextInt(max[c] + 1));
                    }
                }
            }
            RgbImage img = DECODER.decode(encode(src, "bmp"));
            for (int y = 0; y < 4; y++) {
                for (int x = 0; x < 6; x++) {
                    for (int c = 0; c < 3; c++) {
                        assertEquals(r.getSample(x, y, c) * 255 / max[c], img.get(x, y, c), "type " + type + " at " + x + "," + y);
                    }
                }
            }
        }
    }

    @Test
    void animatedGifGivesItsFirstFrame() throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("gif").next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        BufferedImage first = solid(0xC03010);
        try (ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
            writer.setOutput(out);
            writer.prepareWriteSequence(null);
            writer.writeToSequence(new IIOImage(first, null, null), null);
            writer.writeToSequence(new IIOImage(solid(0x1030C0), null, null), null);
            writer.endWriteSequence();
        }
        assertSameRgb(first, DECODER.decode(bytes.toByteArray()));
    }

    private static BufferedImage solid(int rgb) {
        IndexColorModel icm = new IndexColorModel(1, 2, new byte[] {(byte) (rgb >> 16), 0}, new byte[] {(byte) (rgb >> 8), 0},
                new byte[] {(byte) rgb, 0});
        BufferedImage img = new BufferedImage(8, 6, BufferedImage.TYPE_BYTE_BINARY, icm);
        img.getRaster().setSample(3, 2, 0, 1);
        return img;
    }

    private static JsonNode expected() {
        return TestData.json(TestData.images().resolve("expected.json"));
    }

    private static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(img, format, out)) {
            fail("ImageIO cannot write " + format + " from image type " + img.getType());
        }
        return out.toByteArray();
    }

    private static void fill(BufferedImage img, Random rnd) {
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                img.setRGB(x, y, rnd.nextInt(1 << 24));
            }
        }
    }

    /** The decoded pixels equal the source image's stored RGB (alpha ignored). */
    private static void assertSameRgb(BufferedImage src, RgbImage img) {
        assertSameRgb("", src, img);
    }

    private static void assertSameRgb(String label, BufferedImage src, RgbImage img) {
        assertEquals(src.getWidth() + "x" + src.getHeight(), img.width() + "x" + img.height(), label);
        for (int y = 0; y < src.getHeight(); y++) {
            for (int x = 0; x < src.getWidth(); x++) {
                int argb = src.getRGB(x, y);
                int want = argb & 0xFFFFFF;
                int got = img.get(x, y, 0) << 16 | img.get(x, y, 1) << 8 | img.get(x, y, 2);
                if (want != got) {
                    fail(String.format("%s pixel (%d,%d): got %06x, expected %06x", label, x, y, got, want));
                }
            }
        }
    }

    private static void assertPixels(byte[] want, RgbImage img) {
        assertEquals(want.length, img.pixels().length, "byte count");
        for (int i = 0; i < want.length; i++) {
            if (want[i] != img.pixels()[i]) {
                int p = i / 3;
                fail(String.format("pixel (%d,%d) channel %d: got %d, Pillow gives %d", p % img.width(), p / img.width(),
                        i % 3, img.pixels()[i] & 0xFF, want[i] & 0xFF));
            }
        }
    }
}
