package dev.internvl.mesh.vision;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.model.vision.VisionEncoder;

/** The vision tower on the CPU: core's {@link VisionEncoder} over the checkpoint's memory-mapped weights. */
public final class CpuVisionEngine implements VisionEngine {
    private final VisionEncoder encoder;

    public CpuVisionEngine(VisionEncoder encoder) {
        this.encoder = encoder;
    }

    public static CpuVisionEngine load(Checkpoint checkpoint) {
        return new CpuVisionEngine(VisionEncoder.load(checkpoint));
    }

    @Override
    public int tileSize() {
        return encoder.tileSize();
    }

    @Override
    public int tokensPerTile() {
        return encoder.tokensPerTile();
    }

    @Override
    public int embeddingDim() {
        return encoder.embeddingDim();
    }

    @Override
    public float[] encode(float[] pixelValues, int tiles) {
        return encoder.encode(pixelValues, tiles);
    }
}
