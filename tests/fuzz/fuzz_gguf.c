/* fuzz_gguf.c - libFuzzer target for the GGUF reader and what reads its result.
 *
 * Every input is parsed; a file that parses is walked through every accessor (each
 * key's typed getters, every element of every array, every tensor's bytes), then
 * handed to the model loader and the tokenizer, which check shapes, types and ids
 * against what the file really holds. Nothing may read outside the input, leak, or
 * allocate more than the input can justify (libFuzzer's -rss_limit_mb catches that).
 * Seed corpus: tests/fuzz/corpus/fuzz_gguf/ (tiny models of each type and arch).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/gguf.h"
#include "engine/model.h"
#include "engine/tokenizer.h"

static volatile uint64_t sink;

static void walk(const aieb_gguf *g)
{
    aieb_err err;
    for (size_t i = 0; i < aieb_gguf_n_kv(g); i++) {
        const aieb_gguf_kv *kv = aieb_gguf_kv_at(g, i);
        char key[128];
        size_t n = kv->key.len < sizeof key - 1 ? (size_t)kv->key.len : sizeof key - 1;
        memcpy(key, kv->key.ptr, n);
        key[n] = 0;
        uint32_t u;
        int64_t v;
        double f;
        int b;
        aieb_gguf_str s;
        if (aieb_gguf_get_u32(g, key, &u, &err) == 0)
            sink += u;
        if (aieb_gguf_get_i64(g, key, &v, &err) == 0)
            sink += (uint64_t)v;
        if (aieb_gguf_get_f64(g, key, &f, &err) == 0)
            sink += f == f;
        if (aieb_gguf_get_bool(g, key, &b, &err) == 0)
            sink += (uint64_t)b;
        if (aieb_gguf_get_str(g, key, &s, &err) == 0 && s.len)
            sink += (unsigned char)s.ptr[s.len - 1];
        if (kv->type != AIEB_GGUF_ARRAY)
            continue;
        for (uint64_t k = 0; k < kv->arr_n; k++) {
            if (kv->arr_type == AIEB_GGUF_STRING) {
                aieb_gguf_str e = aieb_gguf_arr_str(kv, k);
                if (e.len)
                    sink += (unsigned char)e.ptr[0] + (unsigned char)e.ptr[e.len - 1];
            } else {
                sink += (uint64_t)aieb_gguf_arr_i64(kv, k);
                sink += aieb_gguf_arr_f64(kv, k) > 0;
            }
        }
    }
    for (size_t i = 0; i < aieb_gguf_n_tensors(g); i++) {
        const aieb_gguf_tensor *t = aieb_gguf_tensor_at(g, i);
        if (t->size)
            sink += ((const uint8_t *)t->data)[0] + ((const uint8_t *)t->data)[t->size - 1];
        char name[80];
        size_t n = t->name.len < sizeof name - 1 ? (size_t)t->name.len : sizeof name - 1;
        memcpy(name, t->name.ptr, n);
        name[n] = 0;
        sink += aieb_gguf_find_tensor(g, name) != NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a private copy, so that reads past the end land in ASan's redzone */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    aieb_gguf *g;
    aieb_err err;
    if (aieb_gguf_parse(copy, size, &g, &err) == 0) {
        walk(g);
        tokenizer tok;
        if (tokenizer_init_gguf(&tok, g, 1 << 20, &err) == 0) {
            int32_t ids[64];
            size_t n;
            if (tokenizer_encode(&tok, "Hello w\xc3\xb6rld  !", 15, 1, 1, ids, 64, &n, &err) == 0)
                for (size_t i = 0; i < n; i++) {
                    size_t len;
                    const char *p = tokenizer_piece(&tok, ids[i], 0, &len);
                    if (len)
                        sink += (unsigned char)p[len - 1];
                }
        }
        tokenizer_free(&tok);
        model m;
        model_load_gguf(&m, g, &err); /* takes g; frees it in model_free */
        model_free(&m);
    }
    free(copy);
    return 0;
}
