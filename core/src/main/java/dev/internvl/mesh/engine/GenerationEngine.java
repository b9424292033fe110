package dev.internvl.mesh.engine;

import dev.internvl.mesh.model.llm.ImageSplice;
import dev.internvl.mesh.model.llm.KvBlockPool;
import dev.internvl.mesh.model.llm.KvCacheFullException;
import dev.internvl.mesh.model.llm.KvSequence;
import dev.internvl.mesh.model.llm.LogitRows;
import dev.internvl.mesh.model.llm.Qwen2Model;
import dev.internvl.mesh.model.llm.StepInput;
import dev.internvl.mesh.model.llm.ForwardObserver;
import dev.internvl.mesh.sampling.FinishReason;
import dev.internvl.mesh.sampling.SampledToken;
import dev.internvl.mesh.sampling.Sampler;
import dev.internvl.mesh.sampling.StopChecker;
import dev.internvl.mesh.tokenizer.StreamDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Continuous batching over one {@link Qwen2Model} and its paged KV cache. A scheduler thread repeats one step:
 * drop cancelled requests, admit waiting ones while the cache has room, run one decode pass for every request that
 * has its prompt in the cache, and prefill chunks for the others within a token budget; then sample, detokenize and
 * report each new token. Requests join and leave between steps.
 *
 * <p>When the cache cannot grow a running request, the most recently admitted one is preempted: its blocks are
 * freed and it waits again at the head of the queue with its tokens so far, to be recomputed when blocks free up
 * (as vLLM does). Its listener notices nothing but a pause.
 *
 * <p>Each request's arithmetic is the same whatever else runs and whatever the prefix cache holds: decode tokens go
 * through one batched pass, prefill chunks through passes of their own that start at multiples of the chunk size,
 * and a cached prefix is reused in whole chunks. So greedy output through the serving tiers equals the embedded
 * engine's for the same request.
 */
