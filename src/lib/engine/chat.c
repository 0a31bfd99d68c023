/* chat.c - chat-template families and their renderings (see chat.h).
 *
 * Each family's strings are those its templates emit (the files checked are in
 * llama.cpp's models/templates/ and the models' tokenizer_config.json):
 *   chatml    Qwen-Qwen2.5-7B-Instruct.jinja, Qwen-Qwen3-0.6B.jinja, SmolLM2's template
 *   llama3    Meta-Llama-3-8B-Instruct's template, meta-llama-Llama-3.1-8B-Instruct.jinja,
 *             meta-llama-Llama-3.2-3B-Instruct.jinja
 *   llama2    Llama-2-7b-chat-hf's template
 *   mistral   Mistral-7B-Instruct-v0.2's template, mistralai-Mistral-Nemo-Instruct-2407.jinja,
 *             Mistral-Small-3.2-24B-Instruct-2506.jinja
 *   phi3      microsoft-Phi-3.5-mini-instruct.jinja, Phi-3-mini-4k-instruct's template
 *   gemma     google-gemma-2-2b-it.jinja, gemma-3's template
 *   deepseek  deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja, deepseek-ai-DeepSeek-V3.1.jinja
 *   deepseek-llm  deepseek-llm-7b-chat's template
 *   zephyr    TinyLlama-1.1B-Chat-v1.0's template (zephyr-7b-beta's)
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "aieb/buf.h"
#include "aieb/chat.h"

/* ==== detection ============================================================ */

static const char *find(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    if (!s || n == 0 || n > len)
        return NULL;
    for (size_t i = 0; i + n <= len; i++)
        if (s[i] == needle[0] && memcmp(s + i, needle, n) == 0)
            return s + i;
    return NULL;
}

static int has(const char *s, size_t len, const char *needle)
{
    return find(s, len, needle) != NULL;
}

/* ChatML templates that put a fixed system message when none is given write it as one
 * Jinja string literal: '<|im_start|>system\nTEXT<|im_end|>\n', the newline written as
 * the escape \n (Qwen2.5's files) or as a real newline (Qwen2's, whose template JSON
 * decoded it). TEXT must be plain (no quote, brace or '+', i.e. not built from
 * variables); its \n escapes are undone. */
static void chatml_default_system(const char *s, size_t len, char *out, size_t cap)
{
    static const char *const opens[] = {"<|im_start|>system\\n", "<|im_start|>system\n"};
    static const char close[] = "<|im_end|>";
    out[0] = 0;
    const char *end = s + len;
    for (size_t k = 0; k < sizeof opens / sizeof opens[0]; k++) {
        const char *p = s, *open = opens[k];
        while ((p = find(p, (size_t)(end - p), open)) != NULL) {
            const char *t = p + strlen(open);
            const char *c = find(t, (size_t)(end - t), close);
            p = t;
            if (!c || c == t || (size_t)(c - t) >= cap)
                continue;
            int plain = 1;
            for (const char *q = t; q < c && plain; q++)
                plain = *q != '\'' && *q != '"' && *q != '{' && *q != '}' && *q != '+';
            if (!plain)
                continue;
            size_t o = 0;
            for (const char *q = t; q < c; q++) {
                if (q[0] == '\\' && q + 1 < c && q[1] == 'n') {
                    out[o++] = '\n';
                    q++;
                } else {
                    out[o++] = *q;
                }
            }
            out[o] = 0;
            return;
        }
    }
}

/* Llama 3.1's fixed date: {%- set date_string = "26 Jul 2024" %}. */
static void llama3_date(const char *s, size_t len, char *out, size_t cap)
{
    static const char key[] = "set date_string = \"";
    snprintf(out, cap, "26 Jul 2024");
    const char *p = find(s, len, key);
    if (!p)
        return;
    p += strlen(key);
    const char *q = memchr(p, '"', (size_t)(s + len - p));
    if (q && q > p && (size_t)(q - p) < cap)
        snprintf(out, cap, "%.*s", (int)(q - p), p);
}

