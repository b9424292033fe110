package dev.internvl.mesh.sampling;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * Decides when one request's generation ends and which of its text reaches the client. It is fed each generated
 * token with the text the detokenizer produced for it, and answers with the text that is safe to emit now:
 * <ul>
 *   <li>a stop token (one of {@link SamplingParams#stopTokenIds()} or of the model's own end ids) ends generation with
 *       {@link FinishReason#STOP}; its text is never emitted;</li>
 *   <li>a stop string ends it with {@link FinishReason#STOP}; the output ends just before the stop string, which may
 *       span several tokens, and nothing after it is emitted. Text that could still become a stop string is held
 *       back, and released as soon as it cannot;</li>
 *   <li>the {@link SamplingParams#maxNewTokens()}-th token ends it with {@link FinishReason#LENGTH}, releasing any
 *       held-back text.</li>
 * </ul>
 * For one token a stop token wins over a stop string, and both over the length limit. When several stop strings
 * occur, the one completed first wins: the one ending at the earliest character, and among those the longest. So the
 * output depends only on the text, never on how it was split into tokens.
 *
 * <p>Not thread-safe: one per request.
 */
public final class StopChecker {
    private final int[] stopTokenIds;
    private final List<String> stopStrings;
    private final int maxNewTokens;

    private String held = "";
    private int generated;
    private FinishReason finishReason;

    /**
     * @param modelStopTokenIds the model's end ids (for InternVL 2.5 chat, {@code <|im_end|>}), which stop every
     *                          request in addition to the request's own
     */
    public StopChecker(SamplingParams params, int... modelStopTokenIds) {
        this.stopTokenIds = IntStream.concat(
                        params.stopTokenIds().stream().mapToInt(Integer::intValue), Arrays.stream(modelStopTokenIds))
                .sorted().distinct().toArray();
        this.stopStrings = params.stopStrings();
        this.maxNewTokens = params.maxNewTokens();
    }

    /**
     * What one step of generation produced.
     *
     * @param text         the text to emit now, possibly empty
     * @param finishReason null while generation goes on
     * @param stopString   the stop string that ended generation, else null
     * @param stopTokenId  the stop token that ended generation, else -1
     */
    public record Step(String text, FinishReason finishReason, String stopString, int stopTokenId) {
        public boolean finished() {
            return finishReason != null;
        }
    }

    /**
     * Takes the next generated token.
     *
     * @param textDelta the text the detokenizer added for this token, possibly empty (an incomplete UTF-8 sequence)
     * @throws IllegalStateException if generation has already finished
     */
    public Step accept(int tokenId, String textDelta) {
        Objects.requireNonNull(textDelta, "textDelta");
        if (finishReason != null) {
            throw new IllegalStateException("generation already finished (" + finishReason.apiValue() + ")");
        }
        generated++;
        if (Arrays.binarySearch(stopTokenIds, tokenId) >= 0) {
            // Held text was only a possible start of a stop string; with generation over it is plain output.
            return finish(held, FinishReason.STOP, null, tokenId);
        }
        // Every stop string that can complete now starts in the held-back text or later: released text was never a
        // prefix of one.
        String text = held + textDelta;
        String match = null;
        int matchStart = -1;
        int matchEnd = Integer.MAX_VALUE;
        for (String s : stopStrings) {
            int at = text.indexOf(s);
            int end = at + s.length();
            if (at >= 0 && (end < matchEnd || end == matchEnd && at < matchStart)) {
                match = s;
                matchStart = at;
                matchEnd = end;
            }
        }
        if (match != null) {
            return finish(text.substring(0, matchStart), FinishReason.STOP, match, -1);
        }
        if (generated >= maxNewTokens) {
            return finish(text, FinishReason.LENGTH, null, -1);
        }
        int release = text.length() - possibleStopPrefixLength(text);
        held = text.substring(release);
        return new Step(text.substring(0, release), null, null, -1);
    }

    public boolean finished() {
        return finishReason != null;
    }

    private Step finish(String text, FinishReason reason, String stopString, int stopTokenId) {
        finishReason = reason;
        held = "";
        return new Step(text, reason, stopString, stopTokenId);
    }

    /** The length of the longest end of {@code text} that is a proper prefix of a stop string. */
    private int possibleStopPrefixLength(String text) {
        int longest = 0;
        for (String s : stopStrings) {
            for (int k = Math.min(s.length() - 1, text.length()); k > longest; k--) {
                if (text.regionMatches(text.length() - k, s, 0, k)) {
                    longest = k;
                    break;
                }
            }
        }
        return longest;
    }
}
