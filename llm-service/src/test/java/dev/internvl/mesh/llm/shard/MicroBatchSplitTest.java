package dev.internvl.mesh.llm.shard;

import dev.internvl.mesh.model.llm.LayerStack;
import dev.internvl.mesh.model.llm.StepLayout;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** How a pass is cut into micro-batches for the shards, and how the rows it wants back are found in them. */
class MicroBatchSplitTest {
    private static LayerStack.Pass decodePass(int sequences, int h, int[] outputRows) {
        List<StepLayout.Entry> entries = new ArrayList<>();
        for (int i = 0; i < sequences; i++) {
            entries.add(new StepLayout.Entry(new int[]{i}, 3, 1));
        }
        float[] x = new float[sequences * h];
        for (int i = 0; i < x.length; i++) {
            x[i] = i;
        }
        return new LayerStack.Pass(new StepLayout(entries), x, outputRows);
    }

    @Test
    void aSmallDecodeBatchTravelsWhole() {
        List<ShardedLayers.MicroBatch> out = new ArrayList<>();
        ShardedLayers.split(0, decodePass(16, 2, range(0, 16)), 4, 2, out);
        assertEquals(1, out.size(), "16 rows are bound by the weight reads: splitting would only repeat them");
        assertArrayEquals(range(0, 16), out.getFirst().outputRows());
    }

    @Test
    void aLargeDecodeBatchIsSplitAndItsOutputRowsFollowTheirSequences() {
        List<ShardedLayers.MicroBatch> out = new ArrayList<>();
        int[] wanted = {0, 5, 60, 99, 150, 191};
        ShardedLayers.split(7, decodePass(192, 2, wanted), 4, 2, out);
        assertEquals(4, out.size());
        int[] sizes = out.stream().mapToInt(b -> b.entries().size()).toArray();
        assertArrayEquals(new int[]{48, 48, 48, 48}, sizes);
        assertArrayEquals(new int[]{0, 5}, out.get(0).outputRows());
        assertArrayEquals(new int[]{12}, out.get(1).outputRows());
        assertArrayEquals(new int[]{3}, out.get(2).outputRows());
        assertArrayEquals(new int[]{6, 47}, out.get(3).outputRows());
        assertEquals(7, out.get(2).pass());
        assertEquals(96 * 2, out.get(2).input()[0], "each group carries its own rows of the input");
    }

    private static int[] range(int from, int to) {
        return java.util.stream.IntStream.range(from, to).toArray();
    }
}