void aieb_chat_detect(const char *s, size_t len, aieb_chat_template *t)
{
    memset(t, 0, sizeof *t);
    if (!s || len == 0) {
        t->family = AIEB_CHAT_NONE;
        return;
    }
    if (has(s, len, "<|start_header_id|>")) {
        t->family = AIEB_CHAT_LLAMA3;
        if (has(s, len, "Cutting Knowledge Date")) {
            t->flags |= AIEB_CHAT_DATED_SYSTEM;
            if (has(s, len, "strftime_now"))
                t->flags |= AIEB_CHAT_TODAY;
            llama3_date(s, len, t->date, sizeof t->date);
        }
    } else if (has(s, len, "<|im_start|>")) {
        t->family = AIEB_CHAT_CHATML;
        if (has(s, len, "enable_thinking") && has(s, len, "<think>\\n\\n</think>\\n\\n"))
            t->flags |= AIEB_CHAT_THINK_SWITCH;
        chatml_default_system(s, len, t->default_system, sizeof t->default_system);
    } else if (has(s, len, "<start_of_turn>")) {
        t->family = AIEB_CHAT_GEMMA;
        if (has(s, len, "System role not supported"))
            t->flags |= AIEB_CHAT_NO_SYSTEM;
    } else if (has(s, len, "<|user|>") && has(s, len, "<|end|>")) {
        t->family = AIEB_CHAT_PHI3;
        if (!has(s, len, "<|system|>"))
            t->flags |= AIEB_CHAT_NO_SYSTEM;
    } else if (has(s, len, "<|user|>") && has(s, len, "<|assistant|>")) {
        t->family = AIEB_CHAT_ZEPHYR;
    } else if (has(s, len, "<\xef\xbd\x9cUser\xef\xbd\x9c>")) { /* <｜User｜> */
        t->family = AIEB_CHAT_DEEPSEEK;
        if (has(s, len, "'<think></think>'") && has(s, len, "thinking"))
            t->flags |= AIEB_CHAT_THINK_PARAM;
        else if (has(s, len,
                     "<\xef\xbd\x9c"
                     "Assistant\xef\xbd\x9c><think>\\n")) {
            t->flags |= AIEB_CHAT_THINK_OPEN;
            if (has(s, len, "enable_thinking"))
                t->flags |= AIEB_CHAT_THINK_SWITCH;
        }
    } else if (has(s, len, "[INST]") && has(s, len, "<<SYS>>")) {
        t->family = AIEB_CHAT_LLAMA2;
    } else if (has(s, len, "[INST]")) {
        t->family = AIEB_CHAT_MISTRAL;
        if (has(s, len, "[SYSTEM_PROMPT]"))
            t->flags |= AIEB_CHAT_SYSTEM_PROMPT;
        else if (has(s, len, "[INST] "))
            t->flags |= AIEB_CHAT_SPACED;
        if (has(s, len, "Only user and assistant roles are supported!"))
            t->flags |= AIEB_CHAT_NO_SYSTEM;
    } else if (has(s, len, "User: ") && has(s, len, "Assistant:")) {
        t->family = AIEB_CHAT_DEEPSEEK_LLM;
    } else {
        t->family = AIEB_CHAT_UNKNOWN;
    }
}

const char *aieb_chat_family_name(aieb_chat_family f)
{
    switch (f) {
    case AIEB_CHAT_NONE:
        return "none";
    case AIEB_CHAT_UNKNOWN:
        return "unknown";
    case AIEB_CHAT_CHATML:
        return "chatml";
    case AIEB_CHAT_LLAMA3:
        return "llama3";
    case AIEB_CHAT_LLAMA2:
        return "llama2";
    case AIEB_CHAT_MISTRAL:
        return "mistral";
    case AIEB_CHAT_PHI3:
        return "phi3";
    case AIEB_CHAT_GEMMA:
        return "gemma";
    case AIEB_CHAT_DEEPSEEK:
        return "deepseek";
    case AIEB_CHAT_DEEPSEEK_LLM:
        return "deepseek-llm";
    case AIEB_CHAT_ZEPHYR:
        return "zephyr";
    }
    return "unknown";
}

