package dev.internvl.mesh.prompt;

import java.util.Objects;

/** One earlier exchange of a conversation: the question as stored in the history, and the model's answer. */
public record Turn(String question, String answer) {
    public Turn {
        Objects.requireNonNull(question, "question");
        Objects.requireNonNull(answer, "answer");
    }
}
