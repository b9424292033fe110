package dev.internvl.mesh.sampling;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplingParamsTest {

    @Test
    void defaultsSampleTheModelsOwnDistributionWithoutLimits() {
        SamplingParams p = SamplingParams.defaults();
        assertEquals(1.0, p.temperature());
        assertEquals(0, p.topK());
        assertEquals(1.0, p.topP());
        assertEquals(1.0, p.repetitionPenalty());
        assertEquals(OptionalLong.empty(), p.seed());
        assertEquals(SamplingParams.DEFAULT_MAX_NEW_TOKENS, p.maxNewTokens());
        assertEquals(List.of(), p.stopTokenIds());
        assertEquals(List.of(), p.stopStrings());
        assertEquals(0, p.topLogprobs());
        assertFalse(p.logprobs());
        assertFalse(p.reportsLogprobs());
        assertFalse(p.greedy());
    }

    @Test
    void boundaryValuesAreAccepted() {
        SamplingParams p = SamplingParams.builder()
                .temperature(0).topK(1).topP(1e-9).repetitionPenalty(1e-3).seed(-1).maxNewTokens(1)
                .stopTokenIds(List.of(0, 151645)).stopStrings(List.of("a", "b", "c", "d")).topLogprobs(20)
                .build();
        assertTrue(p.greedy());
        assertEquals(OptionalLong.of(-1), p.seed());
        SamplingParams.builder().temperature(2).topP(1).repetitionPenalty(1e6).build();
    }

    @Test
    void listsAreCopiedAndImmutable() {
        List<String> stops = new ArrayList<>(List.of("x"));
        SamplingParams p = SamplingParams.builder().stopStrings(stops).build();
        stops.add("y");
        assertEquals(List.of("x"), p.stopStrings());
        assertThrows(UnsupportedOperationException.class, () -> p.stopStrings().add("z"));
        assertThrows(UnsupportedOperationException.class, () -> p.stopTokenIds().add(1));
    }

    @Test
    void toBuilderRoundTrips() {
        SamplingParams p = SamplingParams.builder().temperature(0.7).topK(40).topP(0.9).repetitionPenalty(1.1)
                .seed(7).maxNewTokens(64).stopTokenIds(List.of(2)).stopStrings(List.of("\n\n")).topLogprobs(5)
                .logprobs(true).build();
        assertEquals(p, p.toBuilder().build());
        assertEquals(OptionalLong.empty(), SamplingParams.defaults().toBuilder().build().seed());
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                bad(b -> b.temperature(-0.1), "temperature must be between 0 and 2 (0 means greedy), got -0.1"),
                bad(b -> b.temperature(2.5), "temperature must be between 0 and 2 (0 means greedy), got 2.5"),
                bad(b -> b.temperature(Double.NaN), "temperature must be between 0 and 2 (0 means greedy), got NaN"),
                bad(b -> b.topK(-1), "top_k must be 0 (off) or a positive integer, got -1"),
                bad(b -> b.topP(0), "top_p must be greater than 0 and at most 1 (1 means off), got 0.0"),
                bad(b -> b.topP(1.01), "top_p must be greater than 0 and at most 1 (1 means off), got 1.01"),
                bad(b -> b.topP(Double.NaN), "top_p must be greater than 0 and at most 1 (1 means off), got NaN"),
                bad(b -> b.repetitionPenalty(0),
                        "repetition_penalty must be a finite number greater than 0 (1 means off), got 0.0"),
                bad(b -> b.repetitionPenalty(-1.2),
                        "repetition_penalty must be a finite number greater than 0 (1 means off), got -1.2"),
                bad(b -> b.repetitionPenalty(Double.POSITIVE_INFINITY),
                        "repetition_penalty must be a finite number greater than 0 (1 means off), got Infinity"),
                bad(b -> b.repetitionPenalty(Double.NaN),
                        "repetition_penalty must be a finite number greater than 0 (1 means off), got NaN"),
                bad(b -> b.maxNewTokens(0), "max_new_tokens must be at least 1, got 0"),
                bad(b -> b.maxNewTokens(-5), "max_new_tokens must be at least 1, got -5"),
                bad(b -> b.stopTokenIds(List.of(3, -1)),
                        "stop_token_ids must hold non-negative token ids, got -1 at index 1"),
                bad(b -> b.stopTokenIds(Arrays.asList(3, null)),
                        "stop_token_ids must hold non-negative token ids, got null at index 1"),
                bad(b -> b.stopTokenIds(null), "stop_token_ids must be a list (empty for none), not null"),
                bad(b -> b.stopStrings(List.of("a", "b", "c", "d", "e")), "stop may hold at most 4 strings, got 5"),
                bad(b -> b.stopStrings(List.of("ok", "")), "stop strings must not be empty, got \"\" at index 1"),
                bad(b -> b.stopStrings(Arrays.asList((String) null)),
                        "stop strings must not be empty, got null at index 0"),
                bad(b -> b.stopStrings(null), "stop must be a list (empty for none), not null"),
                bad(b -> b.topLogprobs(-1), "top_logprobs must be between 0 and 20, got -1"),
                bad(b -> b.topLogprobs(21), "top_logprobs must be between 0 and 20, got 21"));
    }

    private static Arguments bad(UnaryOperator<SamplingParams.Builder> change, String message) {
        return Arguments.of(message, change);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource
    void invalid(String message, UnaryOperator<SamplingParams.Builder> change) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> change.apply(SamplingParams.builder()).build());
        assertEquals(message, e.getMessage());
    }

    @Test
    void nullSeedIsRejectedByTheCanonicalConstructor() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SamplingParams(1, 0, 1, 1, null, 16, List.of(), List.of(), 0, false));
        assertEquals("seed must be given as OptionalLong.empty() when absent, not null", e.getMessage());
    }
}
