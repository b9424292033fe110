package dev.internvl.mesh.image;

import java.util.List;

/**
 * One image ready for the vision tower: its tiles in the order the model reads them (the grid row by row, left to
 * right, then the thumbnail of the whole image when there is one), each {@code tileSize x tileSize} 8-bit RGB.
 *
 * @param width        the decoded image's width
 * @param height       the decoded image's height
 * @param grid         the tile grid the image was resized to
 * @param hasThumbnail whether the last tile is a thumbnail of the whole image
 * @param tileSize     the side of every tile, in pixels
 * @param tiles        the tiles, grid first, thumbnail last
 */
public record PreprocessedImage(int width, int height, TileGrid grid, boolean hasThumbnail, int tileSize,
                                List<RgbImage> tiles) {
    public PreprocessedImage {
        tiles = List.copyOf(tiles);
        if (tiles.size() != grid.tiles() + (hasThumbnail ? 1 : 0)) {
            throw new IllegalArgumentException(tiles.size() + " tiles for a " + grid.cols() + "x" + grid.rows()
                    + " grid" + (hasThumbnail ? " and a thumbnail" : ""));
        }
        for (RgbImage t : tiles) {
            if (t.width() != tileSize || t.height() != tileSize) {
                throw new IllegalArgumentException("tile of " + t.width() + "x" + t.height() + ", expected " + tileSize);
            }
        }
    }

    public int numTiles() {
        return tiles.size();
    }

    /** The model input {@code pixel_values}, float32 laid out {@code [numTiles, 3, tileSize, tileSize]}, ImageNet-normalised. */
    public float[] pixelValues() {
        return pixelValues(PixelNormalizer.IMAGENET);
    }

    public float[] pixelValues(PixelNormalizer normalizer) {
        int perTile = 3 * tileSize * tileSize;
        float[] out = new float[Math.multiplyExact(numTiles(), perTile)];
        for (int t = 0; t < tiles.size(); t++) {
            normalizer.writePlanar(tiles.get(t), out, t * perTile);
        }
        return out;
    }
}
