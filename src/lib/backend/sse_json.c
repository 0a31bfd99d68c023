/* sse_json.c - one SSE data payload -> aieb_sse_event: a validating one-pass
 * scanner for the common case, jansson for everything else (see sse_json.h). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "backend/sse_json.h"

/* ==== Quoting outside bytes for messages ================================== */

char *sse_quote(const char *s, size_t n, size_t max_bytes, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return out;
    for (size_t i = 0; i < n; i++) {
        if (i == max_bytes) {
            if (o + 4 > cap)
                break;
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f) {
            if (o + 2 > cap)
                break;
            out[o++] = (char)c;
        } else {
            if (o + 5 > cap)
                break;
            snprintf(out + o, 5, "\\x%02x", c);
            o += 4;
        }
    }
    out[o] = '\0';
    return out;
}

/* ==== Fast path: validating scanner ======================================= */

/* Nesting deeper than this is left to jansson (which allows 2048). */
#define FAST_MAX_DEPTH 32

/* A JSON string as it appears in the text (between the quotes). n == 0 means
 * absent or empty; esc says whether it holds escapes to decode. */
typedef struct span {
    const unsigned char *p;
    size_t n;
    int esc;
} span;

typedef struct scanner {
    const unsigned char *p;
    const unsigned char *end;
    int depth;
} scanner;

/* What the members seen so far say. */
typedef struct fast_event {
    span content, reasoning;                                /* chosen so far */
    span d_content, d_reasoning_content, d_reasoning, text; /* current choice */
    int has_usage;
    long long prompt_tokens, completion_tokens, reasoning_tokens;
} fast_event;

typedef int (*member_fn)(scanner *s, const span *key, fast_event *ev);
typedef int (*element_fn)(scanner *s, fast_event *ev);

static const span no_span = {NULL, 0, 0};

static void skip_ws(scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int is_digit(unsigned c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(unsigned c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return (int)(c - 'A' + 10);
    return -1;
}

/* Reads 4 hex digits at p (bounded by end) into *v; 0 when not there. */
static int hex4(const unsigned char *p, const unsigned char *end, unsigned *v)
{
    if (end - p < 4)
        return 0;
    unsigned x = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(p[i]);
        if (h < 0)
            return 0;
        x = (x << 4) | (unsigned)h;
    }
    *v = x;
    return 1;
}

/* Length of the valid UTF-8 sequence at p (2..4), or 0: no overlong forms, no
 * surrogates, nothing past U+10FFFF (RFC 3629, as jansson checks). */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    uint32_t v;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000))
        return 0;
    return n;
}

/* 1 for the bytes a string scan can pass over without a look: printable ASCII
 * and DEL, except '"' and '\\'. */
static const unsigned char plain_byte[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* At '"': validates the string and records it in *out. */
static int scan_string(scanner *s, span *out)
{
    const unsigned char *p = s->p + 1, *end = s->end, *start = p;
    int esc = 0;
    for (;;) {
        while (end - p >= 4 && plain_byte[p[0]] && plain_byte[p[1]] && plain_byte[p[2]] &&
               plain_byte[p[3]])
            p += 4;
        while (p < end && plain_byte[*p])
            p++;
        if (p >= end)
            return 0;
        unsigned c = *p;
        if (c == '"') {
            out->p = start;
            out->n = (size_t)(p - start);
            out->esc = esc;
            s->p = p + 1;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            esc = 1;
            if (++p >= end)
                return 0;
            c = *p;
            if (c == 'u') {
                unsigned v, v2;
                if (!hex4(p + 1, end, &v) || v == 0)
                    return 0;
                p += 5;
                if (v >= 0xD800 && v <= 0xDBFF) {
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, end, &v2) ||
                        v2 < 0xDC00 || v2 > 0xDFFF)
                        return 0;
                    p += 6;
                } else if (v >= 0xDC00 && v <= 0xDFFF) {
                    return 0;
                }
                continue;
            }
            if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
                c == 't') {
                p++;
                continue;
            }
            return 0;
        }
        size_t k = utf8_seq(p, end); /* c >= 0x80 */
        if (!k)
            return 0;
        p += k;
    }
}

