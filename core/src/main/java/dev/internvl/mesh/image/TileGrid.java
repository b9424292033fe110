package dev.internvl.mesh.image;

/**
 * How InternVL's {@code dynamic_preprocess} splits an image: {@code cols x rows} tiles of {@code tileSize} pixels.
 *
 * @param cols tiles across
 * @param rows tiles down
 */
public record TileGrid(int cols, int rows) {
    /**
     * The most tiles one image may ask for. InternVL 2.5 uses at most 12 (up to 40 in some evaluations); the bound
     * keeps a request from blowing a small image up to thousands of tiles (a 1600x90 image at max 10000 would become
     * 160x9 tiles, 290 million pixels).
     */
    public static final int MAX_TILES = 128;

    public TileGrid {
        if (cols <= 0 || rows <= 0) {
            throw new IllegalArgumentException("a tile grid needs at least one column and one row, got " + cols + "x" + rows);
        }
    }

    public int tiles() {
        return cols * rows;
    }

    /** Whether a thumbnail follows the grid tiles: only when thumbnails are on and the grid has several tiles. */
    public boolean hasThumbnail(boolean thumbnails) {
        return thumbnails && tiles() != 1;
    }

    /** Tiles the vision tower sees for this grid: the grid's and, where there is one, the thumbnail. */
    public int tilesWithThumbnail(boolean thumbnails) {
        return tiles() + (hasThumbnail(thumbnails) ? 1 : 0);
    }

    /**
     * The model card's {@code find_closest_aspect_ratio}: among all grids with {@code minTiles <= cols*rows <=
     * maxTiles}, visited by increasing tile count (within one count in the reference's order, see
     * {@link CandidateOrder}), the one whose cols/rows is closest to width/height. An exactly equal distance
     * replaces the best so far only when the image has more than half the pixels of the later grid at
     * {@code tileSize}, so large images get more tiles (1411x1411 gives 3x3 at max 12, not 1x1).
     *
     * @throws IllegalArgumentException when the bounds make no sense (min below 1, max below min or above
     *                                  {@link #MAX_TILES}, size not positive)
     */
    public static TileGrid choose(int width, int height, int minTiles, int maxTiles, int tileSize) {
        validate(minTiles, maxTiles);
        if (width <= 0 || height <= 0 || tileSize <= 0) {
            throw new IllegalArgumentException("image size and tile size must be positive, got " + width + "x" + height
                    + " and tile " + tileSize);
        }
        double aspect = (double) width / height;
        long area = (long) width * height;
        double bestDiff = Double.POSITIVE_INFINITY;
        int bestCols = 1;
        int bestRows = 1;
        for (int[] candidate : CandidateOrder.of(minTiles, maxTiles)) {
            int cols = candidate[0];
            int rows = candidate[1];
            double diff = Math.abs(aspect - (double) cols / rows);
            if (diff < bestDiff) {
                bestDiff = diff;
                bestCols = cols;
                bestRows = rows;
            } else if (diff == bestDiff && area > 0.5 * tileSize * tileSize * cols * rows) {
                bestCols = cols;
                bestRows = rows;
            }
        }
        return new TileGrid(bestCols, bestRows);
    }

    /** Checks a request's tile bounds, with a message that names the bad value. */
    public static void validate(int minTiles, int maxTiles) {
        if (minTiles < 1) {
            throw new IllegalArgumentException("min tiles must be at least 1, got " + minTiles);
        }
        if (maxTiles < minTiles) {
            throw new IllegalArgumentException("max tiles (" + maxTiles + ") must not be below min tiles (" + minTiles + ")");
        }
        if (maxTiles > MAX_TILES) {
            throw new IllegalArgumentException("max tiles must be at most " + MAX_TILES + ", got " + maxTiles);
        }
    }
}
