package dev.internvl.mesh.prompt;

import java.util.List;

import static dev.internvl.mesh.tokenizer.SpecialTokens.IM_END;
import static dev.internvl.mesh.tokenizer.SpecialTokens.IM_START;

/**
 * The {@code internvl2_5} conversation template of upstream InternVL ({@code internvl_chat/internvl/conversation.py}):
 * ChatML roles with the MPT separator style.
 */
public final class ChatTemplate {
    public static final String NAME = "internvl2_5";
    public static final String DEFAULT_SYSTEM_MESSAGE =
            "你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的多模态大语言模型。";

    private static final String SYSTEM = IM_START + "system\n";
    private static final String USER = IM_START + "user\n";
    private static final String ASSISTANT = IM_START + "assistant\n";
    private static final String SEPARATOR = IM_END + "\n";

    private ChatTemplate() {
    }

    /** What upstream {@code get_prompt()} returns for the history, the new question and an open assistant turn. */
    public static String render(String systemMessage, List<Turn> history, String question) {
        StringBuilder out = new StringBuilder(SYSTEM).append(systemMessage).append(SEPARATOR);
        for (Turn turn : history) {
            append(out, USER, turn.question());
            append(out, ASSISTANT, turn.answer());
        }
        append(out, USER, question);
        return out.append(ASSISTANT).toString();
    }

    /** MPT style: an empty message (falsy in Python) gets its role but neither text nor separator. */
    private static void append(StringBuilder out, String role, String message) {
        out.append(role);
        if (!message.isEmpty()) {
            out.append(message).append(SEPARATOR);
        }
    }
}