/* At '-' or a digit: validates a number. *ival gets its value and *is_int 1 for
 * integers of at most 18 digits; longer integers and reals that could overflow
 * a double are declined (jansson rejects those it cannot hold). */
static int scan_number(scanner *s, long long *ival, int *is_int)
{
    const unsigned char *p = s->p, *end = s->end;
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p >= end)
        return 0;
    size_t int_digits = 0;
    long long v = 0;
    if (*p == '0') {
        p++;
        if (p < end && is_digit(*p))
            return 0;
    } else if (is_digit(*p)) {
        while (p < end && is_digit(*p)) {
            if (int_digits < 18)
                v = v * 10 + (*p - '0');
            int_digits++;
            p++;
        }
    } else {
        return 0;
    }
    int integer = 1;
    long exp10 = 0;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p))
            return 0;
        while (p < end && is_digit(*p))
            p++;
        integer = 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        if (p >= end || !is_digit(*p))
            return 0;
        while (p < end && is_digit(*p)) {
            if (exp10 < 100000)
                exp10 = exp10 * 10 + (*p - '0');
            p++;
        }
        if (eneg)
            exp10 = 0; /* underflow is harmless */
        integer = 0;
    }
    if (integer && int_digits > 18)
        return 0;
    if (!integer && (long)int_digits + exp10 > 300)
        return 0;
    *ival = neg ? -v : v;
    *is_int = integer;
    s->p = p;
    return 1;
}

static int scan_literal(scanner *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return 0;
    s->p += n;
    return 1;
}

static int scan_object(scanner *s, member_fn member, fast_event *ev);
static int scan_array(scanner *s, element_fn element, fast_event *ev);

/* Validates any value at s->p (after whitespace). */
static int skip_value(scanner *s)
{
    skip_ws(s);
    if (s->p >= s->end)
        return 0;
    span sp;
    long long v;
    int is_int;
    switch (*s->p) {
    case '"':
        return scan_string(s, &sp);
    case '{':
        return scan_object(s, NULL, NULL);
    case '[':
        return scan_array(s, NULL, NULL);
    case 't':
        return scan_literal(s, "true", 4);
    case 'f':
        return scan_literal(s, "false", 5);
    case 'n':
        return scan_literal(s, "null", 4);
    default:
        if (*s->p == '-' || is_digit(*s->p))
            return scan_number(s, &v, &is_int);
        return 0;
    }
}

/* At '{': validates an object, handing each member's value to member (NULL:
 * skip). Keys with escapes are declined where members matter. */
static int scan_object(scanner *s, member_fn member, fast_event *ev)
{
    if (++s->depth > FAST_MAX_DEPTH)
        return 0;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        s->depth--;
        return 1;
    }
    for (;;) {
        skip_ws(s);
        span key;
        if (s->p >= s->end || *s->p != '"' || !scan_string(s, &key))
            return 0;
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return 0;
        s->p++;
        skip_ws(s);
        if (s->p >= s->end)
            return 0;
        int ok;
        if (member) {
            if (key.esc)
                return 0;
            ok = member(s, &key, ev);
        } else {
            ok = skip_value(s);
        }
        if (!ok)
            return 0;
        skip_ws(s);
        if (s->p >= s->end)
            return 0;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p == '}') {
            s->p++;
            s->depth--;
            return 1;
        }
        return 0;
    }
}

/* At '[': validates an array, handing each element to element (NULL: skip). */
static int scan_array(scanner *s, element_fn element, fast_event *ev)
{
    if (++s->depth > FAST_MAX_DEPTH)
        return 0;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        s->depth--;
        return 1;
    }
    for (;;) {
        skip_ws(s);
        if (s->p >= s->end)
            return 0;
        if (!(element ? element(s, ev) : skip_value(s)))
            return 0;
        skip_ws(s);
        if (s->p >= s->end)
            return 0;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p == ']') {
            s->p++;
            s->depth--;
            return 1;
        }
        return 0;
    }
}

static int key_is(const span *k, const char *name)
{
    size_t n = strlen(name);
    return k->n == n && memcmp(k->p, name, n) == 0;
}

