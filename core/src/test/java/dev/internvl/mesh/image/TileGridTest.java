package dev.internvl.mesh.image;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TileGridTest {
    private static TileGrid grid(int w, int h, int min, int max) {
        return TileGrid.choose(w, h, min, max, 448);
    }

    @Test
    void largeSquareImagesGetMoreTilesThroughTheAreaTieBreak() {
        // 1x1, 2x2 and 3x3 are all exactly square; a later equal candidate wins when the image has more than half
        // its pixels: 1411^2 > 0.5 * 448^2 * 9, so 3x3 at max 12; 2x2 is the largest square grid at max 6.
        assertEquals(new TileGrid(3, 3), grid(1411, 1411, 1, 12));
        assertEquals(new TileGrid(2, 2), grid(1411, 1411, 1, 6));
        assertEquals(new TileGrid(1, 1), grid(512, 512, 1, 12)); // 512^2 < 0.5 * 448^2 * 4
        assertEquals(new TileGrid(2, 2), grid(634, 634, 1, 12)); // 634^2 > 0.5 * 448^2 * 4, < 0.5 * 448^2 * 9
    }

    @Test
    void aspectRatiosOfTheGoldenCases() {
        assertEquals(new TileGrid(3, 2), grid(451, 300, 1, 12));
        assertEquals(new TileGrid(3, 2), grid(37, 23, 1, 12));
        assertEquals(new TileGrid(1, 2), grid(210, 400, 1, 12));
        assertEquals(new TileGrid(3, 1), grid(600, 200, 1, 12));
        assertEquals(new TileGrid(2, 1), grid(512, 256, 1, 12));
    }

    @Test
    void wideAndTallExtremesUseEveryAllowedTile() {
        assertEquals(new TileGrid(12, 1), grid(1600, 90, 1, 12));
        assertEquals(new TileGrid(6, 1), grid(1600, 90, 1, 6));
        assertEquals(new TileGrid(1, 9), grid(120, 1100, 1, 12));
        assertEquals(new TileGrid(1, 12), grid(1, 10000, 1, 12));
        assertEquals(new TileGrid(12, 1), grid(10000, 1, 1, 12));
        assertEquals(new TileGrid(1, 1), grid(10000, 1, 1, 1));
    }

    @Test
    void minTilesExcludesSmallGrids() {
        assertEquals(new TileGrid(2, 2), grid(448, 448, 4, 12));
        assertEquals(new TileGrid(2, 3), grid(4000, 4000, 6, 6)); // 2/3 is closer to 1 than 3/2
    }

    /** Equal distances within one tile count: the reference's set order decides (checked against CPython 3.11). */
    @Test
    void tiesWithinOneTileCountFollowTheReferenceOrder() {
        // 2.5 is exactly between 4x1 (4.0) and 2x2 (1.0); the reference visits 4x1, 1x4, then 2x2.
        assertEquals(new TileGrid(4, 1), grid(250, 100, 4, 4)); // too small for the tie-break
        assertEquals(new TileGrid(2, 2), grid(2240, 896, 4, 4)); // large: the later 2x2 wins
        assertEquals("[[4, 1], [1, 4], [2, 2]]", Arrays.deepToString(CandidateOrder.of(4, 4)));
        assertEquals("[[1, 1], [1, 2], [2, 1], [3, 1], [1, 3], [2, 2], [4, 1], [1, 4], [5, 1], [1, 5], [1, 6], [6, 1],"
                        + " [3, 2], [2, 3], [7, 1], [1, 7], [4, 2], [2, 4], [1, 8], [8, 1], [1, 9], [3, 3], [9, 1], [2, 5],"
                        + " [5, 2], [10, 1], [1, 10], [11, 1], [1, 11], [12, 1], [3, 4], [4, 3], [1, 12], [6, 2], [2, 6]]",
                Arrays.deepToString(CandidateOrder.of(1, 12)));
    }

    @Test
    void boundsThatMakeNoSenseAreRefused() {
        assertEquals("min tiles must be at least 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> grid(100, 100, 0, 12)).getMessage());
        assertEquals("max tiles (3) must not be below min tiles (4)",
                assertThrows(IllegalArgumentException.class, () -> grid(100, 100, 4, 3)).getMessage());
        assertEquals("max tiles must be at most 128, got 1000",
                assertThrows(IllegalArgumentException.class, () -> grid(100, 100, 1, 1000)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> TileGrid.choose(0, 100, 1, 12, 448));
        assertThrows(IllegalArgumentException.class, () -> new TileGrid(0, 1));
    }
}
