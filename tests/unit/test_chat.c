/* test_chat.c - chat-template families: detection and the exact prompt each renders.
 *
 * Each case gives the parts of a model's template that decide the family and its
 * variants (the whole templates are long; the file each comes from is named), and the
 * prompt that template produces for a system + user conversation with the generation
 * prompt, worked out by hand from the template file. The leading BOS the templates
 * write is left out (the tokenizer adds it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "aieb/buf.h"
#include "aieb/chat.h"

static const aieb_chat_msg conv[] = {
    {AIEB_CHAT_SYSTEM, "You are terse."},
    {AIEB_CHAT_USER, "What is 2+2?"},
};

/* Renders conv (or msgs) with tmpl and compares with want; returns the note. */
static void expect(const char *tmpl, const aieb_chat_msg *msgs, size_t n, int thinking,
                   aieb_chat_family fam, const char *want, const char *want_note)
{
    aieb_chat_template t;
    aieb_chat_detect(tmpl, tmpl ? strlen(tmpl) : 0, &t);
    if (t.family != fam)
        fail_msg("family %s, want %s for %.60s", aieb_chat_family_name(t.family),
                 aieb_chat_family_name(fam), tmpl ? tmpl : "(null)");
    aieb_chat_opts o = {.add_generation_prompt = 1,
                        .enable_thinking = thinking,
                        .eos = "</s>",
                        .bos = "<s>",
                        .date = "04 Dec 2026"};
    aieb_buf b;
    aieb_buf_init(&b, 0);
    char note[256];
    aieb_err err = {0};
    assert_int_equal(
        aieb_chat_render(&t, msgs ? msgs : conv, msgs ? n : 2, &o, &b, note, sizeof note, &err), 0);
    assert_non_null(b.data);
    if (strcmp(b.data, want) != 0)
        fail_msg("%s rendered\n[%s]\nwant\n[%s]", aieb_chat_family_name(fam), b.data, want);
    if (want_note ? !strstr(note, want_note) : note[0] != 0)
        fail_msg("note '%s', want '%s'", note, want_note ? want_note : "");
    aieb_buf_free(&b);
}

/* Qwen-Qwen3-0.6B.jinja: no default system; enable_thinking false adds an empty block. */
static const char qwen3[] =
    "{%- if messages[0].role == 'system' %}{{- '<|im_start|>system\\n' + messages[0].content + "
    "'<|im_end|>\\n\\n' }}{%- endif %}...{%- if add_generation_prompt %}{{- "
    "'<|im_start|>assistant\\n' }}{%- if enable_thinking is defined and enable_thinking is false "
    "%}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}{%- endif %}";

/* Qwen-Qwen2.5-7B-Instruct.jinja: the default system message when none is given. */
static const char qwen25[] =
    "{%- if tools %}{{- '<|im_start|>system\\n' }}{%- else %}{%- if messages[0]['role'] == "
    "'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- "
    "else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
    "assistant.<|im_end|>\\n' }}{%- endif %}{%- endif %}";

/* Qwen2-7B-Instruct's template as its GGUF files carry it: the JSON's \n decoded into
 * real newlines inside the Jinja literals. */
static const char qwen2[] =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
    "'<|im_start|>system\nYou are a helpful assistant<|im_end|>\n' }}{% endif %}{{'<|im_start|>' "
    "+ message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if "
    "add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

static void chatml(void **state)
{
    const char *want = "<|im_start|>system\nYou are terse.<|im_end|>\n"
                       "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
                       "<|im_start|>assistant\n";
    expect(qwen3, NULL, 0, -1, AIEB_CHAT_CHATML, want, NULL);
    expect(qwen3, NULL, 0, 1, AIEB_CHAT_CHATML, want, NULL);
    expect(qwen3, NULL, 0, 0, AIEB_CHAT_CHATML,
           "<|im_start|>system\nYou are terse.<|im_end|>\n"
           "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
           "<|im_start|>assistant\n<think>\n\n</think>\n\n",
           NULL);
    expect(qwen25, NULL, 0, 0, AIEB_CHAT_CHATML, want, NULL); /* no think switch there */
    expect(qwen25, conv + 1, 1, -1, AIEB_CHAT_CHATML,
           "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
           "assistant.<|im_end|>\n"
           "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
           "<|im_start|>assistant\n",
           NULL);
    expect(qwen3, conv + 1, 1, -1, AIEB_CHAT_CHATML,
           "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n", NULL);
    expect(qwen2, conv + 1, 1, -1, AIEB_CHAT_CHATML,
           "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n"
           "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
           NULL);
    expect(qwen2, NULL, 0, -1, AIEB_CHAT_CHATML, want, NULL);
}