/* A string member: the string, or no_span (value skipped) for anything else. */
static int string_member(scanner *s, span *out)
{
    if (*s->p == '"')
        return scan_string(s, out);
    *out = no_span;
    return skip_value(s);
}

/* A token count: integers >= 0, else -1. */
static int count_member(scanner *s, long long *out)
{
    *out = -1;
    if (*s->p == '-' || is_digit(*s->p)) {
        long long v;
        int is_int;
        if (!scan_number(s, &v, &is_int))
            return 0;
        if (is_int && v >= 0)
            *out = v;
        return 1;
    }
    return skip_value(s);
}

static int details_member(scanner *s, const span *k, fast_event *ev)
{
    if (key_is(k, "reasoning_tokens"))
        return count_member(s, &ev->reasoning_tokens);
    return skip_value(s);
}

static int usage_member(scanner *s, const span *k, fast_event *ev)
{
    if (key_is(k, "prompt_tokens"))
        return count_member(s, &ev->prompt_tokens);
    if (key_is(k, "completion_tokens"))
        return count_member(s, &ev->completion_tokens);
    if (key_is(k, "completion_tokens_details")) {
        ev->reasoning_tokens = -1;
        if (*s->p == '{')
            return scan_object(s, details_member, ev);
        return skip_value(s);
    }
    return skip_value(s);
}

static int delta_member(scanner *s, const span *k, fast_event *ev)
{
    if (key_is(k, "content"))
        return string_member(s, &ev->d_content);
    if (key_is(k, "reasoning_content"))
        return string_member(s, &ev->d_reasoning_content);
    if (key_is(k, "reasoning"))
        return string_member(s, &ev->d_reasoning);
    return skip_value(s);
}

static int choice_member(scanner *s, const span *k, fast_event *ev)
{
    if (key_is(k, "delta")) {
        ev->d_content = ev->d_reasoning_content = ev->d_reasoning = no_span;
        if (*s->p == '{')
            return scan_object(s, delta_member, ev);
        return skip_value(s);
    }
    if (key_is(k, "text"))
        return string_member(s, &ev->text);
    return skip_value(s);
}

static int choice_element(scanner *s, fast_event *ev)
{
    if (*s->p != '{')
        return skip_value(s);
    ev->d_content = ev->d_reasoning_content = ev->d_reasoning = ev->text = no_span;
    if (!scan_object(s, choice_member, ev))
        return 0;
    const span *c = ev->d_content.n ? &ev->d_content : &ev->text;
    const span *r = ev->d_reasoning_content.n ? &ev->d_reasoning_content : &ev->d_reasoning;
    if (!ev->content.n && c->n)
        ev->content = *c;
    if (!ev->reasoning.n && r->n)
        ev->reasoning = *r;
    return 1;
}

static int top_member(scanner *s, const span *k, fast_event *ev)
{
    if (key_is(k, "choices")) {
        ev->content = ev->reasoning = no_span;
        if (*s->p == '[')
            return scan_array(s, choice_element, ev);
        return skip_value(s);
    }
    if (key_is(k, "usage")) {
        ev->has_usage = 0;
        ev->prompt_tokens = ev->completion_tokens = ev->reasoning_tokens = -1;
        if (*s->p == '{') {
            ev->has_usage = 1;
            return scan_object(s, usage_member, ev);
        }
        return skip_value(s);
    }
    if (key_is(k, "error"))
        return 0; /* error chunks: jansson reads the message */
    if (key_is(k, "object") && *s->p == '"') {
        span v;
        if (!scan_string(s, &v))
            return 0;
        return !(v.esc || (v.n == 5 && memcmp(v.p, "error", 5) == 0));
    }
    return skip_value(s);
}

static void put_utf8(unsigned char *o, size_t *len, uint32_t v)
{
    if (v < 0x80) {
        o[(*len)++] = (unsigned char)v;
    } else if (v < 0x800) {
        o[(*len)++] = (unsigned char)(0xC0 | (v >> 6));
        o[(*len)++] = (unsigned char)(0x80 | (v & 0x3F));
    } else if (v < 0x10000) {
        o[(*len)++] = (unsigned char)(0xE0 | (v >> 12));
        o[(*len)++] = (unsigned char)(0x80 | ((v >> 6) & 0x3F));
        o[(*len)++] = (unsigned char)(0x80 | (v & 0x3F));
    } else {
        o[(*len)++] = (unsigned char)(0xF0 | (v >> 18));
        o[(*len)++] = (unsigned char)(0x80 | ((v >> 12) & 0x3F));
        o[(*len)++] = (unsigned char)(0x80 | ((v >> 6) & 0x3F));
        o[(*len)++] = (unsigned char)(0x80 | (v & 0x3F));
    }
}

