package dev.internvl.mesh.image;

import java.util.ArrayList;
import java.util.List;

/**
 * The InternVL model card's {@code load_image}: decode, choose a tile grid, resize to it with Pillow's BICUBIC, cut
 * the tiles row by row and add a thumbnail of the whole image, bit-exact with the Python reference. Thread-safe.
 */
public final class ImagePreprocessor {
    private final int tileSize;
    private final ImageDecoder decoder;

    /**
     * @param tileSize the vision tower's input side ({@code force_image_size}, 448 for InternVL 2.5)
     * @param limits   what an encoded image may cost
     */
    public ImagePreprocessor(int tileSize, ImageLimits limits) {
        if (tileSize <= 0) {
            throw new IllegalArgumentException("tile size must be positive, got " + tileSize);
        }
        this.tileSize = tileSize;
        this.decoder = new ImageDecoder(limits);
    }

    public int tileSize() {
        return tileSize;
    }

    /** Decodes an encoded image as Pillow's {@code Image.open(f).convert("RGB")} would. */
    public RgbImage decode(byte[] encoded) {
        return decoder.decode(encoded);
    }

    /**
     * Decodes and tiles one image. {@code minTiles}/{@code maxTiles} bound the grid's tile count (the model config's
     * {@code min_dynamic_patch}/{@code max_dynamic_patch} are the usual values); {@code thumbnail} adds a resized
     * copy of the whole image when the grid has more than one tile ({@code use_thumbnail}).
     *
     * @throws IllegalArgumentException when the tile bounds make no sense
     * @throws ImageException           when the image cannot be decoded or is over a limit
     */
    public PreprocessedImage preprocess(byte[] encoded, int minTiles, int maxTiles, boolean thumbnail) {
        TileGrid.validate(minTiles, maxTiles);
        return preprocess(decode(encoded), minTiles, maxTiles, thumbnail);
    }

    /** Tiles an already decoded image; see {@link #preprocess(byte[], int, int, boolean)}. */
    public PreprocessedImage preprocess(RgbImage image, int minTiles, int maxTiles, boolean thumbnail) {
        TileGrid grid = TileGrid.choose(image.width(), image.height(), minTiles, maxTiles, tileSize);
        RgbImage resized = BicubicResampler.resize(image, grid.cols() * tileSize, grid.rows() * tileSize);
        List<RgbImage> tiles = new ArrayList<>(grid.tiles() + 1);
        for (int row = 0; row < grid.rows(); row++) {
            for (int col = 0; col < grid.cols(); col++) {
                tiles.add(grid.tiles() == 1 ? resized : resized.crop(col * tileSize, row * tileSize, tileSize, tileSize));
            }
        }
        boolean addThumbnail = grid.hasThumbnail(thumbnail);
        if (addThumbnail) {
            tiles.add(BicubicResampler.resize(image, tileSize, tileSize));
        }
        return new PreprocessedImage(image.width(), image.height(), grid, addThumbnail, tileSize, tiles);
    }
}
