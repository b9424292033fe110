package dev.internvl.mesh.serving;

import dev.internvl.mesh.checkpoint.ModelConfig;
import dev.internvl.mesh.proto.v1.ModelInfo;
import dev.internvl.mesh.proto.v1.TilingOptions;

/** What a tier tells callers about the model it serves, from the checkpoint's config. */
public final class ModelInfos {
    private ModelInfos() {
    }

    public static ModelInfo describe(ModelConfig config, String modelName) {
        return ModelInfo.newBuilder()
                .setModelName(modelName)
                .setLlmHiddenSize(config.llm().hiddenSize())
                .setVocabSize(config.llm().vocabSize())
                .setMaxContextTokens(config.llm().maxPositionEmbeddings())
                .setImageTokensPerTile(config.numImageTokens())
                .setTileSize(config.vision().imageSize())
                .setDefaultTiling(TilingOptions.newBuilder().setMinTiles(config.minDynamicPatch())
                        .setMaxTiles(config.maxDynamicPatch()).setUseThumbnail(config.useThumbnail()))
                .build();
    }
}