/* Appends the decoded string plus a NUL to b (the span was validated, and a
 * decoded string is never longer than its source). */
static int decode_span(aieb_buf *b, const span *sp)
{
    size_t at = b->len;
    int rc = aieb_buf_append(b, sp->p, sp->n); /* escapes are decoded over it below */
    if (rc)
        return rc;
    if (!sp->esc)
        return aieb_buf_append(b, "", 1);
    unsigned char *o = (unsigned char *)b->data + at;
    size_t len = 0;
    const unsigned char *p = sp->p, *end = sp->p + sp->n;
    while (p < end) {
        if (*p != '\\') {
            o[len++] = *p++;
            continue;
        }
        p++;
        unsigned c = *p++;
        unsigned v = 0, v2 = 0xDC00; /* set by hex4 on input validated earlier */
        switch (c) {
        case 'b':
            o[len++] = '\b';
            break;
        case 'f':
            o[len++] = '\f';
            break;
        case 'n':
            o[len++] = '\n';
            break;
        case 'r':
            o[len++] = '\r';
            break;
        case 't':
            o[len++] = '\t';
            break;
        case 'u':
            hex4(p, end, &v);
            p += 4;
            if (v >= 0xD800 && v <= 0xDBFF) {
                hex4(p + 2, end, &v2);
                p += 6;
                v = 0x10000 + ((v - 0xD800) << 10) + (v2 - 0xDC00);
            }
            put_utf8(o, &len, v);
            break;
        default:
            o[len++] = (unsigned char)c;
            break; /* " \ / */
        }
    }
    b->len = at + len;
    return aieb_buf_append(b, "", 1);
}

/* Points ev's strings into scratch: content first, then reasoning. */
static int store_strings(aieb_buf *scratch, const span *content, const span *reasoning,
                         aieb_sse_event *ev)
{
    aieb_buf_reset(scratch);
    int rc = decode_span(scratch, content);
    size_t r_at = scratch->len;
    if (rc == 0)
        rc = decode_span(scratch, reasoning);
    if (rc)
        return rc;
    ev->content_len = r_at - 1;
    ev->reasoning_len = scratch->len - r_at - 1;
    ev->content = ev->content_len ? scratch->data : NULL;
    ev->reasoning = ev->reasoning_len ? scratch->data + r_at : NULL;
    return 0;
}

int sse_json_fast(const char *text, size_t n, aieb_buf *scratch, aieb_sse_event *out)
{
    scanner s = {(const unsigned char *)text, (const unsigned char *)text + n, 0};
    fast_event ev;
    memset(&ev, 0, sizeof ev);
    ev.prompt_tokens = ev.completion_tokens = ev.reasoning_tokens = -1;
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return 0;
    if (!scan_object(&s, top_member, &ev))
        return 0;
    skip_ws(&s);
    if (s.p != s.end)
        return 0;
    int rc = store_strings(scratch, &ev.content, &ev.reasoning, out);
    if (rc)
        return rc;
    out->has_usage = ev.has_usage;
    out->prompt_tokens = ev.prompt_tokens;
    out->completion_tokens = ev.completion_tokens;
    out->reasoning_tokens = ev.reasoning_tokens;
    return 1;
}

/* ==== Slow path: jansson ================================================== */

/* The string at o[key] when it is a non-empty string, else NULL. */
static const char *nonempty(json_t *o, const char *key, size_t *len)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return NULL;
    *len = json_string_length(v);
    return json_string_value(v);
}

static long long count_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    return (long long)json_integer_value(v);
}