/* ==== rendering ============================================================ */

typedef struct writer {
    aieb_buf *b;
    int rc;
} writer;

static void put(writer *w, const char *s)
{
    if (!w->rc && s)
        w->rc = aieb_buf_puts(w->b, s);
}

static void put_n(writer *w, const char *s, size_t n)
{
    if (!w->rc && n)
        w->rc = aieb_buf_append(w->b, s, n);
}

/* Jinja's trim / Python's str.strip(): whitespace off both ends. */
static void put_trim(writer *w, const char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    put_n(w, s, n);
}

static const char *role_name(aieb_chat_role r)
{
    return r == AIEB_CHAT_SYSTEM ? "system" : r == AIEB_CHAT_USER ? "user" : "assistant";
}

/* The conversation split the way most templates read it: the leading system message
 * apart, the rest in order. */
typedef struct convo {
    const char *system; /* NULL when the first message is not a system message */
    const aieb_chat_msg *m;
    size_t n;
} convo;

static convo split(const aieb_chat_msg *msgs, size_t n)
{
    convo c = {NULL, msgs, n};
    if (n && msgs[0].role == AIEB_CHAT_SYSTEM) {
        c.system = msgs[0].content;
        c.m++;
        c.n--;
    }
    return c;
}

static void note_set(char *note, size_t cap, const char *text)
{
    if (note && cap)
        snprintf(note, cap, "%s", text);
}

static void render_chatml(const aieb_chat_template *t, const aieb_chat_msg *m, size_t n,
                          const aieb_chat_opts *o, writer *w)
{
    if ((n == 0 || m[0].role != AIEB_CHAT_SYSTEM) && t->default_system[0]) {
        put(w, "<|im_start|>system\n");
        put(w, t->default_system);
        put(w, "<|im_end|>\n");
    }
    for (size_t i = 0; i < n; i++) {
        put(w, "<|im_start|>");
        put(w, role_name(m[i].role));
        put(w, "\n");
        put(w, m[i].content);
        put(w, "<|im_end|>\n");
    }
    if (!o->add_generation_prompt)
        return;
    put(w, "<|im_start|>assistant\n");
    if ((t->flags & AIEB_CHAT_THINK_SWITCH) && o->enable_thinking == 0)
        put(w, "<think>\n\n</think>\n\n");
}

static void today(char *out, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, cap, "%d %b %Y", &tm);
}

