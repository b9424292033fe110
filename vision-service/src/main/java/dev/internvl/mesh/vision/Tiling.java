package dev.internvl.mesh.vision;

import dev.internvl.mesh.image.TileGrid;

/**
 * How one image is cut into tiles: the bounds of the grid's tile count and whether a thumbnail of the whole image
 * follows the grid (only when the grid has more than one tile).
 */
public record Tiling(int minTiles, int maxTiles, boolean thumbnail) {
    /** @throws IllegalArgumentException when the bounds are below 1, above {@link TileGrid#MAX_TILES} or crossed */
    public Tiling {
        TileGrid.validate(minTiles, maxTiles);
    }
}
