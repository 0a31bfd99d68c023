/* chat.h - chat templates: which family a model's template belongs to, and the prompt it
 * renders for a conversation.
 *
 * GGUF files carry their Hugging Face chat template as Jinja text
 * (tokenizer.chat_template). Rather than run Jinja, the family is recognised from the
 * markers the template emits, and each family's rendering is written out here, string
 * for string as those templates produce it for system, user and assistant messages
 * (the template files each family was checked against are named in chat.c and in
 * tests/unit/test_chat.c). What a template does beyond that (tools, images) is not
 * rendered.
 *
 * The rendered text leaves out a BOS token at its very start: the tokenizer adds BOS
 * as the model's tokenizer.ggml.add_bos_token says, so it is not doubled. Special-token
 * text (<|im_start|>, [INST], ...) stays in the string; it must be tokenized with
 * special tokens parsed.
 */
#ifndef AIEB_CHAT_H
#define AIEB_CHAT_H

#include <stddef.h>

#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    AIEB_CHAT_NONE = 0,     /* no template: messages joined as plain text */
    AIEB_CHAT_UNKNOWN,      /* a template not recognised: plain text, with a note */
    AIEB_CHAT_CHATML,       /* <|im_start|>role ... <|im_end|> (Qwen, SmolLM, Hermes) */
    AIEB_CHAT_LLAMA3,       /* <|start_header_id|>role<|end_header_id|> ... <|eot_id|> */
    AIEB_CHAT_LLAMA2,       /* [INST] <<SYS>> ... <</SYS>> ... [/INST] */
    AIEB_CHAT_MISTRAL,      /* [INST] ... [/INST] without <<SYS>> */
    AIEB_CHAT_PHI3,         /* <|system|> / <|user|> / <|assistant|> ... <|end|> */
    AIEB_CHAT_GEMMA,        /* <start_of_turn>user ... <end_of_turn> */
    AIEB_CHAT_DEEPSEEK,     /* <｜User｜> ... <｜Assistant｜> (DeepSeek V3, R1) */
    AIEB_CHAT_DEEPSEEK_LLM, /* "User: ...\n\nAssistant:" (deepseek-llm chat, V2) */
    AIEB_CHAT_ZEPHYR,       /* <|user|>\n ... EOS (Zephyr, TinyLlama-Chat) */
} aieb_chat_family;

/* Variants within a family, read from the template text. */
enum {
    AIEB_CHAT_THINK_SWITCH = 1 << 0,  /* ChatML: enable_thinking false adds an empty think
                                         block (Qwen3) */
    AIEB_CHAT_DATED_SYSTEM = 1 << 1,  /* Llama 3.1+: a system block with "Cutting Knowledge
                                         Date" / "Today Date" lines, always */
    AIEB_CHAT_NO_SYSTEM = 1 << 2,     /* the template has no system role (Gemma, some
                                         Phi-3 and Mistral): it joins the first user message */
    AIEB_CHAT_THINK_OPEN = 1 << 3,    /* DeepSeek R1: the generation prompt opens <think> */
    AIEB_CHAT_THINK_PARAM = 1 << 4,   /* DeepSeek V3.1: <think> or </think> by a switch */
    AIEB_CHAT_SPACED = 1 << 5,        /* Mistral: "[INST] x [/INST]" (v1-v3), not
                                         "[INST]x[/INST]" (Tekken) */
    AIEB_CHAT_SYSTEM_PROMPT = 1 << 6, /* Mistral v7: [SYSTEM_PROMPT]...[/SYSTEM_PROMPT] */
    AIEB_CHAT_TODAY = 1 << 7,         /* Llama 3.2: the date is today (strftime_now) */
};

typedef struct aieb_chat_template {
    aieb_chat_family family;
    unsigned flags;           /* AIEB_CHAT_* variants above */
    char default_system[512]; /* ChatML: the system message used when none is given
                                 ("You are Qwen, ..."), "" for none */
    char date[32];            /* Llama 3.1: the template's fixed date_string */
    char eos[48];             /* the model's EOS token text where the caller sets it
                                 (templates that write eos_token), "" if unknown */
} aieb_chat_template;

typedef enum { AIEB_CHAT_SYSTEM, AIEB_CHAT_USER, AIEB_CHAT_ASSISTANT } aieb_chat_role;

typedef struct aieb_chat_msg {
    aieb_chat_role role;
    const char *content;
} aieb_chat_msg;

typedef struct aieb_chat_opts {
    int add_generation_prompt; /* 1: end with what opens the assistant's turn */
    int enable_thinking;       /* -1 unset, 0 off, 1 on (chat_template_kwargs) */
    const char *eos;           /* EOS token text ("</s>"), or NULL for the template's eos */
    const char *bos;           /* BOS token text where a template repeats it, or NULL */
    const char *date;          /* "26 Jul 2024"-style date for Llama 3.2's Today Date;
                                  NULL: today (UTC) */
} aieb_chat_opts;

/* Recognises the family of a template (len bytes, not NUL-terminated; NULL or empty:
 * AIEB_CHAT_NONE) and its variants. This function can't fail. */
AIEB_API void aieb_chat_detect(const char *tmpl, size_t len, aieb_chat_template *out);

/* "none", "unknown", "chatml", "llama3", "llama2", "mistral", "phi3", "gemma",
 * "deepseek", "deepseek-llm", "zephyr". Can't fail. */
AIEB_API const char *aieb_chat_family_name(aieb_chat_family f);

struct aieb_buf;

/* Renders n messages (system messages first or not at all is what templates expect)
 * into out (appended), as the family's template does, then the generation prompt.
 * When the family cannot place something exactly (a system message in a template
 * without that role, an unrecognised template), a sentence saying what was done is
 * written to note (note_cap bytes, may be NULL); otherwise note is "". Fails with
 * AIEB_EINVAL (no messages, a NULL content) or AIEB_ENOMEM / AIEB_ETOOBIG from the
 * buffer. */
AIEB_API int aieb_chat_render(const aieb_chat_template *t, const aieb_chat_msg *msgs, size_t n,
                              const aieb_chat_opts *o, struct aieb_buf *out, char *note,
                              size_t note_cap, aieb_err *err);

#ifdef __cplusplus
}
#endif
#endif
