package dev.internvl.mesh.model.llm;

/** Which positions of a step's input need logits. Prefill normally wants only the last; a decode step has one. */
public enum LogitRows {
    NONE,
    LAST,
    ALL
}
