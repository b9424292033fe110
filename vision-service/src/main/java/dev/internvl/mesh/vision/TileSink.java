package dev.internvl.mesh.vision;

/**
 * Where one request's tiles go: each tile in order, then exactly one of {@link #completed()} or {@link #failed}.
 * Once the request is cancelled the sink hears nothing more, save perhaps a tile already on its way. Calls come
 * one at a time, but not always from the same thread.
 */
public interface TileSink {
    void tile(ImageKey key, EncodedTile tile);

    void completed();

    /**
     * The request cannot finish: {@link dev.internvl.mesh.image.ImageException} for an image that cannot be used,
     * {@link java.util.concurrent.RejectedExecutionException} while the service shuts down, anything else for a
     * failure of the service itself.
     */
    void failed(Throwable error);
}