/* meta-llama-Llama-3.2-3B-Instruct.jinja (today's date via strftime_now);
 * meta-llama-Llama-3.1-8B-Instruct.jinja sets date_string = "26 Jul 2024";
 * Meta-Llama-3-8B-Instruct has no system block of its own. */
static void llama3(void **state)
{
    const char l32[] =
        "{%- if strftime_now is defined %}{%- set date_string = "
        "strftime_now(\"%d %b %Y\") %}{%- else %}{%- set date_string = \"26 Jul "
        "2024\" %}{%- endif %}{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" "
        "}}{{- \"Cutting Knowledge Date: December 2023\\n\" }}";
    const char l31[] =
        "{%- if not date_string is defined %}{%- set date_string = \"26 Jul "
        "2024\" %}{%- endif %}{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" "
        "}}{{- \"Cutting Knowledge Date: December 2023\\n\" }}";
    const char l30[] = "{% set content = '<|start_header_id|>' + message['role'] + "
                       "'<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}";
    expect(l32, NULL, 0, -1, AIEB_CHAT_LLAMA3,
           "<|start_header_id|>system<|end_header_id|>\n\n"
           "Cutting Knowledge Date: December 2023\nToday Date: 04 Dec 2026\n\n"
           "You are terse.<|eot_id|>"
           "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
           "<|start_header_id|>assistant<|end_header_id|>\n\n",
           NULL);
    aieb_chat_template t;
    aieb_chat_detect(l31, strlen(l31), &t);
    assert_string_equal(t.date, "26 Jul 2024");
    assert_int_equal(t.flags & AIEB_CHAT_TODAY, 0);
    /* 3.1: no system message still gets the dated block; content is trimmed */
    const aieb_chat_msg user_only[] = {{AIEB_CHAT_USER, "  Hi \n"}};
    aieb_chat_opts o = {.add_generation_prompt = 1, .enable_thinking = -1};
    aieb_buf b;
    aieb_buf_init(&b, 0);
    assert_int_equal(aieb_chat_render(&t, user_only, 1, &o, &b, NULL, 0, NULL), 0);
    assert_string_equal(b.data, "<|start_header_id|>system<|end_header_id|>\n\n"
                                "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul "
                                "2024\n\n<|eot_id|>"
                                "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                                "<|start_header_id|>assistant<|end_header_id|>\n\n");
    aieb_buf_free(&b);
    expect(l30, NULL, 0, -1, AIEB_CHAT_LLAMA3,
           "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
           "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
           "<|start_header_id|>assistant<|end_header_id|>\n\n",
           NULL);
}

/* Llama-2-7b-chat-hf's template: the system message inside the first [INST]; BOS before
 * every later user turn; assistant turns " text </s>". */
static void llama2(void **state)
{
    const char tmpl[] = "{% if loop.index0 == 0 and system_message != false %}{% set content = "
                        "'<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + "
                        "message['content'] %}{% endif %}{{ bos_token + '[INST] ' + "
                        "content.strip() + ' [/INST]' }}";
    expect(tmpl, NULL, 0, -1, AIEB_CHAT_LLAMA2,
           "[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nWhat is 2+2? [/INST]", NULL);
    const aieb_chat_msg turns[] = {
        {AIEB_CHAT_USER, "Hello "},
        {AIEB_CHAT_ASSISTANT, " Hi there"},
        {AIEB_CHAT_USER, "Who are you"},
    };
    expect(tmpl, turns, 3, -1, AIEB_CHAT_LLAMA2,
           "[INST] Hello [/INST] Hi there </s><s>[INST] Who are you [/INST]", NULL);
}

/* mistralai-Mistral-Nemo-Instruct-2407.jinja (Tekken: no spaces, system before the last
 * user message); Mistral-7B-Instruct-v0.2 ("[INST] " with spaces, no system role);
 * Mistral-Small-3.2-24B-Instruct-2506.jinja ([SYSTEM_PROMPT]). */
static void mistral(void **state)
{
    const char nemo[] = "{%- if loop.last and system_message is defined %}{{- \"[INST]\" + "
                        "system_message + \"\\n\\n\" + message[\"content\"] + \"[/INST]\" }}";
    const char v02[] = "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' "
                       "[/INST]' }}{% else %}{{ raise_exception('Only user and assistant roles "
                       "are supported!') }}{% endif %}";
    const char small3[] = "{{- '[SYSTEM_PROMPT]' + system_prompt + '[/SYSTEM_PROMPT]' }}{{- "
                          "'[INST]' }}";
    expect(nemo, NULL, 0, -1, AIEB_CHAT_MISTRAL, "[INST]You are terse.\n\nWhat is 2+2?[/INST]",
           NULL);
    expect(v02, NULL, 0, -1, AIEB_CHAT_MISTRAL, "[INST] You are terse.\n\nWhat is 2+2? [/INST]",
           "no system role");
    expect(small3, NULL, 0, -1, AIEB_CHAT_MISTRAL,
           "[SYSTEM_PROMPT]You are terse.[/SYSTEM_PROMPT][INST]What is 2+2?[/INST]", NULL);
    expect(small3, conv + 1, 1, -1, AIEB_CHAT_MISTRAL, "[INST]What is 2+2?[/INST]",
           "default system message was left out");
}

/* microsoft-Phi-3.5-mini-instruct.jinja; Phi-3-mini-4k-instruct's first template had no
 * system role. */
static void phi3(void **state)
{
    const char p35[] = "{% if message['role'] == 'system' and message['content'] %}{{'<|system|>\n"
                       "' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' "
                       "%}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}";
    const char p3old[] = "{% if (message['role'] == 'user') %}{{'<|user|>' + '\n' + "
                         "message['content'] + '<|end|>' + '\n' + '<|assistant|>' + '\n'}}";
    expect(p35, NULL, 0, -1, AIEB_CHAT_PHI3,
           "<|system|>\nYou are terse.<|end|>\n<|user|>\nWhat is 2+2?<|end|>\n<|assistant|>\n",
           NULL);
    expect(p3old, NULL, 0, -1, AIEB_CHAT_PHI3,
           "<|user|>\nYou are terse.\n\nWhat is 2+2?<|end|>\n<|assistant|>\n", "no system role");
}

/* google-gemma-2-2b-it.jinja (no system role: it joins the first user turn, as Gemma 3's
 * template does with first_user_prefix); content is trimmed. */
static void gemma(void **state)
{
    const char g2[] = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role "
                      "not supported') }}{% endif %}{{ '<start_of_turn>' + role + '\n' + "
                      "message['content'] | trim + '<end_of_turn>\n' }}";
    const char g3[] = "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}{{ "
                      "'<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "
                      "\"\") }}";
    const char *want = "<start_of_turn>user\nYou are terse.\n\nWhat is 2+2?<end_of_turn>\n"
                       "<start_of_turn>model\n";
    expect(g2, NULL, 0, -1, AIEB_CHAT_GEMMA, want, "no system role");
    expect(g3, NULL, 0, -1, AIEB_CHAT_GEMMA, want, NULL);
}

/* deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja (opens <think>; this copy closes it
 * when enable_thinking is false); deepseek-ai-DeepSeek-V3.1.jinja (<think></think>
 * unless thinking, also before earlier answers); deepseek-llm-7b-chat ("User: ", "Assistant:"). */
static void deepseek(void **state)
{
    const char r1[] = "{{bos_token}}{{ns.system_prompt}}{{'<｜User｜>' + message['content']}}"
                      "{%- if add_generation_prompt and not ns.is_tool -%}{{'<｜Assistant｜>"
                      "<think>\\n'}}{% if not enable_thinking %}{{- '</think>' -}}{% endif %}";
    const char v31[] = "{%- if not thinking is defined -%}{%- if enable_thinking is defined -%}"
                       "{%- set thinking = enable_thinking -%}{{'<｜User｜>' + "
                       "message['content']}}{%- if add_generation_prompt and ns.is_last_user "
                       "and not ns.is_tool -%}{{'<｜Assistant｜>'}}{%- if not thinking "
                       "-%}{{'<think></think>'}}{%- else -%}{{'<think>'}}";
    const char llm[] = "{% if message['role'] == 'user' %}{{ 'User: ' + message['content'] + "
                       "'\\n\\n' }}{% endif %}{% if add_generation_prompt %}{{ 'Assistant:' }}";
    expect(r1, NULL, 0, -1, AIEB_CHAT_DEEPSEEK,
           "You are terse.<｜User｜>What is 2+2?<｜Assistant｜><think>\n", NULL);
    expect(r1, NULL, 0, 0, AIEB_CHAT_DEEPSEEK,
           "You are terse.<｜User｜>What is 2+2?<｜Assistant｜><think>\n</think>", NULL);
    expect(v31, NULL, 0, -1, AIEB_CHAT_DEEPSEEK,
           "You are terse.<｜User｜>What is 2+2?<｜Assistant｜><think></think>", NULL);
    expect(v31, NULL, 0, 1, AIEB_CHAT_DEEPSEEK,
           "You are terse.<｜User｜>What is 2+2?<｜Assistant｜><think>", NULL);
    const aieb_chat_msg turns[] = {
        {AIEB_CHAT_USER, "Hi"},
        {AIEB_CHAT_ASSISTANT, "<think>greet</think>Hello"},
        {AIEB_CHAT_USER, "Bye"},
    };
    expect(v31, turns, 3, 1, AIEB_CHAT_DEEPSEEK,
           "<｜User｜>Hi<｜Assistant｜><think></think>Hello<｜end▁of▁sentence｜><｜User｜>Bye"
           "<｜Assistant｜><think>",
           NULL);
    expect(llm, NULL, 0, -1, AIEB_CHAT_DEEPSEEK_LLM,
           "You are terse.\n\nUser: What is 2+2?\n\nAssistant:", NULL);
}

/* TinyLlama-1.1B-Chat-v1.0's template (Zephyr's): each turn '<|role|>\n' + content +
 * eos_token, and the newline after each {{ }} (Hugging Face's trim_blocks removes only
 * those after {% %} tags); the generation prompt '<|assistant|>' and its newline. */
static void zephyr(void **state)
{
    const char tl[] = "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ "
                      "'<|user|>\\n' + message['content'] + eos_token }}\n{% elif "
                      "message['role'] == 'system' %}\n{{ '<|system|>\\n' + message['content'] "
                      "+ eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt "
                      "%}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";
    expect(tl, NULL, 0, -1, AIEB_CHAT_ZEPHYR,
           "<|system|>\nYou are terse.</s>\n<|user|>\nWhat is 2+2?</s>\n<|assistant|>\n", NULL);
}

/* No template, an unrecognised one, and bad input. */
static void fallback(void **state)
{
    expect(NULL, NULL, 0, -1, AIEB_CHAT_NONE, "You are terse.\n\nWhat is 2+2?", NULL);
    expect("{{ messages | join('|') }}", NULL, 0, -1, AIEB_CHAT_UNKNOWN,
           "You are terse.\n\nWhat is 2+2?", "not one aieb recognises");
    aieb_chat_template t;
    aieb_chat_detect(qwen3, strlen(qwen3), &t);
    aieb_buf b;
    aieb_buf_init(&b, 0);
    aieb_err err = {0};
    assert_int_equal(aieb_chat_render(&t, conv, 0, NULL, &b, NULL, 0, &err), AIEB_EINVAL);
    const aieb_chat_msg bad[] = {{AIEB_CHAT_USER, NULL}};
    assert_int_equal(aieb_chat_render(&t, bad, 1, NULL, &b, NULL, 0, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "message 0 has no content"));
    /* a buffer too small for the prompt */
    aieb_buf small;
    aieb_buf_init(&small, 16);
    assert_int_not_equal(aieb_chat_render(&t, conv, 2, NULL, &small, NULL, 0, &err), 0);
    aieb_buf_free(&small);
    aieb_buf_free(&b);
    for (int f = AIEB_CHAT_NONE; f <= AIEB_CHAT_ZEPHYR; f++)
        assert_string_not_equal(aieb_chat_family_name((aieb_chat_family)f), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chatml),   cmocka_unit_test(llama3), cmocka_unit_test(llama2),
        cmocka_unit_test(mistral),  cmocka_unit_test(phi3),   cmocka_unit_test(gemma),
        cmocka_unit_test(deepseek), cmocka_unit_test(zephyr), cmocka_unit_test(fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
