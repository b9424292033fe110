package dev.internvl.mesh.llm;

import dev.internvl.mesh.engine.GenerationEngine;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;

/** The language tier's metrics, named as Prometheus conventions (and vLLM's) have them. */
final class LlmMetrics {
    final Counter requests;
    final Counter promptTokens;
    final Counter cachedPromptTokens;
    final Counter generationTokens;
    final Histogram timeToFirstToken;
    final Histogram timePerOutputToken;
    final Histogram e2eLatency;
    final Histogram decodeBatch;
    final Histogram stepDuration;

    LlmMetrics(PrometheusRegistry registry, GenerationEngine engine) {
        requests = Counter.builder().name("llm_requests_total")
                .help("Generate calls by final gRPC status code").labelNames("code").register(registry);
        promptTokens = Counter.builder().name("llm_prompt_tokens_total").help("Prompt tokens of finished requests").register(registry);
        cachedPromptTokens = Counter.builder().name("llm_prefix_cache_hit_tokens_total")
                .help("Prompt tokens whose KV blocks came from the prefix cache").register(registry);
        generationTokens = Counter.builder().name("llm_generation_tokens_total").help("Generated tokens").register(registry);
        timeToFirstToken = Histogram.builder().name("llm_time_to_first_token_seconds").unit(Unit.SECONDS)
                .help("From the call to its first generated token, image encoding included")
                .classicUpperBounds(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80).register(registry);
        timePerOutputToken = Histogram.builder().name("llm_time_per_output_token_seconds").unit(Unit.SECONDS)
                .help("Mean time between generated tokens of a request")
                .classicUpperBounds(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5).register(registry);
        e2eLatency = Histogram.builder().name("llm_request_duration_seconds").unit(Unit.SECONDS)
                .help("From the call to its end").register(registry);
        decodeBatch = Histogram.builder().name("llm_decode_batch_size")
                .help("Requests decoding a token together in one scheduler step")
                .classicUpperBounds(1, 2, 4, 8, 16, 32, 48, 64).register(registry);
        stepDuration = Histogram.builder().name("llm_step_duration_seconds").unit(Unit.SECONDS)
                .help("Scheduler steps: one decode pass and the step's prefill chunks").register(registry);
        engine.observeSteps((decodeSequences, prefillTokens, nanos) -> {
            if (decodeSequences > 0) {
                decodeBatch.observe(decodeSequences);
            }
            stepDuration.observe(nanos / 1e9);
        });
        GaugeWithCallback.builder().name("llm_running_requests").help("Requests in the running batch")
                .callback(cb -> cb.call(engine.stats().running())).register(registry);
        GaugeWithCallback.builder().name("llm_waiting_requests").help("Requests queued for admission")
                .callback(cb -> cb.call(engine.stats().waiting())).register(registry);
        GaugeWithCallback.builder().name("llm_kv_cache_usage_ratio").help("Share of KV cache blocks in use by requests")
                .callback(cb -> cb.call(1.0 - (double) engine.cache().freeBlocks() / engine.cache().blockCount())).register(registry);
        GaugeWithCallback.builder().name("llm_kv_cache_cached_blocks").help("Unused KV blocks kept for prefix reuse")
                .callback(cb -> cb.call(engine.cache().cachedBlocks())).register(registry);
        io.prometheus.metrics.core.metrics.CounterWithCallback.builder().name("llm_prefix_cache_hit_blocks_total")
                .help("KV blocks attached from the prefix cache instead of computed")
                .callback(cb -> cb.call(engine.cache().prefixHits())).register(registry);
        io.prometheus.metrics.core.metrics.CounterWithCallback.builder().name("llm_preemptions_total")
                .help("Requests whose KV blocks were freed to make room, to be recomputed")
                .callback(cb -> cb.call(engine.stats().preemptions())).register(registry);
        io.prometheus.metrics.core.metrics.CounterWithCallback.builder().name("llm_model_tokens_total")
                .help("Positions run through the model, prompt and generated")
                .callback(cb -> cb.call(engine.stats().tokensProcessed())).register(registry);
    }
}