public final class GenerationEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GenerationEngine.class);

    private final Qwen2Model model;
    private final KvBlockPool cache;
    private final EngineSettings settings;
    private final Supplier<StreamDecoder> decoders;
    private final int[] modelStopTokenIds;
    private final int maxContext;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition workArrived = lock.newCondition();
    private final Deque<Active> waiting = new ArrayDeque<>();
    private final ConcurrentLinkedQueue<Active> cancelled = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Throwable> aborts = new ConcurrentLinkedQueue<>();
    /** Scheduler thread only. */
    private final List<Active> running = new ArrayList<>();
    private final Thread scheduler;
    private volatile boolean closed;
    private final EngineStats stats = new EngineStats();
    private volatile StepObserver stepObserver = StepObserver.NONE;

    /**
     * @param decoders          a fresh detokenizer per request
     * @param modelStopTokenIds ids that end every generation (the template's end of turn)
     */
    public GenerationEngine(Qwen2Model model, KvBlockPool cache, EngineSettings settings,
                            Supplier<StreamDecoder> decoders, int[] modelStopTokenIds) {
        this.model = model;
        this.cache = cache;
        this.settings = settings;
        this.decoders = decoders;
        this.modelStopTokenIds = modelStopTokenIds.clone();
        this.maxContext = model.config().maxPositionEmbeddings();
        if (settings.prefillChunk() % cache.blockSize() != 0) {
            throw new IllegalArgumentException("the prefill chunk (" + settings.prefillChunk() + ") must be a multiple of the KV block size ("
                    + cache.blockSize() + ")");
        }
        this.scheduler = Thread.ofPlatform().name("generation-scheduler").daemon().start(this::loop);
    }

    /** A submitted request: cancel it to free its cache blocks at the next step. */
    public interface Handle {
        void cancel();
    }

    /**
     * Queues a request. Its listener hears every token, then exactly one of finished or failed.
     *
     * @throws IllegalArgumentException   a prompt that can never run here (longer than the context or the cache)
     * @throws EngineOverloadedException  the queue is full
     */
    public Handle submit(GenerationRequest request, GenerationListener listener) {
        int promptLength = request.promptIds().length;
        if (promptLength >= maxContext) {
            throw new IllegalArgumentException("the prompt has " + promptLength + " tokens; the model's context is "
                    + maxContext + " tokens, and at least one must be left to generate");
        }
        int blocksForPrompt = blocksFor(promptLength + 1);
        if (blocksForPrompt > cache.blockCount()) {
            throw new IllegalArgumentException("the prompt has " + promptLength + " tokens, more than the KV cache holds ("
                    + cache.blockCount() * cache.blockSize() + " positions)");
        }
        Active active = new Active(request, listener);
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("the engine is shut down");
            }
            if (waiting.size() >= settings.maxWaiting()) {
                throw new EngineOverloadedException("the server is busy: " + waiting.size() + " requests are waiting; retry later");
            }
            waiting.addLast(active);
            workArrived.signal();
        } finally {
            lock.unlock();
        }
        return () -> {
            if (!active.cancelled) {
                active.cancelled = true;
                cancelled.add(active);
                wake();
            }
        };
    }

    /**
     * Fails every running request with {@code reason} and forgets the cached prefixes, on the scheduler thread
     * before its next step: for when the cache's contents are lost (a layer shard restarted). Waiting requests stay
     * queued.
     */
    public void abortRunning(Throwable reason) {
        aborts.add(reason);
        wake();
    }

    public EngineStats stats() {
        return stats;
    }

    public void observeSteps(StepObserver observer) {
        this.stepObserver = observer;
    }

    public KvBlockPool cache() {
        return cache;
    }

    private void wake() {
        lock.lock();
        try {
            workArrived.signal();
        } finally {
            lock.unlock();
        }
    }

    private int blocksFor(int positions) {
        return (positions + cache.blockSize() - 1) / cache.blockSize();
    }

    // --- the scheduler thread ---------------------------------------------------------------------------------

    private void loop() {
        while (!closed) {
            try {
                if (!awaitWork()) {
                    continue;
                }
                dropCancelled();
                applyAborts();
                admit();
                if (!running.isEmpty()) {
                    step();
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException | Error e) {
                // A fault in the step itself (not one request's input): fail what runs, keep serving the rest.
                LOG.error("generation step failed", e);
                for (Active a : new ArrayList<>(running)) {
                    finishWithError(a, e);
                }
            }
        }
    }

    private boolean awaitWork() throws InterruptedException {
        lock.lock();
        try {
            while (!closed && running.isEmpty() && waiting.isEmpty() && cancelled.isEmpty() && aborts.isEmpty()) {
                workArrived.await();
            }
            return !closed;
        } finally {
            lock.unlock();
        }
    }

    private void dropCancelled() {
        for (Active a; (a = cancelled.poll()) != null; ) {
            lock.lock();
            try {
                waiting.remove(a);
            } finally {
                lock.unlock();
            }
            if (running.remove(a)) {
                a.releaseCache();
            }
            stats.cancelled.increment();
        }
    }

    private void applyAborts() {
        for (Throwable reason; (reason = aborts.poll()) != null; ) {
            for (Active a : new ArrayList<>(running)) {
                finishWithError(a, reason);
            }
            cache.forgetCachedPrefixes();
        }
    }

    /** Moves waiting requests into the batch while the cache can hold their next chunk and one block to grow. */
    private void admit() {
        lock.lock();
        try {
            while (!waiting.isEmpty() && running.size() < settings.maxRunning()) {
                Active next = waiting.peekFirst();
                int pending = next.length - next.computed;
                int needed = blocksFor(next.computed + Math.min(pending, settings.prefillChunk()) + 1);
                // Keep a block of headroom per running request, so admission does not at once force preemption.
                if (needed > cache.freeBlocks() - running.size()) {
                    break;
                }
                waiting.pollFirst();
                next.sequence = cache.newSequence();
                // Blocks of the prompt already in the cache are attached, not computed: whole prefill chunks of
                // them, so the rest runs in exactly the chunks a fresh request would (identical arithmetic), and
                // never the last prompt position, whose logits give the first new token.
                int cachedChunks = (next.promptLength - 1) / settings.prefillChunk();
                int attached = cache.attachCachedPrefix(next.sequence, next.prefixHashes(),
                        cachedChunks * settings.prefillChunk() / cache.blockSize());
                next.computed = attached * cache.blockSize();
                next.registeredBlocks = attached;
                if (next.cachedPromptTokens < 0) {
                    next.cachedPromptTokens = next.computed;
                }
                running.add(next);
            }
            stats.waiting = waiting.size();
        } finally {
            lock.unlock();
        }
    }

    private void step() {
        long start = System.nanoTime();
        List<Active> decoders = new ArrayList<>();
        List<Active> prefills = new ArrayList<>();
        int budget = settings.maxStepTokens();
        for (Active a : running) {
            int pending = a.length - a.computed;
            if (pending == 1) {
                decoders.add(a);
            } else if (budget > 0) {
                int chunkEnd = Math.min(a.length, (a.computed / settings.prefillChunk() + 1) * settings.prefillChunk());
                if (chunkEnd - a.computed <= budget || prefills.isEmpty()) {
                    prefills.add(a);
                    budget -= chunkEnd - a.computed;
                }
            }
        }
        List<Pass> passes = new ArrayList<>();
        if (!decoders.isEmpty()) {
            passes.add(new Pass(decoders, 1));
        }
        for (Active a : prefills) {
            int chunkEnd = Math.min(a.length, (a.computed / settings.prefillChunk() + 1) * settings.prefillChunk());
            passes.add(new Pass(List.of(a), chunkEnd - a.computed));
        }
        int prefillTokens = settings.maxStepTokens() - budget;
        runPasses(passes);
        stats.running = running.size();
        stats.kvBlocksUsed = cache.blockCount() - cache.freeBlocks();
        stepObserver.onStep(decoders.size(), prefillTokens, System.nanoTime() - start);
    }

    /** Requests that go through the layers together, each taking {@code tokensEach} positions. */
    private record Pass(List<Active> members, int tokensEach) {
    }

    /**
     * Reserves the blocks of every pass, preempting (or, alone, finishing) the latest admitted request while the
     * cache is full, then runs the passes in one call: a sharded layer stack keeps them all in flight at once.
     */
    private void runPasses(List<Pass> passes) {
        List<Pass> reserved = new ArrayList<>();
        for (Pass pass : passes) {
            List<Active> members = new ArrayList<>(pass.members());
            members.removeIf(a -> !running.contains(a));
            while (!members.isEmpty() && !tryReserve(members, pass.tokensEach())) {
                Active victim = running.getLast();
                if (running.size() == 1) {
                    finish(victim, FinishReason.LENGTH); // alone and still out of room: the cache is its limit
                } else {
                    preempt(victim);
                }
                members.remove(victim);
                reserved.forEach(r -> r.members().remove(victim));
            }
            reserved.add(new Pass(members, pass.tokensEach()));
        }
        reserved.removeIf(p -> p.members().isEmpty());
        if (reserved.isEmpty()) {
            return;
        }
        List<List<StepInput>> inputs = new ArrayList<>(reserved.size());
        for (Pass pass : reserved) {
            List<StepInput> in = new ArrayList<>(pass.members().size());
            for (Active a : pass.members()) {
                int to = a.computed + pass.tokensEach();
                in.add(new StepInput(a.sequence, a.embed(a.computed, to), pass.tokensEach(),
                        to == a.length ? LogitRows.LAST : LogitRows.NONE));
            }
            inputs.add(in);
        }
        List<List<float[]>> logits = model.forwardReserved(inputs, ForwardObserver.NONE);
        for (int p = 0; p < reserved.size(); p++) {
            Pass pass = reserved.get(p);
            stats.stepTokens.add(pass.members().size() * (long) pass.tokensEach());
            for (int i = 0; i < pass.members().size(); i++) {
                Active a = pass.members().get(i);
                a.computed += pass.tokensEach();
                a.registerFullPromptBlocks();
                if (pass.tokensEach() > 1) {
                    a.listener.onPrefillProgress(Math.min(a.computed, a.promptLength), a.promptLength);
                }
                if (logits.get(p).get(i) != null) {
                    emitNext(a, logits.get(p).get(i));
                }
            }
        }
    }

    private boolean tryReserve(List<Active> members, int tokensEach) {
        List<KvSequence> sequences = new ArrayList<>(members.size());
        int[] counts = new int[members.size()];
        for (int i = 0; i < members.size(); i++) {
            sequences.add(members.get(i).sequence);
            counts[i] = tokensEach;
        }
        try {
            cache.reserve(sequences, counts);
            return true;
        } catch (KvCacheFullException e) {
            return false;
        }
    }

    private void preempt(Active a) {
        running.remove(a);
        a.releaseCache();
        stats.preemptions.increment();
        lock.lock();
        try {
            waiting.addFirst(a);
        } finally {
            lock.unlock();
        }
    }

    private void emitNext(Active a, float[] logits) {
        SampledToken sampled;
        try {
            sampled = a.sampler.sample(logits, a.tokens, a.length);
        } catch (RuntimeException e) {
            finishWithError(a, e);
            return;
        }
        int id = sampled.tokenId();
        a.append(id);
        StopChecker.Step step = a.stop.accept(id, a.decoder.next(id));
        if (step.stopTokenId() >= 0) {
            // The end-of-turn token itself is not output; text held back for a possible stop string is.
            if (!step.text().isEmpty()) {
                a.listener.onToken(GenerationListener.GeneratedToken.textOnly(step.text()));
            }
        } else {
            a.listener.onToken(new GenerationListener.GeneratedToken(id, step.text(), sampled.logprob(), sampled.topLogprobs()));
        }
        if (step.finished()) {
            finish(a, step.finishReason());
        }
    }

    private void finish(Active a, FinishReason reason) {
        running.remove(a);
        a.releaseCache();
        stats.finished.increment();
        a.listener.onFinished(reason, new GenerationListener.Usage(a.promptLength, a.length - a.promptLength, a.cachedPromptTokens));
    }

    private void finishWithError(Active a, Throwable e) {
        running.remove(a);
        a.releaseCache();
        stats.failed.increment();
        a.listener.onFailed(e);
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            workArrived.signalAll();
        } finally {
            lock.unlock();
        }
        scheduler.interrupt();
        try {
            scheduler.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<Active> left = new ArrayList<>(running);
        lock.lock();
        try {
            left.addAll(waiting);
            waiting.clear();
        } finally {
            lock.unlock();
        }
        running.clear();
        for (Active a : left) {
            a.releaseCache();
            a.listener.onFailed(new IllegalStateException("the engine shut down"));
        }
    }

    /** A request's state; touched by the scheduler thread only, except {@link #cancelled}. */
    private final class Active {
        final GenerationRequest request;
        final GenerationListener listener;
        final Sampler sampler;
        final StopChecker stop;
        final StreamDecoder decoder;
        final int promptLength;
        int[] tokens;
        int length;
        /** Positions whose keys and values are in the cache. */
        int computed;
        KvSequence sequence;
        /** Prompt blocks offered to the prefix cache so far. */
        int registeredBlocks;
        /** Prompt positions found in the prefix cache at first admission; -1 before. */
        int cachedPromptTokens = -1;
        private long[] prefixHashes;
        volatile boolean cancelled;

        Active(GenerationRequest request, GenerationListener listener) {
            this.request = request;
            this.listener = listener;
            this.sampler = new Sampler(request.sampling());
            // Generation also ends where the context does.
            int room = maxContext - request.promptIds().length;
            this.stop = new StopChecker(request.sampling().maxNewTokens() <= room ? request.sampling()
                    : request.sampling().toBuilder().maxNewTokens(room).build(), modelStopTokenIds);
            this.decoder = decoders.get();
            this.promptLength = request.promptIds().length;
            this.tokens = Arrays.copyOf(request.promptIds(), promptLength + Math.min(request.sampling().maxNewTokens(), 4096));
            this.length = promptLength;
        }

        void append(int id) {
            if (length == tokens.length) {
                tokens = Arrays.copyOf(tokens, tokens.length * 2);
            }
            tokens[length++] = id;
        }

        /** Input rows for positions [from, to): image rows only inside the prompt, never for generated ids. */
        float[] embed(int from, int to) {
            ImageSplice images = request.images();
            if (images == null || from >= promptLength) {
                return model.embed(tokens, from, to, null);
            }
            if (to <= promptLength) {
                return model.embed(tokens, from, to, images);
            }
            float[] prompt = model.embed(tokens, from, promptLength, images);
            float[] generated = model.embed(tokens, promptLength, to, null);
            float[] out = Arrays.copyOf(prompt, prompt.length + generated.length);
            System.arraycopy(generated, 0, out, prompt.length, generated.length);
            return out;
        }

        long[] prefixHashes() {
            if (prefixHashes == null) {
                int context = request.images() == null ? -1 : request.images().contextTokenId();
                prefixHashes = PrefixHashes.of(request.promptIds(), promptLength, cache.blockSize(), context, request.imageRefs());
            }
            return prefixHashes;
        }

        /** Offers the prompt's newly completed blocks to the prefix cache. */
        void registerFullPromptBlocks() {
            int full = Math.min(computed, promptLength) / cache.blockSize();
            if (full > registeredBlocks) {
                int[] table = sequence.blockTable();
                long[] hashes = prefixHashes();
                for (int b = registeredBlocks; b < full; b++) {
                    cache.registerPrefix(table[b], hashes[b]);
                }
                registeredBlocks = full;
            }
        }

        void releaseCache() {
            if (sequence != null) {
                sequence.release();
                sequence = null;
            }
            computed = 0;
            registeredBlocks = 0;
        }
    }
}
