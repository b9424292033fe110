package dev.internvl.mesh.model.vision;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.ModelConfig;
import dev.internvl.mesh.checkpoint.VisionConfig;
import dev.internvl.mesh.checkpoint.WeightSchema;
import dev.internvl.mesh.compute.Activations;
import dev.internvl.mesh.compute.Attention;
import dev.internvl.mesh.compute.ComputePool;
import dev.internvl.mesh.compute.Elementwise;
import dev.internvl.mesh.compute.FloatColumns;
import dev.internvl.mesh.compute.FloatRows;
import dev.internvl.mesh.compute.MatMul;
import dev.internvl.mesh.compute.Norms;
import dev.internvl.mesh.compute.Precision;
import dev.internvl.mesh.compute.RowLocator;
import dev.internvl.mesh.compute.WeightMatrix;
import dev.internvl.mesh.model.WeightReader;

import java.util.ArrayList;
import java.util.List;

/**
 * InternViT plus the mlp1 projector: 448 px tiles in, {@code [tiles, 256, llm hidden]} visual embeddings out.
 * Handles both published variants (300M: LayerNorm and a qkv bias; 6B: RMSNorm, no qkv bias, and q/k RMSNorm over
 * all heads). All tiles of a call go through every matrix product together.
 */
public final class VisionEncoder {
    /** nn.LayerNorm's default, which mlp1 uses whatever layer_norm_eps says. */
    private static final float PROJECTOR_NORM_EPS = 1e-5f;

    private final ComputePool pool;
    private final Precision precision;
    private final ModelConfig config;
    private final VisionConfig vision;
    private final WeightMatrix patchWeight;
    private final float[] patchBias;
    private final float[] classEmbedding;
    private final float[] positionEmbedding;
    private final List<EncoderLayer> layers;
    private final float[] projectorNormWeight;
    private final float[] projectorNormBias;
    private final WeightMatrix projectorIn;
    private final float[] projectorInBias;
    private final WeightMatrix projectorOut;
    private final float[] projectorOutBias;

    /** One encoder layer's weights; norms are LayerNorm when their bias is present, RMSNorm otherwise. */
    private record EncoderLayer(float[] norm1Weight, float[] norm1Bias, WeightMatrix qkv, float[] qkvBias,
                                float[] qNorm, float[] kNorm, WeightMatrix proj, float[] projBias, float[] ls1,
                                float[] norm2Weight, float[] norm2Bias, WeightMatrix fc1, float[] fc1Bias,
                                WeightMatrix fc2, float[] fc2Bias, float[] ls2) {
        static EncoderLayer read(WeightReader w, int i) {
            return new EncoderLayer(
                    w.vector(WeightSchema.visionLayer(i, "norm1.weight")),
                    w.optionalVector(WeightSchema.visionLayer(i, "norm1.bias")),
                    w.matrix(WeightSchema.visionLayer(i, "attn.qkv.weight")),
                    w.optionalVector(WeightSchema.visionLayer(i, "attn.qkv.bias")),
                    w.optionalVector(WeightSchema.visionLayer(i, "attn.q_norm.weight")),
                    w.optionalVector(WeightSchema.visionLayer(i, "attn.k_norm.weight")),
                    w.matrix(WeightSchema.visionLayer(i, "attn.proj.weight")),
                    w.vector(WeightSchema.visionLayer(i, "attn.proj.bias")),
                    w.vector(WeightSchema.visionLayer(i, "ls1")),
                    w.vector(WeightSchema.visionLayer(i, "norm2.weight")),
                    w.optionalVector(WeightSchema.visionLayer(i, "norm2.bias")),
                    w.matrix(WeightSchema.visionLayer(i, "mlp.fc1.weight")),
                    w.vector(WeightSchema.visionLayer(i, "mlp.fc1.bias")),
                    w.matrix(WeightSchema.visionLayer(i, "mlp.fc2.weight")),
                    w.vector(WeightSchema.visionLayer(i, "mlp.fc2.bias")),
                    w.vector(WeightSchema.visionLayer(i, "ls2")));
        }
    }

    private VisionEncoder(ComputePool pool, Precision precision, ModelConfig config, WeightReader w) {
        this.pool = pool;
        this.precision = precision;
        this.config = config;
        this.vision = config.vision();
        String embeddings = WeightSchema.VISION + "embeddings.";
        this.patchWeight = w.matrix(embeddings + "patch_embedding.weight");
        this.patchBias = w.vector(embeddings + "patch_embedding.bias");
        this.classEmbedding = w.vector(embeddings + "class_embedding");
        this.positionEmbedding = w.vector(embeddings + "position_embedding");
        List<EncoderLayer> list = new ArrayList<>();
        for (int i = 0; i <= config.visionOutputLayer(); i++) {
            list.add(EncoderLayer.read(w, i));
        }
        this.layers = List.copyOf(list);
        this.projectorNormWeight = w.vector("mlp1.0.weight");
        this.projectorNormBias = w.vector("mlp1.0.bias");
        this.projectorIn = w.matrix("mlp1.1.weight");
        this.projectorInBias = w.vector("mlp1.1.bias");
        this.projectorOut = w.matrix("mlp1.3.weight");
        this.projectorOutBias = w.vector("mlp1.3.bias");
    }