/* Copies the message of an error object (root) into out; 1 when found. */
static int error_text(json_t *root, char *out, size_t cap)
{
    json_t *e = json_object_get(root, "error");
    const char *msg = NULL;
    json_t *shown = NULL;
    if (e && !json_is_null(e)) {
        if (json_is_string(e))
            msg = json_string_value(e);
        else if (json_is_string(json_object_get(e, "message")))
            msg = json_string_value(json_object_get(e, "message"));
        else
            shown = e;
    } else if (json_is_string(json_object_get(root, "message"))) {
        msg = json_string_value(json_object_get(root, "message"));
    } else if (json_is_string(json_object_get(root, "detail"))) {
        msg = json_string_value(json_object_get(root, "detail")); /* FastAPI's default */
    } else {
        return 0;
    }
    if (msg) {
        sse_quote(msg, strlen(msg), 400, out, cap);
        return 1;
    }
    char *dump = json_dumps(shown, JSON_COMPACT);
    if (!dump)
        return 0;
    sse_quote(dump, strlen(dump), 400, out, cap);
    free(dump);
    return 1;
}

int aieb_sse_error_message(const char *body, size_t len, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    json_t *root = json_loadb(body, len, 0, NULL);
    int found = json_is_object(root) && error_text(root, out, cap);
    json_decref(root);
    if (!found) {
        /* trailing whitespace says nothing */
        while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == ' '))
            len--;
        sse_quote(body, len, 200, out, cap);
    }
    return found;
}

int sse_json_slow(const char *text, size_t n, aieb_buf *scratch, aieb_sse_event *ev, aieb_err *err)
{
    char shown[400];
    json_error_t jerr;
    json_t *root = json_loadb(text, n, 0, &jerr);
    if (!root)
        return aieb_errf(err, AIEB_EFAIL, "data line is not JSON (%s, at byte %d): '%s'", jerr.text,
                         jerr.position, sse_quote(text, n, 80, shown, sizeof shown));
    int rc = 0;
    if (!json_is_object(root)) {
        rc = aieb_errf(err, AIEB_EFAIL, "data line is JSON but not an object: '%s'",
                       sse_quote(text, n, 80, shown, sizeof shown));
        goto out;
    }
    json_t *e = json_object_get(root, "error");
    json_t *obj = json_object_get(root, "object");
    if ((e && !json_is_null(e)) ||
        (json_is_string(obj) && strcmp(json_string_value(obj), "error") == 0)) {
        char msg[512];
        if (!error_text(root, msg, sizeof msg))
            sse_quote(text, n, 200, msg, sizeof msg);
        rc = aieb_errf(err, AIEB_EFAIL, "server error mid-stream: %s", msg);
        goto out;
    }

    span content = no_span, reasoning = no_span;
    json_t *choices = json_object_get(root, "choices");
    size_t i;
    json_t *choice;
    json_array_foreach(choices, i, choice)
    {
        if (!json_is_object(choice))
            continue;
        json_t *delta = json_object_get(choice, "delta");
        size_t len = 0;
        const char *c = json_is_object(delta) ? nonempty(delta, "content", &len) : NULL;
        if (!c)
            c = nonempty(choice, "text", &len);
        if (c && !content.n)
            content = (span){(const unsigned char *)c, len, 0};
        const char *r = NULL;
        if (json_is_object(delta)) {
            r = nonempty(delta, "reasoning_content", &len);
            if (!r)
                r = nonempty(delta, "reasoning", &len);
        }
        if (r && !reasoning.n)
            reasoning = (span){(const unsigned char *)r, len, 0};
    }
    if ((rc = store_strings(scratch, &content, &reasoning, ev)) != 0) {
        rc = aieb_errf(err, rc, "data line: %s", aieb_strerror(rc));
        goto out;
    }
    json_t *usage = json_object_get(root, "usage");
    ev->has_usage = json_is_object(usage);
    ev->prompt_tokens = ev->completion_tokens = ev->reasoning_tokens = -1;
    if (ev->has_usage) {
        ev->prompt_tokens = count_of(usage, "prompt_tokens");
        ev->completion_tokens = count_of(usage, "completion_tokens");
        json_t *details = json_object_get(usage, "completion_tokens_details");
        if (json_is_object(details))
            ev->reasoning_tokens = count_of(details, "reasoning_tokens");
    }
out:
    json_decref(root);
    return rc;
}
