/* gguf_write.c - a small in-memory GGUF v3 writer for tests and tools (see gguf.h). */
#include <stdlib.h>
#include <string.h>

#include "aieb/buf.h"
#include "aieb/fileio.h"
#include "aieb/gguf.h"

typedef struct wtensor {
    char *name;
    uint32_t type, n_dims;
    uint64_t ne[AIEB_GGUF_MAX_DIMS];
    uint8_t *data;
    size_t size;
} wtensor;

struct aieb_gguf_writer {
    uint32_t alignment;
    aieb_buf kv; /* serialised key/values */
    uint64_t n_kv;
    wtensor *t;
    size_t n_t, cap_t;
};

static int put(aieb_buf *b, const void *p, size_t n)
{
    return aieb_buf_append(b, p, n);
}

static int put_u32(aieb_buf *b, uint32_t v)
{
    return put(b, &v, 4);
}

static int put_u64(aieb_buf *b, uint64_t v)
{
    return put(b, &v, 8);
}

static int put_str(aieb_buf *b, const char *s)
{
    size_t n = strlen(s);
    int rc = put_u64(b, n);
    return rc ? rc : put(b, s, n);
}

aieb_gguf_writer *aieb_gguf_writer_new(uint32_t alignment)
{
    if (alignment == 0)
        alignment = AIEB_GGUF_DEFAULT_ALIGNMENT;
    if ((alignment & (alignment - 1)) != 0 || alignment > AIEB_GGUF_MAX_ALIGNMENT)
        return NULL;
    aieb_gguf_writer *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->alignment = alignment;
    aieb_buf_init(&w->kv, 0);
    if (alignment != AIEB_GGUF_DEFAULT_ALIGNMENT &&
        aieb_gguf_w_u32(w, "general.alignment", alignment) != 0) {
        aieb_gguf_writer_free(w);
        return NULL;
    }
    return w;
}

void aieb_gguf_writer_free(aieb_gguf_writer *w)
{
    if (!w)
        return;
    aieb_buf_free(&w->kv);
    for (size_t i = 0; i < w->n_t; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    free(w->t);
    free(w);
}

/* One value of a scalar type (or a string) from a C value. */
static int put_value(aieb_buf *b, aieb_gguf_vtype type, const void *val)
{
    if (type == AIEB_GGUF_STRING)
        return put_str(b, (const char *)val);
    if (type == AIEB_GGUF_BOOL) {
        uint8_t v = *(const int *)val ? 1 : 0;
        return put(b, &v, 1);
    }
    size_t n = aieb_gguf_vtype_size(type);
    if (n == 0)
        return AIEB_EINVAL;
    return put(b, val, n);
}

int aieb_gguf_w_kv(aieb_gguf_writer *w, const char *key, aieb_gguf_vtype type, const void *val)
{
    if (type == AIEB_GGUF_ARRAY || type > AIEB_GGUF_FLOAT64 || !key || !val)
        return AIEB_EINVAL;
    size_t mark = w->kv.len;
    int rc = put_str(&w->kv, key);
    if (!rc)
        rc = put_u32(&w->kv, type);
    if (!rc)
        rc = put_value(&w->kv, type, val);
    if (rc) {
        w->kv.len = mark;
        return rc;
    }
    w->n_kv++;
    return 0;
}

int aieb_gguf_w_u32(aieb_gguf_writer *w, const char *key, uint32_t v)
{
    return aieb_gguf_w_kv(w, key, AIEB_GGUF_UINT32, &v);
}

int aieb_gguf_w_f32(aieb_gguf_writer *w, const char *key, float v)
{
    return aieb_gguf_w_kv(w, key, AIEB_GGUF_FLOAT32, &v);
}

int aieb_gguf_w_str(aieb_gguf_writer *w, const char *key, const char *v)
{
    return aieb_gguf_w_kv(w, key, AIEB_GGUF_STRING, v);
}

int aieb_gguf_w_arr(aieb_gguf_writer *w, const char *key, aieb_gguf_vtype elem_type,
                    const void *items, uint64_t n)
{
    if (elem_type == AIEB_GGUF_ARRAY || elem_type > AIEB_GGUF_FLOAT64 || !key || (n && !items))
        return AIEB_EINVAL;
    size_t mark = w->kv.len;
    int rc = put_str(&w->kv, key);
    if (!rc)
        rc = put_u32(&w->kv, AIEB_GGUF_ARRAY);
    if (!rc)
        rc = put_u32(&w->kv, elem_type);
    if (!rc)
        rc = put_u64(&w->kv, n);
    size_t es = aieb_gguf_vtype_size(elem_type);
    for (uint64_t i = 0; i < n && !rc; i++) {
        if (elem_type == AIEB_GGUF_STRING)
            rc = put_str(&w->kv, ((const char *const *)items)[i]);
        else if (elem_type == AIEB_GGUF_BOOL)
            rc = put_value(&w->kv, elem_type, (const int *)items + i);
        else
            rc = put(&w->kv, (const uint8_t *)items + i * es, es);
    }
    if (rc) {
        w->kv.len = mark;
        return rc;
    }
    w->n_kv++;
    return 0;
}

int aieb_gguf_w_tensor(aieb_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                       const uint64_t *ne, const void *data, size_t size)
{
    uint32_t be, bb;
    if (!name || !*name || n_dims < 1 || n_dims > AIEB_GGUF_MAX_DIMS ||
        aieb_ggml_type_size(type, &be, &bb) != 0 || ne[0] % be != 0)
        return AIEB_EINVAL;
    uint64_t n = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (ne[d] == 0 || __builtin_mul_overflow(n, ne[d], &n))
            return AIEB_EINVAL;
    }
    if (n / be * bb != size)
        return AIEB_EINVAL;
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? w->cap_t * 2 : 16;
        wtensor *t = realloc(w->t, cap * sizeof *t);
        if (!t)
            return AIEB_ENOMEM;
        w->t = t;
        w->cap_t = cap;
    }
    wtensor *t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->data = malloc(size ? size : 1);
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        return AIEB_ENOMEM;
    }
    memcpy(t->data, data, size);
    t->type = type;
    t->n_dims = n_dims;
    for (uint32_t d = 0; d < n_dims; d++)
        t->ne[d] = ne[d];
    t->size = size;
    w->n_t++;
    return 0;
}

