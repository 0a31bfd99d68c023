/* fuzz_chat.c - libFuzzer target: chat-template detection and rendering.
 *
 * The input is a model's tokenizer.chat_template (text from the GGUF file, so outside
 * input). Whatever family and variants are read from it, rendering a few conversations
 * (with and without a system message, assistant turns holding </think>, each thinking
 * switch, no generation prompt) must not crash or read out of bounds, and must give a
 * NUL-terminated string.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aieb/buf.h"
#include "aieb/chat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aieb_chat_template t;
    aieb_chat_detect((const char *)data, size, &t);
    (void)aieb_chat_family_name(t.family);
    static const aieb_chat_msg msgs[] = {
        {AIEB_CHAT_SYSTEM, " sys \n"},
        {AIEB_CHAT_USER, "  hello  "},
        {AIEB_CHAT_ASSISTANT, "<think>a</think>b</think> c "},
        {AIEB_CHAT_USER, ""},
        {AIEB_CHAT_SYSTEM, "late"},
    };
    for (int start = 0; start < 2; start++)
        for (int think = -1; think <= 1; think++) {
            aieb_chat_opts o = {.add_generation_prompt = think != 0,
                                .enable_thinking = think,
                                .eos = think ? "</s>" : NULL,
                                .bos = "<s>",
                                .date = think == 1 ? NULL : "1 Jan 2000"};
            aieb_buf b;
            aieb_buf_init(&b, 1 << 16);
            char note[64];
            aieb_err err = {0};
            if (aieb_chat_render(&t, msgs + start, 5 - (size_t)start, &o, &b, note, sizeof note,
                                 &err) == 0 &&
                b.data && strlen(b.data) != b.len)
                __builtin_trap();
            aieb_buf_free(&b);
        }
    return 0;
}
