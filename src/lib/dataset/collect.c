/* collect.c - rules every dataset source shares: UTF-8, empty rows, num_samples,
 * truncation, row and line caps. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/log.h"
#include "dataset/internal.h"

void ds_opts_resolve(const aieb_dataset_options *o, ds_opts *out)
{
    memset(out, 0, sizeof *out);
    out->text_column = o && o->text_column && *o->text_column ? o->text_column : "text";
    out->split = o && o->split && *o->split ? o->split : "train";
    out->num_samples = o ? o->num_samples : 0;
    out->truncation = o && o->truncation;
    out->truncate_chars =
        o && o->truncation_max_chars ? o->truncation_max_chars : AIEB_DATASET_TRUNCATE_CHARS;
    out->max_rows = AIEB_DATASET_MAX_ROWS;
    if (o && o->max_rows && o->max_rows < out->max_rows)
        out->max_rows = o->max_rows;
    out->max_line = AIEB_DATASET_MAX_LINE_BYTES;
    if (o && o->max_line_bytes && o->max_line_bytes < out->max_line)
        out->max_line = o->max_line_bytes;
}

/* ==== UTF-8 ================================================================== */

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past U+10FFFF. */
bool ds_utf8_valid(const char *str, size_t len, size_t *bad)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            goto fail;
        }
        if (len - i <= n)
            goto fail;
        if (s[i + 1] < lo || s[i + 1] > hi)
            goto fail;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                goto fail;
        i += n + 1;
    }
    return true;
fail:
    if (bad)
        *bad = i;
    return false;
}

/* ==== Lines ================================================================== */

int ds_each_line(const char *buf, size_t len, const char *origin, size_t max_line, ds_line_fn fn,
                 void *ctx, aieb_err *err)
{
    size_t pos = 0, lineno = 0;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    while (pos < len) {
        lineno++;
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t n = end - pos;
        if (n > 0 && buf[pos + n - 1] == '\r')
            n--;
        if (n > max_line)
            return aieb_errf(err, AIEB_ETOOBIG,
                             "%s: line %zu: %zu bytes, longer than the %zu-byte line limit", origin,
                             lineno, n, max_line);
        int rc = fn(ctx, buf + pos, n, lineno, err);
        if (rc)
            return rc < 0 ? rc : 0;
        pos = end + 1;
    }
    return 0;
}

/* ==== Collecting ============================================================= */

void ds_collect_init(ds_collect *c, const ds_opts *opts, const char *origin, aieb_dataset *out)
{
    memset(c, 0, sizeof *c);
    c->opts = opts;
    c->origin = origin;
    c->out = out;
}

static bool all_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(" \t\r\n\v\f", s[i]))
            return false;
    return true;
}

/* Bytes of the first max_chars code points of valid UTF-8 s (whole string if shorter);
 * *chars gets the count kept. */
static size_t cut_chars(const char *s, size_t len, size_t max_chars, size_t *chars)
{
    size_t i = 0, n = 0;
    while (i < len && n < max_chars) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        n++;
    }
    *chars = n;
    return i;
}

static size_t count_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

int ds_collect_add(ds_collect *c, const char *text, size_t len, size_t source_row,
                   const char *where, aieb_err *err)
{
    aieb_dataset *ds = c->out;
    if (ds->rows_read >= c->opts->max_rows)
        return aieb_errf(err, AIEB_ETOOBIG, "%s: %s: more than %zu rows (the row limit)", c->origin,
                         where, c->opts->max_rows);
    ds->rows_read++;
    size_t bad = 0;
    if (text && !ds_utf8_valid(text, len, &bad))
        return aieb_errf(err, AIEB_EINVAL,
                         "%s: %s: not valid UTF-8 (byte 0x%02x at offset %zu of the text)",
                         c->origin, where, (unsigned char)text[bad], bad);
    if (text && memchr(text, '\0', len))
        return aieb_errf(err, AIEB_EINVAL, "%s: %s: the text contains a NUL byte", c->origin,
                         where);
    /* Truncation before the emptiness check: a prompt it leaves blank is empty too. */
    size_t keep = len, chars = 0;
    if (text && c->opts->truncation)
        keep = cut_chars(text, len, c->opts->truncate_chars, &chars);
    if (!text || all_space(text, keep)) {
        ds->rows_empty++;
        return 0;
    }
    if (ds->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        aieb_prompt *p = realloc(ds->prompts, cap * sizeof *p);
        if (!p)
            return aieb_errf(err, AIEB_ENOMEM, "%s: out of memory", c->origin);
        ds->prompts = p;
        c->cap = cap;
    }
    aieb_prompt *p = &ds->prompts[ds->n];
    memset(p, 0, sizeof *p);
    p->chars = c->opts->truncation ? chars : count_chars(text, len);
    p->truncated = keep < len;
    p->text = malloc(keep + 1);
    if (!p->text)
        return aieb_errf(err, AIEB_ENOMEM, "%s: out of memory", c->origin);
    memcpy(p->text, text, keep);
    p->text[keep] = '\0';
    p->source_row = source_row;
    ds->n_truncated += p->truncated;
    ds->n++;
    return c->opts->num_samples && ds->n >= c->opts->num_samples ? 1 : 0;
}

int ds_collect_finish(ds_collect *c, aieb_err *err)
{
    aieb_dataset *ds = c->out;
    if (ds->n == 0)
        return aieb_errf(err, AIEB_EINVAL, "%s: no prompts (%zu rows read, %zu empty)", c->origin,
                         ds->rows_read, ds->rows_empty);
    if (c->opts->num_samples && ds->n < c->opts->num_samples)
        AIEB_WARN("%s: num_samples is %zu but only %zu non-empty rows exist; using %zu", c->origin,
                  c->opts->num_samples, ds->n, ds->n);
    return 0;
}