    /** The encoder on the shared pool and the {@link Precision#configured() configured} numeric path. */
    public static VisionEncoder load(Checkpoint checkpoint) {
        return load(checkpoint, ComputePool.shared(), Precision.configured());
    }

    public static VisionEncoder load(Checkpoint checkpoint, ComputePool pool) {
        return load(checkpoint, pool, Precision.configured());
    }

    public static VisionEncoder load(Checkpoint checkpoint, ComputePool pool, Precision precision) {
        return new VisionEncoder(pool, precision, checkpoint.config(), new WeightReader(checkpoint.weights()));
    }

    public Precision precision() {
        return precision;
    }

    /** Side of the square tiles the encoder takes, in pixels (448). */
    public int tileSize() {
        return vision.imageSize();
    }

    /** Visual tokens each tile becomes (256). */
    public int tokensPerTile() {
        return config.numImageTokens();
    }

    /** Width of each visual token: the language model's hidden size. */
    public int embeddingDim() {
        return config.llm().hiddenSize();
    }

    /** See {@link #encode(float[], int, VisionObserver)}. */
    public float[] encode(float[] pixelValues, int tiles) {
        return encode(pixelValues, tiles, VisionObserver.NONE);
    }

    /**
     * Encodes normalised tiles {@code pixelValues [tiles, 3, size, size]} into visual embeddings
     * {@code [tiles, tokensPerTile, embeddingDim]}, reporting intermediates to {@code observer}.
     */
    public float[] encode(float[] pixelValues, int tiles, VisionObserver observer) {
        int size = vision.imageSize();
        if (tiles < 1 || pixelValues.length != tiles * 3 * size * size) {
            throw new IllegalArgumentException(pixelValues.length + " pixel values are not " + tiles + " tiles of 3 x "
                    + size + " x " + size);
        }
        int tokens = vision.sequenceLength();
        int c = vision.hiddenSize();
        float[] x = embed(pixelValues, tiles);
        observer.embeddings(x, tiles, tokens, c);
        LayerBuffers buffers = new LayerBuffers(tiles * tokens, c, vision.intermediateSize());
        for (EncoderLayer layer : layers) {
            forward(layer, x, tiles, buffers);
        }
        observer.encoderOutput(x, tiles, tokens, c);
        float[] shuffled = pixelUnshuffle(x, tiles);
        observer.pixelShuffled(shuffled, tiles, tokensPerTile(), config.projectorInputSize());
        return project(shuffled, tiles * tokensPerTile());
    }

    /** Patch convolution as one product over unfolded patches, then the class token and position embeddings. */
    private float[] embed(float[] pixels, int tiles) {
        int size = vision.imageSize();
        int patch = vision.patchSize();
        int grid = vision.gridSize();
        int patchLength = 3 * patch * patch;
        int c = vision.hiddenSize();
        int tokens = vision.sequenceLength();
        float[] patches = new float[tiles * grid * grid * patchLength];
        pool.parallelFor(tiles * grid, task -> {
            int t = task / grid;
            int py = task % grid;
            for (int px = 0; px < grid; px++) {
                int row = ((t * grid + py) * grid + px) * patchLength;
                for (int ch = 0; ch < 3; ch++) {
                    for (int ky = 0; ky < patch; ky++) {
                        int src = ((t * 3 + ch) * size + py * patch + ky) * size + px * patch;
                        System.arraycopy(pixels, src, patches, row + (ch * patch + ky) * patch, patch);
                    }
                }
            }
        });
        float[] x = new float[tiles * tokens * c];
        // Patch outputs land directly in rows 1.. of each tile's sequence; row 0 is the class token.
        for (int t = 0; t < tiles; t++) {
            MatMul.matmul(pool, precision, patches, t * grid * grid * patchLength, patchLength, grid * grid, patchWeight, patchBias,
                    x, (t * tokens + 1) * c, c, false);
            System.arraycopy(classEmbedding, 0, x, t * tokens * c, c);
            Elementwise.add(x, t * tokens * c, positionEmbedding, 0, tokens * c);
        }
        return x;
    }

    /** Working arrays of one encode call, reused by every layer. */
    private static final class LayerBuffers {
        final float[] normed;
        final float[] qkv;
        final float[] attention;
        final float[] projected;
        final float[] hidden;

        LayerBuffers(int rows, int c, int intermediate) {
            normed = new float[rows * c];
            qkv = new float[rows * 3 * c];
            attention = new float[rows * c];
            projected = new float[rows * c];
            hidden = new float[rows * intermediate];
        }
    }