static void render_llama3(const aieb_chat_template *t, const aieb_chat_msg *msgs, size_t n,
                          const aieb_chat_opts *o, writer *w)
{
    const aieb_chat_msg *m = msgs;
    if (t->flags & AIEB_CHAT_DATED_SYSTEM) {
        convo c = split(msgs, n);
        char date[32];
        if (o->date)
            snprintf(date, sizeof date, "%s", o->date);
        else if (t->flags & AIEB_CHAT_TODAY)
            today(date, sizeof date);
        else
            snprintf(date, sizeof date, "%s", t->date);
        put(w, "<|start_header_id|>system<|end_header_id|>\n\n"
               "Cutting Knowledge Date: December 2023\nToday Date: ");
        put(w, date);
        put(w, "\n\n");
        if (c.system)
            put_trim(w, c.system);
        put(w, "<|eot_id|>");
        m = c.m;
        n = c.n;
    }
    for (size_t i = 0; i < n; i++) {
        put(w, "<|start_header_id|>");
        put(w, role_name(m[i].role));
        put(w, "<|end_header_id|>\n\n");
        put_trim(w, m[i].content);
        put(w, "<|eot_id|>");
    }
    if (o->add_generation_prompt)
        put(w, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* The first user message is '<<SYS>>\n' + system + '\n<</SYS>>\n\n' + content, then
 * strip()ped: that starts with '<', so only the content's trailing whitespace goes. */
static void render_llama2(const aieb_chat_msg *msgs, size_t n, const aieb_chat_opts *o, writer *w)
{
    convo c = split(msgs, n);
    int first_user = 1;
    for (size_t i = 0; i < c.n; i++) {
        const aieb_chat_msg *m = &c.m[i];
        if (m->role == AIEB_CHAT_USER) {
            if (i > 0)
                put(w, o->bos);
            put(w, "[INST] ");
            if (first_user && c.system) {
                put(w, "<<SYS>>\n");
                put(w, c.system);
                put(w, "\n<</SYS>>\n\n");
                size_t len = strlen(m->content);
                while (len && isspace((unsigned char)m->content[len - 1]))
                    len--;
                put_n(w, m->content, len);
            } else {
                put_trim(w, m->content);
            }
            put(w, " [/INST]");
            first_user = 0;
        } else if (m->role == AIEB_CHAT_ASSISTANT) {
            put(w, " ");
            put_trim(w, m->content);
            put(w, " ");
            put(w, o->eos);
        }
    }
}

static void render_mistral(const aieb_chat_template *t, const aieb_chat_msg *msgs, size_t n,
                           const aieb_chat_opts *o, writer *w)
{
    convo c = split(msgs, n);
    int spaced = (t->flags & AIEB_CHAT_SPACED) != 0;
    size_t last_user = c.n;
    for (size_t i = 0; i < c.n; i++)
        if (c.m[i].role == AIEB_CHAT_USER)
            last_user = i;
    if ((t->flags & AIEB_CHAT_SYSTEM_PROMPT) && c.system) {
        put(w, "[SYSTEM_PROMPT]");
        put(w, c.system);
        put(w, "[/SYSTEM_PROMPT]");
    }
    for (size_t i = 0; i < c.n; i++) {
        const aieb_chat_msg *m = &c.m[i];
        if (m->role == AIEB_CHAT_USER) {
            put(w, spaced ? "[INST] " : "[INST]");
            /* v1-v3 and Tekken put the system message before the last user message */
            if (i == last_user && c.system && !(t->flags & AIEB_CHAT_SYSTEM_PROMPT)) {
                put(w, c.system);
                put(w, "\n\n");
            }
            put(w, m->content);
            put(w, spaced ? " [/INST]" : "[/INST]");
        } else if (m->role == AIEB_CHAT_ASSISTANT) {
            put(w, m->content);
            put(w, o->eos);
        }
    }
}

static void render_phi3(const aieb_chat_template *t, const aieb_chat_msg *msgs, size_t n,
                        const aieb_chat_opts *o, writer *w)
{
    convo c = split(msgs, n);
    int merge = (t->flags & AIEB_CHAT_NO_SYSTEM) && c.system && *c.system;
    if (!merge && c.system && *c.system) {
        put(w, "<|system|>\n");
        put(w, c.system);
        put(w, "<|end|>\n");
    }
    int first = 1;
    for (size_t i = 0; i < c.n; i++) {
        const aieb_chat_msg *m = &c.m[i];
        if (m->role == AIEB_CHAT_SYSTEM)
            continue;
        put(w, m->role == AIEB_CHAT_USER ? "<|user|>\n" : "<|assistant|>\n");
        if (merge && first && m->role == AIEB_CHAT_USER) {
            put(w, c.system);
            put(w, "\n\n");
            first = 0;
        }
        put(w, m->content);
        put(w, "<|end|>\n");
    }
    if (o->add_generation_prompt)
        put(w, "<|assistant|>\n");
    else
        put(w, o->eos);
}

static void render_gemma(const aieb_chat_msg *msgs, size_t n, const aieb_chat_opts *o, writer *w)
{
    convo c = split(msgs, n);
    for (size_t i = 0; i < c.n; i++) {
        const aieb_chat_msg *m = &c.m[i];
        put(w, "<start_of_turn>");
        put(w, m->role == AIEB_CHAT_ASSISTANT ? "model" : role_name(m->role));
        put(w, "\n");
        if (i == 0 && c.system) { /* Gemma 3's first_user_prefix */
            put(w, c.system);
            put(w, "\n\n");
        }
        put_trim(w, m->content);
        put(w, "<end_of_turn>\n");
    }
    if (o->add_generation_prompt)
        put(w, "<start_of_turn>model\n");
}

#define DS_USER "<\xef\xbd\x9cUser\xef\xbd\x9c>"
#define DS_ASSISTANT                                                                               \
    "<\xef\xbd\x9c"                                                                                \
    "Assistant\xef\xbd\x9c>"
#define DS_EOS                                                                                     \
    "<\xef\xbd\x9c"                                                                                \
    "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"

static void render_deepseek(const aieb_chat_template *t, const aieb_chat_msg *msgs, size_t n,
                            const aieb_chat_opts *o, writer *w)
{
    /* every system message's text goes first, joined by blank lines (V3.1; R1 keeps the
     * last one; with one system message, as here, both give that message) */
    int first_sys = 1;
    for (size_t i = 0; i < n; i++)
        if (msgs[i].role == AIEB_CHAT_SYSTEM) {
            if (!first_sys)
                put(w, "\n\n");
            put(w, msgs[i].content);
            first_sys = 0;
        }
    for (size_t i = 0; i < n; i++) {
        const aieb_chat_msg *m = &msgs[i];
        if (m->role == AIEB_CHAT_USER) {
            put(w, DS_USER);
            put(w, m->content);
        } else if (m->role == AIEB_CHAT_ASSISTANT) {
            /* earlier turns lose their reasoning: only what follows </think> stays */
            const char *s = m->content, *p;
            while ((p = strstr(s, "</think>")) != NULL)
                s = p + strlen("</think>");
            put(w, DS_ASSISTANT);
            if (t->flags & AIEB_CHAT_THINK_PARAM) /* V3.1 closes an empty think block */
                put(w, "<think></think>");
            put(w, s);
            put(w, DS_EOS);
        }
    }
    if (!o->add_generation_prompt)
        return;
    put(w, DS_ASSISTANT);
    if (t->flags & AIEB_CHAT_THINK_PARAM) {
        put(w, o->enable_thinking == 1 ? "<think>" : "<think></think>");
    } else if (t->flags & AIEB_CHAT_THINK_OPEN) {
        put(w, "<think>\n");
        if ((t->flags & AIEB_CHAT_THINK_SWITCH) && o->enable_thinking == 0)
            put(w, "</think>");
    }
}

static void render_deepseek_llm(const aieb_chat_msg *msgs, size_t n, const aieb_chat_opts *o,
                                writer *w)
{
    for (size_t i = 0; i < n; i++) {
        const aieb_chat_msg *m = &msgs[i];
        if (m->role == AIEB_CHAT_SYSTEM) {
            put(w, m->content);
            put(w, "\n\n");
        } else if (m->role == AIEB_CHAT_USER) {
            put(w, "User: ");
            put(w, m->content);
            put(w, "\n\n");
        } else {
            put(w, "Assistant: ");
            put(w, m->content);
            put(w, o->eos);
        }
    }
    if (o->add_generation_prompt)
        put(w, "Assistant:");
}

/* TinyLlama-1.1B-Chat-v1.0's template, as Hugging Face renders it (trim_blocks: the
 * newline after each {{ ... }} stays, those after {% ... %} tags go). */
static void render_zephyr(const aieb_chat_msg *msgs, size_t n, const aieb_chat_opts *o, writer *w)
{
    for (size_t i = 0; i < n; i++) {
        put(w, "<|");
        put(w, role_name(msgs[i].role));
        put(w, "|>\n");
        put(w, msgs[i].content);
        put(w, o->eos);
        put(w, "\n");
    }
    if (o->add_generation_prompt)
        put(w, "<|assistant|>\n");
}

/* No template, or one not recognised: the contents joined by blank lines. */
static void render_plain(const aieb_chat_msg *msgs, size_t n, writer *w)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(w, "\n\n");
        put(w, msgs[i].content);
    }
}