static size_t align_up(size_t x, size_t a)
{
    return (x + a - 1) / a * a;
}

static int pad(aieb_buf *b, size_t a)
{
    static const uint8_t zeros[64] = {0};
    size_t n = align_up(b->len, a) - b->len;
    int rc = 0;
    while (n && !rc) {
        size_t k = n < sizeof zeros ? n : sizeof zeros;
        rc = put(b, zeros, k);
        n -= k;
    }
    return rc;
}

int aieb_gguf_writer_bytes(aieb_gguf_writer *w, uint8_t **out, size_t *len, aieb_err *err)
{
    aieb_buf b;
    aieb_buf_init(&b, 0);
    int rc = put(&b, "GGUF", 4);
    if (!rc)
        rc = put_u32(&b, 3);
    if (!rc)
        rc = put_u64(&b, w->n_t);
    if (!rc)
        rc = put_u64(&b, w->n_kv);
    if (!rc && w->kv.len)
        rc = put(&b, w->kv.data, w->kv.len);
    size_t off = 0;
    for (size_t i = 0; i < w->n_t && !rc; i++) {
        const wtensor *t = &w->t[i];
        rc = put_str(&b, t->name);
        if (!rc)
            rc = put_u32(&b, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims && !rc; d++)
            rc = put_u64(&b, t->ne[d]);
        if (!rc)
            rc = put_u32(&b, t->type);
        if (!rc)
            rc = put_u64(&b, off);
        off = align_up(off + t->size, w->alignment);
    }
    if (!rc && w->n_t)
        rc = pad(&b, w->alignment);
    for (size_t i = 0; i < w->n_t && !rc; i++) {
        rc = put(&b, w->t[i].data, w->t[i].size);
        if (!rc && i + 1 < w->n_t)
            rc = pad(&b, w->alignment);
    }
    if (rc) {
        aieb_buf_free(&b);
        return aieb_errf(err, rc, "gguf: writing: out of memory");
    }
    *len = b.len;
    *out = (uint8_t *)aieb_buf_steal(&b);
    if (!*out)
        return aieb_errf(err, AIEB_ENOMEM, "gguf: writing: out of memory");
    return 0;
}

int aieb_gguf_writer_save(aieb_gguf_writer *w, const char *path, aieb_err *err)
{
    uint8_t *data;
    size_t len;
    int rc = aieb_gguf_writer_bytes(w, &data, &len, err);
    if (rc)
        return rc;
    rc = aieb_write_file_atomic(path, data, len, err);
    free(data);
    return rc;
}