    private void forward(EncoderLayer layer, float[] x, int tiles, LayerBuffers b) {
        int c = vision.hiddenSize();
        int tokens = vision.sequenceLength();
        int rows = tiles * tokens;
        float eps = (float) vision.layerNormEps();

        norm(x, rows, layer.norm1Weight(), layer.norm1Bias(), b.normed);
        MatMul.linear(pool, precision, b.normed, rows, layer.qkv(), layer.qkvBias(), b.qkv);
        if (layer.qNorm() != null) {
            // One RMSNorm over all heads together (width C), before the split into heads.
            Norms.rmsNorm(pool, b.qkv, 0, 3 * c, rows, c, layer.qNorm(), eps, b.qkv, 0, 3 * c);
            Norms.rmsNorm(pool, b.qkv, c, 3 * c, rows, c, layer.kNorm(), eps, b.qkv, c, 3 * c);
        }
        attend(b.qkv, tiles, b.attention);
        MatMul.linear(pool, precision, b.attention, rows, layer.proj(), layer.projBias(), b.projected);
        Elementwise.addScaled(pool, x, b.projected, layer.ls1(), rows, c);

        norm(x, rows, layer.norm2Weight(), layer.norm2Bias(), b.normed);
        MatMul.linear(pool, precision, b.normed, rows, layer.fc1(), layer.fc1Bias(), b.hidden);
        Activations.gelu(pool, b.hidden, 0, rows * vision.intermediateSize());
        MatMul.linear(pool, precision, b.hidden, rows, layer.fc2(), layer.fc2Bias(), b.projected);
        Elementwise.addScaled(pool, x, b.projected, layer.ls2(), rows, c);
    }

    private void norm(float[] x, int rows, float[] weight, float[] bias, float[] out) {
        int c = vision.hiddenSize();
        float eps = (float) vision.layerNormEps();
        if (vision.normType() == VisionConfig.NormType.LAYER_NORM) {
            Norms.layerNorm(pool, x, rows, c, weight, bias, eps, out);
        } else {
            Norms.rmsNorm(pool, x, rows, c, weight, eps, out);
        }
    }

    /** Full (unmasked) attention within each tile, one task per (tile, head). */
    private void attend(float[] qkv, int tiles, float[] out) {
        int c = vision.hiddenSize();
        int heads = vision.numHeads();
        int d = vision.headDim();
        int tokens = vision.sequenceLength();
        int stride = 3 * c;
        float scale = (float) Math.pow(d, -0.5);
        pool.parallelFor(tiles * heads, task -> {
            int t = task / heads;
            int h = task % heads;
            int base = t * tokens * stride + h * d;
            var keys = new FloatRows(qkv, RowLocator.strided(base + c, stride), tokens, d);
            var values = new FloatColumns(qkv, RowLocator.strided(base + 2 * c, stride), d, tokens);
            Attention.attend(pool, qkv, base, stride, tokens, keys, values, tokens, null, scale,
                    out, t * tokens * c + h * d, c);
        });
    }

    /**
     * Drops the class token and merges each k x k block of patches (k = 1/downsample_ratio) into one token of k^2 C
     * channels: channel {@code (k*dy + dx) * C + c} of output token (i, j) is channel c of patch
     * {@code (k*i + dy, k*j + dx)}. Output tokens are numbered {@code i * side + j} for ps_version v2 and
     * {@code j * side + i} (the transpose) for v1.
     */
    private float[] pixelUnshuffle(float[] x, int tiles) {
        int c = vision.hiddenSize();
        int grid = vision.gridSize();
        int tokens = vision.sequenceLength();
        int k = (int) Math.round(1.0 / config.downsampleRatio());
        int side = grid / k;
        int outDim = k * k * c;
        boolean transpose = config.psVersion() == ModelConfig.PixelShuffleVersion.V1;
        float[] out = new float[tiles * side * side * outDim];
        for (int t = 0; t < tiles; t++) {
            for (int i = 0; i < side; i++) {
                for (int j = 0; j < side; j++) {
                    int token = transpose ? j * side + i : i * side + j;
                    int dst = (t * side * side + token) * outDim;
                    for (int dy = 0; dy < k; dy++) {
                        for (int dx = 0; dx < k; dx++) {
                            int patch = (k * i + dy) * grid + (k * j + dx);
                            int src = (t * tokens + 1 + patch) * c;
                            System.arraycopy(x, src, out, dst + (k * dy + dx) * c, c);
                        }
                    }
                }
            }
        }
        return out;
    }

    /** mlp1: LayerNorm (eps 1e-5), Linear, exact GELU, Linear. */
    private float[] project(float[] shuffled, int rows) {
        int in = config.projectorInputSize();
        int h = config.llm().hiddenSize();
        float[] normed = new float[rows * in];
        Norms.layerNorm(pool, shuffled, rows, in, projectorNormWeight, projectorNormBias, PROJECTOR_NORM_EPS, normed);
        float[] hidden = new float[rows * h];
        MatMul.linear(pool, precision, normed, rows, projectorIn, projectorInBias, hidden);
        Activations.gelu(pool, hidden, 0, rows * h);
        float[] out = new float[rows * h];
        MatMul.linear(pool, precision, hidden, rows, projectorOut, projectorOutBias, out);
        return out;
    }
}