int aieb_chat_render(const aieb_chat_template *t, const aieb_chat_msg *msgs, size_t n,
                     const aieb_chat_opts *opts, aieb_buf *out, char *note, size_t note_cap,
                     aieb_err *err)
{
    note_set(note, note_cap, "");
    if (n == 0)
        return aieb_errf(err, AIEB_EINVAL, "chat: no messages to render");
    for (size_t i = 0; i < n; i++)
        if (!msgs[i].content)
            return aieb_errf(err, AIEB_EINVAL, "chat: message %zu has no content", i);
    aieb_chat_opts o = {.add_generation_prompt = 1, .enable_thinking = -1};
    if (opts)
        o = *opts;
    if (!o.eos)
        o.eos = t->eos;
    if (!o.bos)
        o.bos = "";
    int has_system = msgs[0].role == AIEB_CHAT_SYSTEM;
    writer w = {out, 0};
    switch (t->family) {
    case AIEB_CHAT_CHATML:
        render_chatml(t, msgs, n, &o, &w);
        break;
    case AIEB_CHAT_LLAMA3:
        render_llama3(t, msgs, n, &o, &w);
        break;
    case AIEB_CHAT_LLAMA2:
        render_llama2(msgs, n, &o, &w);
        break;
    case AIEB_CHAT_MISTRAL:
        render_mistral(t, msgs, n, &o, &w);
        if (has_system && (t->flags & AIEB_CHAT_NO_SYSTEM))
            note_set(note, note_cap,
                     "the chat template has no system role; the system message was put "
                     "before the last user message");
        if (!has_system && (t->flags & AIEB_CHAT_SYSTEM_PROMPT))
            note_set(note, note_cap,
                     "the chat template's own default system message was left out (it "
                     "carries today's date); give a system prompt to set one");
        break;
    case AIEB_CHAT_PHI3:
        render_phi3(t, msgs, n, &o, &w);
        if (has_system && (t->flags & AIEB_CHAT_NO_SYSTEM))
            note_set(note, note_cap,
                     "the chat template has no system role; the system message was put "
                     "before the first user message");
        break;
    case AIEB_CHAT_GEMMA:
        render_gemma(msgs, n, &o, &w);
        if (has_system && (t->flags & AIEB_CHAT_NO_SYSTEM))
            note_set(note, note_cap,
                     "the chat template has no system role; the system message was put "
                     "before the first user message, as Gemma 3's template does");
        break;
    case AIEB_CHAT_DEEPSEEK:
        render_deepseek(t, msgs, n, &o, &w);
        break;
    case AIEB_CHAT_DEEPSEEK_LLM:
        render_deepseek_llm(msgs, n, &o, &w);
        break;
    case AIEB_CHAT_ZEPHYR:
        render_zephyr(msgs, n, &o, &w);
        break;
    case AIEB_CHAT_UNKNOWN:
        render_plain(msgs, n, &w);
        note_set(note, note_cap,
                 "the model's chat template (tokenizer.chat_template) is not one aieb "
                 "recognises; the messages were joined as plain text");
        break;
    case AIEB_CHAT_NONE:
        render_plain(msgs, n, &w);
        break;
    }
    if (w.rc)
        return aieb_errf(err, w.rc, "chat: the rendered prompt does not fit in memory");
    return 0;
}
