package dev.internvl.mesh.tools.golden;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.checkpoint.SafetensorsFile;
import dev.internvl.mesh.checkpoint.TensorView;
import dev.internvl.mesh.image.ImageLimits;
import dev.internvl.mesh.image.ImagePreprocessor;
import dev.internvl.mesh.image.PreprocessedImage;
import dev.internvl.mesh.image.RgbImage;

import java.io.IOException;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;

/**
 * {@code preprocess_cases}: decode, tile and normalise each case's image as the model card does, and compare with the
 * manifest (decoded size and sha256, grid, resized size, tile count, thumbnail) and the case's golden tensors: the decoded image
 * ({@code decoded_u8} or its 7-pixel sample {@code decoded_u8_sub}), the 8-bit tiles ({@code tiles_u8_sub},
 * {@code tiles_u8_row_sums}), all exact, and the per-tile statistics of pixel_values within the pixel tolerance.
 * Everything comes from the manifest, so any golden directory of this format works.
 */
public final class PreprocessSuite implements GoldenSuite {
    private static final String KEY = "preprocess_cases";
    /** The sampled tensors hold rows and columns 3, 10, 17, ... (3 + 7k). */
    private static final int SUB_START = 3;
    private static final int SUB_STEP = 7;

    @Override
    public List<String> manifestKeys() {
        return List.of(KEY);
    }

    @Override
    public void run(GoldenSet set, Consumer<CaseResult> report) {
        for (JsonNode c : set.cases(KEY)) {
            String id = c.path("id").asText(KEY);
            CaseResult result;
            try {
                result = runCase(set, c, id);
            } catch (Exception | OutOfMemoryError e) {
                result = CaseResult.failed(id, e.getClass().getSimpleName() + ": " + e.getMessage());
            }
            report.accept(result);
        }
    }

