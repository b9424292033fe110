package dev.internvl.mesh.sampling;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StopCheckerTest {
    private static final int IM_END = 151645;
    private static final int WORD = 100; // any ordinary token; the text is what matters

    private static StopChecker checker(List<String> stops, int maxNewTokens, Integer... stopIds) {
        return new StopChecker(SamplingParams.builder().stopStrings(stops).stopTokenIds(List.of(stopIds))
                .maxNewTokens(maxNewTokens).build(), IM_END);
    }

    /** Feeds the deltas as ordinary tokens; returns the emitted pieces, the last step appended as its reason. */
    private static List<String> feed(StopChecker c, String... deltas) {
        List<String> out = new ArrayList<>();
        for (String d : deltas) {
            StopChecker.Step s = c.accept(WORD, d);
            out.add(s.text());
            if (s.finished()) {
                out.add(s.finishReason().apiValue() + (s.stopString() != null ? ":" + s.stopString() : ""));
                break;
            }
        }
        return out;
    }

    @Test
    void textPassesThroughWithoutStops() {
        StopChecker c = checker(List.of(), 100);
        assertEquals(List.of("Hello", ",", " world"), feed(c, "Hello", ",", " world"));
        assertFalse(c.finished());
    }

    @Test
    void modelEndTokenStopsAndIsNotEmitted() {
        StopChecker c = checker(List.of(), 100);
        assertEquals("Hi", c.accept(WORD, "Hi").text());
        StopChecker.Step s = c.accept(IM_END, "<|im_end|>");
        assertEquals("", s.text());
        assertEquals(FinishReason.STOP, s.finishReason());
        assertEquals(IM_END, s.stopTokenId());
        assertNull(s.stopString());
        assertTrue(c.finished());
    }

    @Test
    void requestStopTokenIdsStopToo() {
        StopChecker c = checker(List.of(), 100, 13);
        c.accept(WORD, "a");
        StopChecker.Step s = c.accept(13, ".");
        assertEquals(FinishReason.STOP, s.finishReason());
        assertEquals(13, s.stopTokenId());
        assertEquals("", s.text());
    }

    @Test
    void stopStringInsideOneDeltaCutsBeforeItAndDropsTheRest() {
        assertEquals(List.of("Hello ", "", "stop:STOP"), feed(checker(List.of("STOP"), 100), "Hello ", "STOP and more"));
        assertEquals(List.of("Hello ", "x", "stop:STOP"), feed(checker(List.of("STOP"), 100), "Hello ", "xSTOPy"));
    }

    @Test
    void stopStringAcrossTokensIsHeldBackThenDropped() {
        StopChecker c = checker(List.of("<END>"), 100);
        assertEquals(List.of("Done", "", "", "", "stop:<END>"), feed(c, "Done<", "E", "N", "D>", "never seen"));
    }

    @Test
    void heldBackTextIsReleasedOnceItCannotBeAStopString() {
        StopChecker c = checker(List.of("<END>"), 100);
        assertEquals("a", c.accept(WORD, "a<E").text());
        assertEquals("<Ex", c.accept(WORD, "x").text());
        assertEquals("b", c.accept(WORD, "b<").text());
        // "<<" : the first '<' can no longer start "<END>", the second still can.
        assertEquals("<", c.accept(WORD, "<").text());
        assertEquals("<y", c.accept(WORD, "y").text());
    }

    @Test
    void stopStringAtTheVeryStart() {
        assertEquals(List.of("", "stop:###"), feed(checker(List.of("###"), 100), "###", "text"));
        assertEquals(List.of("", "", "stop:###"), feed(checker(List.of("###"), 100), "#", "##tail"));
    }

    @Test
    void severalStopStringsTheFirstCompletedWins() {
        List<String> stops = List.of("\n\n", "User:", "Observation");
        assertEquals(List.of("Answer", "", "stop:User:"), feed(checker(stops, 100), "Answer", "User: hi\n\nmore"));
        assertEquals(List.of("Answer", "", "stop:\n\n"), feed(checker(stops, 100), "Answer", "\n\nUser:"));
        // "Observation" ends after "\n\n" would, but "\n\n" never occurs: the longer one is held back whole.
        assertEquals(List.of("x", "", "", "", "stop:Observation"), feed(checker(stops, 100), "x", "Obs", "erva", "tion"));
    }

    @Test
    void overlappingStopStringsEndingFirstWinsWhateverTheSplit() {
        // "bc" is complete at 'c', before "abcd" is.
        List<String> stops = List.of("abcd", "bc");
        assertEquals(List.of("xa", "stop:bc"), feed(checker(stops, 100), "xabcd"));
        assertEquals(List.of("x", "", "", "a", "stop:bc"), feed(checker(stops, 100), "x", "a", "b", "c", "d"));
        // Two ending at the same character: the longer cuts more.
        assertEquals(List.of("x", "stop:abc"), feed(checker(List.of("bc", "abc"), 100), "xabc"));
    }

    @Test
    void lengthStopsAtMaxNewTokensAndReleasesHeldText() {
        StopChecker c = checker(List.of("<END>"), 3);
        assertEquals(List.of("one", " two", " <E", "length"), feed(c, "one", " two", " <E"));
        assertTrue(c.finished());
    }

    @Test
    void maxNewTokensCountsTokensWithEmptyText() {
        StopChecker c = checker(List.of(), 2);
        assertFalse(c.accept(WORD, "").finished()); // half a UTF-8 character
        assertEquals(FinishReason.LENGTH, c.accept(WORD, "é").finishReason());
    }

    @Test
    void stopWinsOverLengthOnTheLastToken() {
        StopChecker c = checker(List.of("."), 2);
        c.accept(WORD, "a");
        StopChecker.Step s = c.accept(WORD, "b.");
        assertEquals(FinishReason.STOP, s.finishReason());
        assertEquals("b", s.text());

        StopChecker d = checker(List.of(), 1);
        assertEquals(FinishReason.STOP, d.accept(IM_END, "").finishReason());
    }

    @Test
    void stopTokenReleasesTextHeldForAStopString() {
        StopChecker c = checker(List.of("<END>"), 100);
        assertEquals("a", c.accept(WORD, "a<EN").text());
        StopChecker.Step s = c.accept(IM_END, "");
        assertEquals("<EN", s.text());
        assertEquals(FinishReason.STOP, s.finishReason());
    }

    @Test
    void noTokenAfterTheEnd() {
        StopChecker c = checker(List.of(), 1);
        c.accept(WORD, "a");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.accept(WORD, "b"));
        assertEquals("generation already finished (length)", e.getMessage());
    }

    @Test
    void outputDependsOnlyOnTheTextNotOnItsTokenisation() {
        String text = "The cat sat. The dog <|sat|> on the <mat>. END of the story";
        // stops (space-separated), then the output and the stop string that ends it (null: none, the end token stops).
        String[][] cases = {
                {"<mat>", "The cat sat. The dog <|sat|> on the ", "<mat>"},
                {"END <|", "The cat sat. The dog ", "<|"},
                {"sat at.", "The cat ", "sat"},
                {"story!", text, null},
                {"t he", "T", "he"}};
        Random r = new Random(3);
        for (String[] k : cases) {
            List<String> stops = List.of(k[0].split(" "));
            for (int trial = 0; trial < 200; trial++) {
                StopChecker c = checker(stops, 1000);
                StringBuilder emitted = new StringBuilder();
                StopChecker.Step last = null;
                int at = 0;
                while (at < text.length() && (last == null || !last.finished())) {
                    int next = Math.min(text.length(), at + r.nextInt(5)); // empty deltas too
                    last = c.accept(WORD, text.substring(at, next));
                    emitted.append(last.text());
                    at = next;
                }
                if (!last.finished()) {
                    last = c.accept(IM_END, "");
                    emitted.append(last.text());
                }
                assertEquals(k[1], emitted.toString(), "stops " + stops);
                assertEquals(k[2], last.stopString(), "stops " + stops);
            }
        }
    }
}
