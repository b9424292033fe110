package dev.internvl.mesh.image;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.checkpoint.SafetensorsFile;
import dev.internvl.mesh.checkpoint.TensorView;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImagePreprocessorTest {
    private static final ImagePreprocessor PRE = new ImagePreprocessor(448, ImageLimits.defaults());

    /**
     * Every preprocessing golden: grid, tile count, thumbnail, and the 8-bit tiles (a 7-pixel sample and every row's
     * sum) exactly as the Python reference made them, so the resize is bit-exact on all of these.
     */
    @Test
    void goldenCasesTileBitExact() {
        JsonNode manifest = TestData.json(TestData.golden().resolve("manifest.json"));
        List<String> checked = new ArrayList<>();
        for (JsonNode c : manifest.get("preprocess_cases")) {
            String id = c.get("id").asText();
            String file = manifest.get("images").get(c.get("image").asText()).get("file").asText();
            PreprocessedImage p = PRE.preprocess(TestData.bytes(TestData.golden().resolve(file)), c.get("min_num").asInt(),
                    c.get("max_num").asInt(), c.get("use_thumbnail").asBoolean());
            assertEquals(c.get("grid_cols_rows").get(0).asInt(), p.grid().cols(), id);
            assertEquals(c.get("grid_cols_rows").get(1).asInt(), p.grid().rows(), id);
            assertEquals(c.get("num_tiles").asInt(), p.numTiles(), id);
            assertEquals(c.get("has_thumbnail").asBoolean(), p.hasThumbnail(), id);
            try (SafetensorsFile golden = SafetensorsFile.open(TestData.golden().resolve(c.get("file").asText()))) {
                TensorView sub = golden.tensor("tiles_u8_sub");
                TensorView sums = golden.tensor("tiles_u8_row_sums");
                long i = 0;
                long j = 0;
                for (int t = 0; t < p.numTiles(); t++) {
                    RgbImage tile = p.tiles().get(t);
                    for (int y = 3; y < 448; y += 7) {
                        for (int x = 3; x < 448; x += 7) {
                            for (int ch = 0; ch < 3; ch++, i++) {
                                assertEquals(sub.getLong(i), tile.get(x, y, ch), id + " tile " + t + " at " + x + "," + y);
                            }
                        }
                    }
                    for (int y = 0; y < 448; y++) {
                        for (int ch = 0; ch < 3; ch++, j++) {
                            long sum = 0;
                            for (int x = 0; x < 448; x++) {
                                sum += tile.get(x, y, ch);
                            }
                            assertEquals(sums.getLong(j), sum, id + " tile " + t + " row " + y);
                        }
                    }
                }
            }
            checked.add(id);
        }
        assertEquals(12, checked.size());
    }

    @Test
    void thumbnailOnlyWhenAskedAndMoreThanOneTile() {
        RgbImage wide = gradient(900, 300);
        PreprocessedImage with = PRE.preprocess(wide, 1, 12, true);
        assertEquals(new TileGrid(3, 1), with.grid());
        assertTrue(with.hasThumbnail());
        assertEquals(4, with.numTiles());
        assertEquals(BicubicResampler.resize(wide, 448, 448).pixels().length, with.tiles().get(3).pixels().length);

        PreprocessedImage without = PRE.preprocess(wide, 1, 12, false);
        assertFalse(without.hasThumbnail());
        assertEquals(3, without.numTiles());

        PreprocessedImage single = PRE.preprocess(gradient(300, 300), 1, 12, true);
        assertEquals(new TileGrid(1, 1), single.grid());
        assertFalse(single.hasThumbnail());
        assertEquals(1, single.numTiles());
    }

    @Test
    void tilesAreCutRowByRowAndThumbnailComesLast() {
        RgbImage img = gradient(500, 1000);
        PreprocessedImage p = PRE.preprocess(img, 1, 12, true);
        assertEquals(new TileGrid(1, 2), p.grid());
        RgbImage resized = BicubicResampler.resize(img, 448, 896);
        assertEquals(resized.crop(0, 0, 448, 448).get(100, 200, 1), p.tiles().get(0).get(100, 200, 1));
        assertEquals(resized.crop(0, 448, 448, 448).get(100, 200, 1), p.tiles().get(1).get(100, 200, 1));
        RgbImage thumb = BicubicResampler.resize(img, 448, 448);
        assertEquals(thumb.get(300, 10, 2), p.tiles().get(2).get(300, 10, 2));

        PreprocessedImage grid = PRE.preprocess(gradient(1000, 700), 1, 12, false);
        assertEquals(new TileGrid(3, 2), grid.grid());
        RgbImage all = BicubicResampler.resize(gradient(1000, 700), 1344, 896);
        for (int t = 0; t < 6; t++) {
            assertEquals(all.get((t % 3) * 448 + 5, (t / 3) * 448 + 9, 0), grid.tiles().get(t).get(5, 9, 0), "tile " + t);
        }
    }

    @Test
    void pixelValuesAreTilesByChannelPlanes() {
        PreprocessedImage p = PRE.preprocess(gradient(900, 300), 1, 12, true);
        float[] values = p.pixelValues();
        assertEquals(4 * 3 * 448 * 448, values.length);
        int plane = 448 * 448;
        for (int t : new int[] {0, 3}) {
            for (int c = 0; c < 3; c++) {
                int x = 17 + 100 * c;
                int y = 401 - 90 * c;
                float want = PixelNormalizer.IMAGENET.value(c, p.tiles().get(t).get(x, y, c));
                assertEquals(want, values[(t * 3 + c) * plane + y * 448 + x], "tile " + t + " channel " + c);
            }
        }
    }

    @Test
    void badRequestsAreRefusedBeforeDecoding() {
        byte[] notAnImage = {1, 2, 3};
        assertEquals("min tiles must be at least 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> PRE.preprocess(notAnImage, 0, 12, true)).getMessage());
        assertEquals("max tiles (2) must not be below min tiles (3)",
                assertThrows(IllegalArgumentException.class, () -> PRE.preprocess(notAnImage, 3, 2, true)).getMessage());
        assertThrows(ImageException.class, () -> PRE.preprocess(notAnImage, 1, 12, true));
        assertThrows(IllegalArgumentException.class, () -> new ImagePreprocessor(0, ImageLimits.defaults()));
    }

    private static RgbImage gradient(int w, int h) {
        byte[] px = new byte[3 * w * h];
        for (int y = 0, i = 0; y < h; y++) {
            for (int x = 0; x < w; x++, i += 3) {
                px[i] = (byte) (x * 255 / w);
                px[i + 1] = (byte) (y * 255 / h);
                px[i + 2] = (byte) ((x ^ y) & 0xFF);
            }
        }
        return new RgbImage(w, h, px);
    }
}
