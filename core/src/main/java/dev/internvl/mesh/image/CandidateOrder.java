package dev.internvl.mesh.image;

import java.util.Arrays;

/**
 * The order in which the model card's {@code dynamic_preprocess} visits candidate grids: it builds a Python
 * {@code set} of (cols, rows) tuples and sorts it by cols*rows, so grids with the same tile count come in the set's
 * iteration order, which is CPython's hash-table layout. The order decides the result only when two such grids are
 * exactly equally close to the image's aspect ratio and no allowed grid is closer, which needs min tiles above 1
 * (2240x896 at min = max = 4: 4x1 and 2x2 are equally close; the reference visits 2x2 after 4x1 and, the image
 * being large, takes it). To be exact
 * there too, this replays CPython 3.11's set insertion (the Python of the reference, Debian bookworm): the tuple
 * hash (xxHash-based, since 3.8), open addressing with 9 linear probes then perturbed probing, and the table growth.
 */
final class CandidateOrder {
    private static final long XXPRIME_1 = 0x9E3779B185EBCA87L;
    private static final long XXPRIME_2 = 0xC2B2AE3D27D4EB4FL;
    private static final long XXPRIME_5 = 0x27D4EB2F165667C5L;
    private static final int LINEAR_PROBES = 9;
    private static final int PERTURB_SHIFT = 5;

    private CandidateOrder() {
    }

    /** The candidate grids as {cols, rows} pairs, in the reference's visiting order. */
    static int[][] of(int minTiles, int maxTiles) {
        PySet set = new PySet();
        // The generator yields (i, j) for n in [min, max], i and j in [1, n]; a tuple is inserted when first
        // yielded (later repeats find it present), so only first appearances are replayed, in the same order.
        for (int n = minTiles; n <= maxTiles; n++) {
            for (int i = 1; i <= n; i++) {
                // New at this n (above min): the tuples with i == n or j == n.
                for (int j = n == minTiles || i == n ? 1 : n; j <= n; j++) {
                    if (i * j >= minTiles && i * j <= maxTiles) {
                        set.add(i, j);
                    }
                }
            }
        }
        int[][] order = set.iterationOrder();
        Arrays.sort(order, (a, b) -> Integer.compare(a[0] * a[1], b[0] * b[1])); // stable, like sorted()
        return order;
    }

    /** {@code hash((i, j))} for small non-negative ints, whose own hash is their value. */
    static long tupleHash(int i, int j) {
        long acc = XXPRIME_5;
        acc = Long.rotateLeft(acc + i * XXPRIME_2, 31) * XXPRIME_1;
        acc = Long.rotateLeft(acc + j * XXPRIME_2, 31) * XXPRIME_1;
        acc += 2 ^ (XXPRIME_5 ^ 3527539L); // the tuple's length, mangled as CPython does
        return acc == -1 ? 1546275796L : acc;
    }

    /** Just enough of CPython's set (Objects/setobject.c) to insert distinct keys and iterate. */
    private static final class PySet {
        private int[][] keys = new int[8][];
        private long[] hashes = new long[8];
        private int used;

        void add(int i, int j) {
            long hash = tupleHash(i, j);
            long mask = keys.length - 1;
            long perturb = hash;
            long slot = hash & mask;
            while (true) {
                int probes = slot + LINEAR_PROBES <= mask ? LINEAR_PROBES : 0;
                for (int p = 0; p <= probes; p++) {
                    int s = (int) slot + p;
                    if (keys[s] == null) {
                        keys[s] = new int[] {i, j};
                        hashes[s] = hash;
                        used++;
                        if ((long) used * 5 >= mask * 3) { // no deletions, so fill == used
                            resize(used * 4);
                        }
                        return;
                    }
                    if (keys[s][0] == i && keys[s][1] == j) {
                        return;
                    }
                }
                perturb >>>= PERTURB_SHIFT;
                slot = (slot * 5 + 1 + perturb) & mask;
            }
        }

        private void resize(int minUsed) {
            int size = 8;
            while (size <= minUsed) {
                size <<= 1;
            }
            int[][] oldKeys = keys;
            long[] oldHashes = hashes;
            keys = new int[size][];
            hashes = new long[size];
            for (int s = 0; s < oldKeys.length; s++) {
                if (oldKeys[s] != null) {
                    insertClean(oldKeys[s], oldHashes[s]);
                }
            }
        }

        private void insertClean(int[] key, long hash) {
            long mask = keys.length - 1;
            long perturb = hash;
            long slot = hash & mask;
            while (true) {
                int probes = slot + LINEAR_PROBES <= mask ? LINEAR_PROBES : 0;
                for (int p = 0; p <= probes; p++) {
                    int s = (int) slot + p;
                    if (keys[s] == null) {
                        keys[s] = key;
                        hashes[s] = hash;
                        return;
                    }
                }
                perturb >>>= PERTURB_SHIFT;
                slot = (slot * 5 + 1 + perturb) & mask;
            }
        }

        int[][] iterationOrder() {
            int[][] out = new int[used][];
            int n = 0;
            for (int[] k : keys) {
                if (k != null) {
                    out[n++] = k;
                }
            }
            return out;
        }
    }
}
