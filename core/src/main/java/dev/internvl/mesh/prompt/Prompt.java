package dev.internvl.mesh.prompt;

import dev.internvl.mesh.tokenizer.SpecialTokens;

import java.util.Arrays;
import java.util.List;

/**
 * A tokenised prompt as runs of text token ids and image slots, so that the serving tiers never hold or re-tokenise
 * the thousands of {@code <IMG_CONTEXT>} tokens an image stands for. {@link #ids()} and {@link #text()} render the
 * whole thing, equal to what upstream tokenises.
 */
public final class Prompt {
    /** A part of the prompt, in order. */
    public sealed interface Segment permits Text, Image {
        /** Tokens this segment takes in the prompt. */
        int length();
    }

    /** Template and conversation text between images, with its ids. */
    public record Text(String text, int[] ids) implements Segment {
        public Text {
            ids = ids.clone();
        }

        @Override
        public int[] ids() {
            return ids.clone();
        }

        @Override
        public int length() {
            return ids.length;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Text t && t.text.equals(text) && Arrays.equals(t.ids, ids);
        }

        @Override
        public int hashCode() {
            return 31 * text.hashCode() + Arrays.hashCode(ids);
        }

        @Override
        public String toString() {
            return "Text[" + text + ", " + ids.length + " ids]";
        }
    }

    /**
     * The run {@code <img>}, {@code <IMG_CONTEXT>} x {@code contextTokens}, {@code </img>} of one image.
     *
     * @param index         the image's position among the request's images, from 0
     * @param tiles         its tiles (thumbnail included)
     * @param contextTokens {@code num_image_token} x tiles: one per projected visual token
     */
    public record Image(int index, int tiles, int contextTokens) implements Segment {
        @Override
        public int length() {
            return contextTokens + 2;
        }
    }

    private final List<Segment> segments;
    private final String questionInHistory;
    private final SpecialTokens tokens;
    private final int length;

    Prompt(List<Segment> segments, String questionInHistory, SpecialTokens tokens) {
        this.segments = List.copyOf(segments);
        this.questionInHistory = questionInHistory;
        this.tokens = tokens;
        this.length = this.segments.stream().mapToInt(Segment::length).sum();
    }

    public List<Segment> segments() {
        return segments;
    }

    /** The question as upstream stores it in the history after this turn ({@code <image>\n} prepended or not). */
    public String questionInHistory() {
        return questionInHistory;
    }

    /** Tokens in the whole prompt. */
    public int length() {
        return length;
    }

    /** Every id of the prompt, images expanded. */
    public int[] ids() {
        int[] out = new int[length];
        int at = 0;
        for (Segment s : segments) {
            switch (s) {
                case Text t -> {
                    System.arraycopy(t.ids, 0, out, at, t.ids.length);
                    at += t.ids.length;
                }
                case Image img -> {
                    out[at++] = tokens.imgStart();
                    Arrays.fill(out, at, at + img.contextTokens(), tokens.imgContext());
                    at += img.contextTokens();
                    out[at++] = tokens.imgEnd();
                }
            }
        }
        return out;
    }

    /** The whole prompt string, images expanded: the {@code query} upstream {@code chat()} tokenises. */
    public String text() {
        StringBuilder out = new StringBuilder();
        for (Segment s : segments) {
            switch (s) {
                case Text t -> out.append(t.text());
                case Image img -> out.append(SpecialTokens.IMG_START)
                        .repeat(SpecialTokens.IMG_CONTEXT, img.contextTokens())
                        .append(SpecialTokens.IMG_END);
            }
        }
        return out.toString();
    }
}
