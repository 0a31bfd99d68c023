/* fuzz_dataset.c - libFuzzer target for the dataset readers (CSV and JSON Lines
 * foremost; JSON and plain text share the entry point).
 *
 * Input: byte 0 picks the format (bits 0-1: jsonl, json, csv, txt) and options
 * (bit 2 truncation to 7 characters, bits 3-4 num_samples 0/1/3/50, bit 5 a 64-byte
 * line cap, bit 6 the column "t" instead of "text"); the rest is the file. Checks,
 * beyond "no crash, no leak, no undefined behaviour":
 * - success gives >= 1 prompt, each non-empty, valid UTF-8, without NUL, with its
 *   character count right, within num_samples and the truncation length;
 * - failure leaves the dataset empty and says why;
 * - CSV and JSONL round-trip: the prompts written back out in that format (every
 *   CSV field quoted, quotes doubled) read back as the same prompts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aieb/buf.h"
#include "aieb/dataset.h"
#include "aieb/log.h"
#include "dataset/internal.h"

static size_t count_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Writes ds's prompts back out as CSV or JSONL with the column "text". */
static char *reencode(aieb_dataset_format fmt, const aieb_dataset *ds, size_t *len)
{
    aieb_buf b;
    aieb_buf_init(&b, 0);
    if (fmt == AIEB_DATASET_CSV)
        aieb_buf_puts(&b, "text\r\n");
    for (size_t i = 0; i < ds->n; i++) {
        const char *t = ds->prompts[i].text;
        if (fmt == AIEB_DATASET_CSV) {
            aieb_buf_puts(&b, "\"");
            for (const char *p = t; *p; p++) {
                if (*p == '"')
                    aieb_buf_puts(&b, "\"\"");
                else
                    aieb_buf_append(&b, p, 1);
            }
            aieb_buf_puts(&b, "\"\n");
        } else {
            json_t *o = json_pack("{s:s}", "text", t);
            char *line = json_dumps(o, JSON_COMPACT);
            aieb_buf_puts(&b, line);
            aieb_buf_puts(&b, "\n");
            free(line);
            json_decref(o);
        }
    }
    *len = b.len;
    return aieb_buf_steal(&b);
}

static void check_roundtrip(aieb_dataset_format fmt, const aieb_dataset *ds,
                            const aieb_dataset_options *o)
{
    size_t len = 0;
    char *text = reencode(fmt, ds, &len);
    aieb_dataset_options o2 = *o;
    o2.text_column = "text";
    o2.max_line_bytes = 0; /* escapes may lengthen lines */
    aieb_dataset again;
    aieb_err err = {0};
    int rc = aieb_dataset_parse_buffer(fmt, text, len, "roundtrip", &o2, &again, &err);
    if (rc != 0 || again.n != ds->n) {
        fprintf(stderr, "round trip failed: rc %d (%s), %zu vs %zu prompts\n", rc, err.msg, again.n,
                ds->n);
        abort();
    }
    for (size_t i = 0; i < ds->n; i++)
        if (strcmp(again.prompts[i].text, ds->prompts[i].text) != 0) {
            fprintf(stderr, "round trip changed prompt %zu\n", i);
            abort();
        }
    aieb_dataset_free(&again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    aieb_log_set_level(AIEB_LOG_SILENT); /* "fewer rows than num_samples" warnings */
    static const size_t samples[] = {0, 1, 3, 50};
    uint8_t sel = data[0];
    aieb_dataset_format fmt = (aieb_dataset_format)(sel & 3);
    aieb_dataset_options o;
    aieb_dataset_options_init(&o);
    o.truncation = (sel >> 2) & 1;
    o.truncation_max_chars = 7;
    o.num_samples = samples[(sel >> 3) & 3];
    o.max_line_bytes = (sel >> 5) & 1 ? 64 : 0;
    o.text_column = (sel >> 6) & 1 ? "t" : "text";
    o.max_rows = 10000;

    aieb_dataset ds;
    aieb_err err = {0};
    int rc =
        aieb_dataset_parse_buffer(fmt, (const char *)data + 1, size - 1, "fuzz", &o, &ds, &err);
    if (rc != 0) {
        if (ds.n != 0 || ds.prompts || err.msg[0] == '\0' || err.code != rc)
            abort();
        return 0;
    }
    if (ds.n == 0 || (o.num_samples && ds.n > o.num_samples))
        abort();
    for (size_t i = 0; i < ds.n; i++) {
        const aieb_prompt *p = &ds.prompts[i];
        size_t n = strlen(p->text);
        if (n == 0 || !ds_utf8_valid(p->text, n, NULL) || count_chars(p->text) != p->chars)
            abort();
        if (o.truncation && p->chars > o.truncation_max_chars)
            abort();
        if (i && p->source_row <= ds.prompts[i - 1].source_row)
            abort();
    }
    if (fmt == AIEB_DATASET_CSV || fmt == AIEB_DATASET_JSONL)
        check_roundtrip(fmt, &ds, &o);
    aieb_dataset_free(&ds);
    return 0;
}