    private static CaseResult runCase(GoldenSet set, JsonNode c, String id) throws IOException {
        CaseBuilder b = new CaseBuilder(id);
        String imageName = c.path("image").asText();
        JsonNode imageInfo = set.manifest().path("images").path(imageName);
        if (!imageInfo.hasNonNull("file")) {
            return b.fail("image '" + imageName + "' is not in the manifest's images").build();
        }
        int tileSize = c.path("image_size").asInt(448);
        ImagePreprocessor pre = new ImagePreprocessor(tileSize, ImageLimits.defaults());
        RgbImage decoded = pre.decode(Files.readAllBytes(set.resolve(imageInfo.get("file").asText())));

        if (imageInfo.has("width")) {
            b.exact("decoded size", decoded.width() + "x" + decoded.height(),
                    imageInfo.path("width").asInt() + "x" + imageInfo.path("height").asInt());
        }
        if (imageInfo.hasNonNull("decoded_rgb_sha256")) {
            b.exact("decoded sha256", sha256(decoded.pixels()), imageInfo.get("decoded_rgb_sha256").asText());
        }

        PreprocessedImage p = pre.preprocess(decoded, c.path("min_num").asInt(1), c.path("max_num").asInt(12),
                c.path("use_thumbnail").asBoolean(true));
        if (c.has("grid_cols_rows")) {
            b.exact("grid", p.grid().cols() + "x" + p.grid().rows(),
                    c.get("grid_cols_rows").get(0).asInt() + "x" + c.get("grid_cols_rows").get(1).asInt());
        }
        if (c.has("resized_size")) {
            b.exact("resized_size", p.grid().cols() * tileSize + "x" + p.grid().rows() * tileSize,
                    c.get("resized_size").get(0).asInt() + "x" + c.get("resized_size").get(1).asInt());
        }
        if (c.has("num_tiles")) {
            b.exact("num_tiles", p.numTiles(), c.get("num_tiles").asInt());
        }
        if (c.has("has_thumbnail")) {
            b.exact("has_thumbnail", p.hasThumbnail(), c.get("has_thumbnail").asBoolean());
        }

        try (SafetensorsFile golden = set.openTensors(c.path("file").asText())) {
            for (var names = c.path("tensors").fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!golden.contains(name)) {
                    b.fail("golden file has no tensor '" + name + "'");
                    continue;
                }
                TensorView t = golden.tensor(name);
                switch (name) {
                    case "decoded_u8" -> compareSampled(b, name, List.of(decoded), t, 0, 1);
                    case "decoded_u8_sub" -> compareSampled(b, name, List.of(decoded), t, SUB_START, SUB_STEP);
                    case "tiles_u8_sub" -> compareSampled(b, name, p.tiles(), t, SUB_START, SUB_STEP);
                    case "tiles_u8_row_sums" -> compareRowSums(b, p.tiles(), t);
                    case "pixel_values_mean" -> compareMoments(b, set, p, t, false);
                    case "pixel_values_sq_mean" -> compareMoments(b, set, p, t, true);
                    default -> {
                        // a tensor this suite does not know: nothing to compare
                    }
                }
            }
        }
        return b.build();
    }

    /**
     * Compares images with a U8 tensor [N?, rows, cols, 3] that holds their pixels at rows and columns
     * {@code start + step*k}; records the largest difference, which must be 0.
     */
    private static void compareSampled(CaseBuilder b, String name, List<RgbImage> images, TensorView t, int start, int step) {
        long[] shape = t.shape();
        boolean batched = shape.length == 4;
        if (shape.length != (batched ? 4 : 3) || shape[shape.length - 1] != 3 || (batched && shape[0] != images.size())
                || (!batched && images.size() != 1)) {
            b.fail(name + ": shape " + t.shapeString() + " does not fit " + images.size() + " image(s)");
            return;
        }
        int rows = (int) shape[shape.length - 3];
        int cols = (int) shape[shape.length - 2];
        double worst = 0;
        long i = 0;
        for (RgbImage img : images) {
            if (start + (long) step * (rows - 1) >= img.height() || start + (long) step * (cols - 1) >= img.width()) {
                b.fail(name + ": shape " + t.shapeString() + " samples beyond " + img.width() + "x" + img.height());
                return;
            }
            for (int r = 0; r < rows; r++) {
                for (int col = 0; col < cols; col++) {
                    for (int ch = 0; ch < 3; ch++, i++) {
                        int actual = img.get(start + step * col, start + step * r, ch);
                        worst = Math.max(worst, Math.abs(actual - t.getLong(i)));
                    }
                }
            }
        }
        b.metric(name, worst, 0);
    }

    private static void compareRowSums(CaseBuilder b, List<RgbImage> tiles, TensorView t) {
        int size = tiles.getFirst().height();
        if (!t.hasShape(tiles.size(), size, 3)) {
            b.fail("tiles_u8_row_sums: shape " + t.shapeString() + ", expected [" + tiles.size() + ", " + size + ", 3]");
            return;
        }
        double worst = 0;
        long i = 0;
        for (RgbImage tile : tiles) {
            for (int y = 0; y < size; y++) {
                for (int ch = 0; ch < 3; ch++, i++) {
                    long sum = 0;
                    for (int x = 0; x < tile.width(); x++) {
                        sum += tile.get(x, y, ch);
                    }
                    worst = Math.max(worst, Math.abs(sum - t.getLong(i)));
                }
            }
        }
        b.metric("tiles_u8_row_sums", worst, 0);
    }

    /**
     * Per tile and channel, the mean (or mean square) of pixel_values accumulated in float64, against the float32
     * golden: the worst difference relative to max(1, |expected|), within the pixel_values tolerance.
     */
    private static void compareMoments(CaseBuilder b, GoldenSet set, PreprocessedImage p, TensorView t, boolean square) {
        String name = square ? "pixel_values_sq_mean" : "pixel_values_mean";
        if (!t.hasShape(p.numTiles(), 3)) {
            b.fail(name + ": shape " + t.shapeString() + ", expected [" + p.numTiles() + ", 3]");
            return;
        }
        float[] values = p.pixelValues();
        int plane = p.tileSize() * p.tileSize();
        double worst = 0;
        for (int tile = 0; tile < p.numTiles(); tile++) {
            for (int ch = 0; ch < 3; ch++) {
                int base = (tile * 3 + ch) * plane;
                double sum = 0;
                for (int i = 0; i < plane; i++) {
                    double v = values[base + i];
                    sum += square ? v * v : v;
                }
                double expected = t.getFloat(tile * 3L + ch);
                worst = Math.max(worst, Math.abs(sum / plane - expected) / Math.max(1.0, Math.abs(expected)));
            }
        }
        b.metric(name, worst, set.tolerance("pixel_values_atol", 1e-6));
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
