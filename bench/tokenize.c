/* tokenize.c - bench_tokenize: encoding speed of a GGUF vocabulary on growing texts.
 *
 * Usage: bench_tokenize VOCAB.gguf [MAX_BYTES]
 *
 * Times aieb_engine_tokenize_ex (no BOS, no special parsing) on texts of 16 KB, 64 KB,
 * ... up to MAX_BYTES (default 4 MB) of three kinds: prose (English, code, accents,
 * CJK, emoji, repeated with varying digits), one long word without spaces, and one
 * long run of spaces and newlines. Prints MB/s and ns per byte; a flat ns/byte column
 * as the size grows means the encoder is linear, not quadratic, in the text length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/clock.h"
#include "aieb/engine.h"

static const char PROSE[] =
    "The quick brown fox jumps over the lazy dog; it's 12:34 on day %d. "
    "int main(void) { return a[i] + b->c * 2; }\n\tCaf\xc3\xa9 na\xc3\xafve r\xc3\xa9sum\xc3\xa9, "
    "\xe4\xb8\xad\xe6\x96\x87\xe6\xb5\x8b\xe8\xaf\x95 \xf0\x9f\xa6\x99   \n\n";

static void fill(char *buf, size_t n, int kind)
{
    size_t k = 0;
    int line = 0;
    while (k < n) {
        char chunk[512];
        int m;
        if (kind == 0)
            m = snprintf(chunk, sizeof chunk, PROSE, line++);
        else if (kind == 1)
            m = snprintf(chunk, sizeof chunk, "supercalifragilistic");
        else
            m = snprintf(chunk, sizeof chunk, "      \n  \t ");
        size_t c = (size_t)m < n - k ? (size_t)m : n - k;
        memcpy(buf + k, chunk, c);
        k += c;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_tokenize VOCAB.gguf [MAX_BYTES]\n");
        return 2;
    }
    size_t max = argc > 2 ? strtoull(argv[2], NULL, 10) : (4u << 20);
    aieb_engine_opts o;
    aieb_engine_opts_init(&o);
    o.vocab_only = 1;
    aieb_engine *e;
    aieb_err err = {0};
    if (aieb_engine_open(argv[1], &o, &e, &err) != 0) {
        fprintf(stderr, "bench_tokenize: %s\n", err.msg);
        return 2;
    }
    char *buf = malloc(max);
    int32_t *ids = malloc((3 * max + 8) * sizeof *ids);
    if (!buf || !ids)
        return 2;
    static const char *const kinds[] = {"prose", "one word", "whitespace"};
    printf("%-10s %10s %10s %10s %10s\n", "text", "bytes", "tokens", "MB/s", "ns/byte");
    for (int kind = 0; kind < 3; kind++) {
        for (size_t n = 16384; n <= max; n *= 4) {
            fill(buf, n, kind);
            size_t n_ids = 0;
            int64_t best = -1;
            for (int rep = 0; rep < 3; rep++) {
                int64_t t0 = aieb_now_ns();
                if (aieb_engine_tokenize_ex(e, buf, n, 0, 0, ids, 3 * max + 8, &n_ids, &err)) {
                    fprintf(stderr, "bench_tokenize: %s\n", err.msg);
                    return 1;
                }
                int64_t dt = aieb_now_ns() - t0;
                if (best < 0 || dt < best)
                    best = dt;
            }
            printf("%-10s %10zu %10zu %10.1f %10.1f\n", kinds[kind], n, n_ids,
                   (double)n / (double)best * 1e3, (double)best / (double)n);
        }
    }
    free(buf);
    free(ids);
    aieb_engine_close(e);
    return 0;
}
