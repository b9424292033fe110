package dev.internvl.mesh.prompt;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ChatTemplateTest {
    @Test
    void rendersTurnsInChatMlWithTheMptSeparator() {
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n"
                        + "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi!<|im_end|>\n"
                        + "<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n",
                ChatTemplate.render("Be brief.", List.of(new Turn("Hello", "Hi!")), "Who are you?"));
    }

    /** Upstream tests each message for truth: an empty one gets its role, but no separator. */
    @Test
    void emptyMessagesKeepOnlyTheirRole() {
        assertEquals("<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n"
                        + "<|im_start|>user\n<|im_start|>assistant\n",
                ChatTemplate.render("", List.of(new Turn("Hello", "")), ""));
    }
}
