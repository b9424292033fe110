package dev.internvl.mesh.compute;

/** Where row {@code r} of a matrix held in a heap array starts: a fixed stride, or a lookup (a paged KV cache). */
@FunctionalInterface
public interface RowLocator {
    int offset(int row);

    static RowLocator strided(int base, int stride) {
        return row -> base + row * stride;
    }
}
