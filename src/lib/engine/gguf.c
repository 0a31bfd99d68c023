/* gguf.c - GGUF v2/v3 reader over mmap, every field checked (see gguf.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aieb/gguf.h"

#define GGUF_MAGIC   0x46554747u /* "GGUF" read as a little-endian u32 */
#define MAX_NAME_LEN 64          /* GGUF's limit on tensor names */
#define MAX_KV       (1u << 20)

struct aieb_gguf {
    const uint8_t *base;
    size_t size;
    void *map; /* when the file is mmap'ed by us */
    size_t map_len;
    uint32_t version, alignment;
    uint64_t n_kv, n_tensors, data_off;
    aieb_gguf_kv *kvs;
    aieb_gguf_tensor *tensors;
};

/* ==== type tables ======================================================== */

static const struct {
    uint32_t type;
    const char *name;
    uint32_t block_elems, block_bytes;
} type_table[] = {
    /* sizes of ggml's block structs (ggml-common.h) */
    {AIEB_GGML_F32, "f32", 1, 4},
    {AIEB_GGML_F16, "f16", 1, 2},
    {AIEB_GGML_Q4_0, "q4_0", 32, 18},
    {AIEB_GGML_Q4_1, "q4_1", 32, 20},
    {AIEB_GGML_Q5_0, "q5_0", 32, 22},
    {AIEB_GGML_Q5_1, "q5_1", 32, 24},
    {AIEB_GGML_Q8_0, "q8_0", 32, 34},
    {AIEB_GGML_Q8_1, "q8_1", 32, 36},
    {AIEB_GGML_Q2_K, "q2_k", 256, 84},
    {AIEB_GGML_Q3_K, "q3_k", 256, 110},
    {AIEB_GGML_Q4_K, "q4_k", 256, 144},
    {AIEB_GGML_Q5_K, "q5_k", 256, 176},
    {AIEB_GGML_Q6_K, "q6_k", 256, 210},
    {AIEB_GGML_Q8_K, "q8_k", 256, 292},
    {AIEB_GGML_IQ4_NL, "iq4_nl", 32, 18},
    {AIEB_GGML_IQ4_XS, "iq4_xs", 256, 136},
    {AIEB_GGML_I8, "i8", 1, 1},
    {AIEB_GGML_I16, "i16", 1, 2},
    {AIEB_GGML_I32, "i32", 1, 4},
    {AIEB_GGML_I64, "i64", 1, 8},
    {AIEB_GGML_F64, "f64", 1, 8},
    {AIEB_GGML_BF16, "bf16", 1, 2},
    /* known so that a file with them parses and the loader names them */
    {AIEB_GGML_IQ2_XXS, "iq2_xxs", 256, 66},
    {AIEB_GGML_IQ2_XS, "iq2_xs", 256, 74},
    {AIEB_GGML_IQ3_XXS, "iq3_xxs", 256, 98},
    {AIEB_GGML_IQ1_S, "iq1_s", 256, 50},
    {AIEB_GGML_IQ3_S, "iq3_s", 256, 110},
    {AIEB_GGML_IQ2_S, "iq2_s", 256, 82},
    {AIEB_GGML_IQ1_M, "iq1_m", 256, 56},
    {AIEB_GGML_TQ1_0, "tq1_0", 256, 54},
    {AIEB_GGML_TQ2_0, "tq2_0", 256, 66},
    {AIEB_GGML_MXFP4, "mxfp4", 32, 17},
};

const char *aieb_ggml_type_name(uint32_t type)
{
    for (size_t i = 0; i < sizeof type_table / sizeof type_table[0]; i++)
        if (type_table[i].type == type)
            return type_table[i].name;
    return NULL;
}

int aieb_ggml_type_size(uint32_t type, uint32_t *block_elems, uint32_t *block_bytes)
{
    for (size_t i = 0; i < sizeof type_table / sizeof type_table[0]; i++)
        if (type_table[i].type == type) {
            *block_elems = type_table[i].block_elems;
            *block_bytes = type_table[i].block_bytes;
            return 0;
        }
    return AIEB_EUNSUPPORTED;
}

size_t aieb_gguf_vtype_size(uint32_t type)
{
    switch (type) {
    case AIEB_GGUF_UINT8:
    case AIEB_GGUF_INT8:
    case AIEB_GGUF_BOOL:
        return 1;
    case AIEB_GGUF_UINT16:
    case AIEB_GGUF_INT16:
        return 2;
    case AIEB_GGUF_UINT32:
    case AIEB_GGUF_INT32:
    case AIEB_GGUF_FLOAT32:
        return 4;
    case AIEB_GGUF_UINT64:
    case AIEB_GGUF_INT64:
    case AIEB_GGUF_FLOAT64:
        return 8;
    default:
        return 0;
    }
}

/* ==== bounded reading ===================================================== */

typedef struct rd {
    const uint8_t *p;
    size_t size, off;
    aieb_err *err;
} rd;

/* A name from the file, made printable and short for messages. */
static const char *show(aieb_gguf_str s, char *buf, size_t cap)
{
    size_t n = 0;
    for (uint64_t i = 0; i < s.len && n + 4 < cap; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        buf[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (s.len > n && n + 4 <= cap) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = 0;
    return buf;
}

static int need(rd *r, uint64_t n, const char *what)
{
    if (n > r->size - r->off)
        return aieb_errf(r->err, AIEB_EINVAL,
                         "gguf: %s: needs %" PRIu64 " bytes at offset %zu but the file has %zu",
                         what, n, r->off, r->size);
    return 0;
}

static int rd_bytes(rd *r, void *out, size_t n, const char *what)
{
    int rc = need(r, n, what);
    if (rc)
        return rc;
    memcpy(out, r->p + r->off, n);
    r->off += n;
    return 0;
}

static int rd_u32(rd *r, uint32_t *v, const char *what)
{
    return rd_bytes(r, v, 4, what);
}

static int rd_u64(rd *r, uint64_t *v, const char *what)
{
    return rd_bytes(r, v, 8, what);
}

static int rd_str(rd *r, aieb_gguf_str *s, const char *what)
{
    uint64_t len;
    int rc = rd_u64(r, &len, what);
    if (rc)
        return rc;
    if (len > r->size - r->off)
        return aieb_errf(r->err, AIEB_EINVAL,
                         "gguf: %s: string length %" PRIu64 " exceeds the %zu bytes left", what,
                         len, r->size - r->off);
    s->ptr = (const char *)r->p + r->off;
    s->len = len;
    r->off += len;
    return 0;
}

static int str_eq(aieb_gguf_str s, const char *c)
{
    size_t n = strlen(c);
    return s.len == n && memcmp(s.ptr, c, n) == 0;
}

static int str_cmp(aieb_gguf_str a, aieb_gguf_str b)
{
    size_t n = a.len < b.len ? (size_t)a.len : (size_t)b.len;
    int c = memcmp(a.ptr, b.ptr, n);
    if (c)
        return c;
    return (a.len > b.len) - (a.len < b.len);
}

/* ==== metadata ============================================================ */

static int read_scalar(rd *r, uint32_t type, aieb_gguf_kv *kv, const char *what)
{
    uint8_t b[8] = {0};
    size_t n = aieb_gguf_vtype_size(type);
    int rc = rd_bytes(r, b, n, what);
    if (rc)
        return rc;
    switch (type) {
    case AIEB_GGUF_UINT8:
        kv->v.u = b[0];
        break;
    case AIEB_GGUF_INT8:
        kv->v.i = (int8_t)b[0];
        break;
    case AIEB_GGUF_UINT16: {
        uint16_t x;
        memcpy(&x, b, 2);
        kv->v.u = x;
        break;
    }
    case AIEB_GGUF_INT16: {
        int16_t x;
        memcpy(&x, b, 2);
        kv->v.i = x;
        break;
    }
    case AIEB_GGUF_UINT32: {
        uint32_t x;
        memcpy(&x, b, 4);
        kv->v.u = x;
        break;
    }
    case AIEB_GGUF_INT32: {
        int32_t x;
        memcpy(&x, b, 4);
        kv->v.i = x;
        break;
    }
    case AIEB_GGUF_FLOAT32: {
        float x;
        memcpy(&x, b, 4);
        kv->v.f = x;
        break;
    }
    case AIEB_GGUF_BOOL:
        if (b[0] > 1)
            return aieb_errf(r->err, AIEB_EINVAL, "gguf: %s: bool value %u is not 0 or 1", what,
                             b[0]);
        kv->v.b = b[0];
        break;
    case AIEB_GGUF_UINT64:
        memcpy(&kv->v.u, b, 8);
        break;
    case AIEB_GGUF_INT64:
        memcpy(&kv->v.i, b, 8);
        break;
    case AIEB_GGUF_FLOAT64:
        memcpy(&kv->v.f, b, 8);
        break;
    }
    return 0;
}

static int read_array(rd *r, aieb_gguf_kv *kv, const char *what)
{
    uint32_t et;
    int rc = rd_u32(r, &et, what);
    if (!rc)
        rc = rd_u64(r, &kv->arr_n, what);
    if (rc)
        return rc;
    if (et == AIEB_GGUF_ARRAY)
        return aieb_errf(r->err, AIEB_EUNSUPPORTED, "gguf: %s: arrays of arrays are not supported",
                         what);
    if (et > AIEB_GGUF_FLOAT64)
        return aieb_errf(r->err, AIEB_EINVAL, "gguf: %s: unknown array element type %u", what, et);
    kv->arr_type = (aieb_gguf_vtype)et;
    kv->arr_data = r->p + r->off;
    size_t left = r->size - r->off;
    if (et != AIEB_GGUF_STRING) {
        size_t es = aieb_gguf_vtype_size(et);
        if (kv->arr_n > left / es)
            return aieb_errf(r->err, AIEB_EINVAL,
                             "gguf: %s: %" PRIu64
                             " elements of %zu bytes exceed the %zu bytes left",
                             what, kv->arr_n, es, left);
        if (et == AIEB_GGUF_BOOL)
            for (uint64_t i = 0; i < kv->arr_n; i++)
                if (kv->arr_data[i] > 1)
                    return aieb_errf(r->err, AIEB_EINVAL,
                                     "gguf: %s: element %" PRIu64 ": bool value %u is not 0 or 1",
                                     what, i, kv->arr_data[i]);
        r->off += (size_t)kv->arr_n * es;
        return 0;
    }
    if (kv->arr_n > left / 8) /* every string needs at least its 8-byte length */
        return aieb_errf(r->err, AIEB_EINVAL,
                         "gguf: %s: %" PRIu64 " strings cannot fit in the %zu bytes left", what,
                         kv->arr_n, left);
    kv->str_off = malloc((size_t)(kv->arr_n ? kv->arr_n : 1) * sizeof *kv->str_off);
    if (!kv->str_off)
        return aieb_errf(r->err, AIEB_ENOMEM, "gguf: %s: out of memory", what);
    for (uint64_t i = 0; i < kv->arr_n; i++) {
        kv->str_off[i] = (uint64_t)(r->p + r->off - kv->arr_data);
        aieb_gguf_str s;
        char ew[200];
        snprintf(ew, sizeof ew, "%s element %" PRIu64, what, i);
        if ((rc = rd_str(r, &s, ew)) != 0)
            return rc;
    }
    return 0;
}

static int read_kv(rd *r, uint64_t i, aieb_gguf_kv *kv)
{
    char what[160], nb[80];
    snprintf(what, sizeof what, "metadata %" PRIu64 " key", i);
    int rc = rd_str(r, &kv->key, what);
    if (rc)
        return rc;
    if (kv->key.len == 0 || kv->key.len > AIEB_GGUF_MAX_KEY_LEN)
        return aieb_errf(r->err, AIEB_EINVAL, "gguf: %s: length %" PRIu64 " is not 1..%u", what,
                         kv->key.len, AIEB_GGUF_MAX_KEY_LEN);
    snprintf(what, sizeof what, "metadata %" PRIu64 " '%s'", i, show(kv->key, nb, sizeof nb));
    uint32_t type;
    if ((rc = rd_u32(r, &type, what)) != 0)
        return rc;
    if (type > AIEB_GGUF_FLOAT64)
        return aieb_errf(r->err, AIEB_EINVAL, "gguf: %s: unknown value type %u", what, type);
    kv->type = (aieb_gguf_vtype)type;
    if (type == AIEB_GGUF_STRING)
        return rd_str(r, &kv->v.s, what);
    if (type == AIEB_GGUF_ARRAY)
        return read_array(r, kv, what);
    return read_scalar(r, type, kv, what);
}

static int kv_ptr_cmp(const void *a, const void *b)
{
    const aieb_gguf_kv *x = *(const aieb_gguf_kv *const *)a, *y = *(const aieb_gguf_kv *const *)b;
    return str_cmp(x->key, y->key);
}

static int tensor_name_cmp(const void *a, const void *b)
{
    const aieb_gguf_tensor *x = *(const aieb_gguf_tensor *const *)a;
    const aieb_gguf_tensor *y = *(const aieb_gguf_tensor *const *)b;
    return str_cmp(x->name, y->name);
}

static int tensor_off_cmp(const void *a, const void *b)
{
    const aieb_gguf_tensor *x = *(const aieb_gguf_tensor *const *)a;
    const aieb_gguf_tensor *y = *(const aieb_gguf_tensor *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* ==== tensors ============================================================= */

static int read_tensor_info(rd *r, uint64_t i, aieb_gguf_tensor *t)
{
    char what[160], nb[80];
    snprintf(what, sizeof what, "tensor %" PRIu64 " name", i);
    int rc = rd_str(r, &t->name, what);
    if (rc)
        return rc;
    if (t->name.len == 0 || t->name.len > MAX_NAME_LEN)
        return aieb_errf(r->err, AIEB_EINVAL, "gguf: %s: length %" PRIu64 " is not 1..%d", what,
                         t->name.len, MAX_NAME_LEN);
    snprintf(what, sizeof what, "tensor %" PRIu64 " '%s'", i, show(t->name, nb, sizeof nb));
    if ((rc = rd_u32(r, &t->n_dims, what)) != 0)
        return rc;
    if (t->n_dims < 1 || t->n_dims > AIEB_GGUF_MAX_DIMS)
        return aieb_errf(r->err, AIEB_EINVAL, "gguf: %s: n_dims %u is not 1..%d", what, t->n_dims,
                         AIEB_GGUF_MAX_DIMS);
    uint64_t n = 1;
    for (uint32_t d = 0; d < AIEB_GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d >= t->n_dims)
            continue;
        if ((rc = rd_u64(r, &t->ne[d], what)) != 0)
            return rc;
        if (t->ne[d] == 0 || t->ne[d] > (uint64_t)INT64_MAX)
            return aieb_errf(r->err, AIEB_EINVAL, "gguf: %s: dimension %u is %" PRIu64, what, d,
                             t->ne[d]);
        if (__builtin_mul_overflow(n, t->ne[d], &n) || n > (uint64_t)INT64_MAX)
            return aieb_errf(r->err, AIEB_EINVAL,
                             "gguf: %s: the product of the dimensions overflows", what);
    }
    t->n_elements = n;
    if ((rc = rd_u32(r, &t->type, what)) != 0 || (rc = rd_u64(r, &t->offset, what)) != 0)
        return rc;
    uint32_t be, bb;
    if (aieb_ggml_type_size(t->type, &be, &bb) != 0)
        return aieb_errf(r->err, AIEB_EUNSUPPORTED, "gguf: %s: unknown tensor type %u", what,
                         t->type);
    if (t->ne[0] % be != 0)
        return aieb_errf(r->err, AIEB_EINVAL,
                         "gguf: %s: dimension 0 (%" PRIu64 ") is not a multiple of the %s block "
                         "size %u",
                         what, t->ne[0], aieb_ggml_type_name(t->type), be);
    if (__builtin_mul_overflow(n / be, (uint64_t)bb, &t->size))
        return aieb_errf(r->err, AIEB_EINVAL, "gguf: %s: size in bytes overflows", what);
    return 0;
}

/* Offsets, sizes, alignment and overlap, now that the data section's start is known. */
static int check_tensors(aieb_gguf *g, aieb_err *err)
{
    uint64_t avail = g->size - g->data_off;
    char nb[80];
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        aieb_gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment != 0)
            return aieb_errf(err, AIEB_EINVAL,
                             "gguf: tensor %" PRIu64 " '%s': offset %" PRIu64
                             " is not a multiple of the alignment %u",
                             i, show(t->name, nb, sizeof nb), t->offset, g->alignment);
        if (t->offset > avail || t->size > avail - t->offset)
            return aieb_errf(err, AIEB_EINVAL,
                             "gguf: tensor %" PRIu64 " '%s': %" PRIu64
                             " bytes at data offset %" PRIu64
                             " run past the end of the file (%" PRIu64 " data bytes)",
                             i, show(t->name, nb, sizeof nb), t->size, t->offset, avail);
        t->data = g->base + g->data_off + t->offset;
    }
    if (g->n_tensors < 2)
        return 0;
    const aieb_gguf_tensor **idx = malloc((size_t)g->n_tensors * sizeof *idx);
    if (!idx)
        return aieb_errf(err, AIEB_ENOMEM, "gguf: out of memory");
    for (uint64_t i = 0; i < g->n_tensors; i++)
        idx[i] = &g->tensors[i];
    int rc = 0;
    qsort(idx, (size_t)g->n_tensors, sizeof *idx, tensor_name_cmp);
    for (uint64_t i = 1; i < g->n_tensors && !rc; i++)
        if (str_cmp(idx[i - 1]->name, idx[i]->name) == 0)
            rc = aieb_errf(err, AIEB_EINVAL, "gguf: tensor name '%s' appears twice",
                           show(idx[i]->name, nb, sizeof nb));
    qsort(idx, (size_t)g->n_tensors, sizeof *idx, tensor_off_cmp);
    for (uint64_t i = 1; i < g->n_tensors && !rc; i++)
        if (idx[i - 1]->offset + idx[i - 1]->size > idx[i]->offset) {
            char nb2[80];
            rc = aieb_errf(err, AIEB_EINVAL, "gguf: tensors '%s' and '%s' overlap",
                           show(idx[i - 1]->name, nb, sizeof nb),
                           show(idx[i]->name, nb2, sizeof nb2));
        }
    free(idx);
    return rc;
}

/* ==== parse ================================================================ */

static int parse(aieb_gguf *g, aieb_err *err)
{
    rd r = {g->base, g->size, 0, err};
    uint32_t magic = 0;
    int rc;
    if (g->size >= 4)
        memcpy(&magic, g->base, 4);
    if (magic != GGUF_MAGIC)
        return aieb_errf(err, AIEB_EINVAL, "gguf: not a GGUF file (no \"GGUF\" magic)");
    r.off = 4;
    if ((rc = rd_u32(&r, &g->version, "version")) != 0)
        return rc;
    if (g->version != 2 && g->version != 3)
        return aieb_errf(err, AIEB_EUNSUPPORTED,
                         "gguf: version %u is not supported (2 and 3 are)%s", g->version,
                         g->version > 0xffff ? "; a big-endian file?" : "");
    if ((rc = rd_u64(&r, &g->n_tensors, "tensor_count")) != 0 ||
        (rc = rd_u64(&r, &g->n_kv, "metadata_kv_count")) != 0)
        return rc;
    size_t left = r.size - r.off;
    /* smallest key/value: 8-byte length, 1-byte key, 4-byte type, 1-byte value */
    if (g->n_kv > MAX_KV || g->n_kv > left / 14)
        return aieb_errf(err, AIEB_EINVAL,
                         "gguf: metadata_kv_count %" PRIu64 " cannot fit in the %zu bytes left",
                         g->n_kv, left);
    /* smallest tensor info: name (8 + 1), n_dims 4, one dim 8, type 4, offset 8 */
    if (g->n_tensors > AIEB_GGUF_MAX_TENSORS || g->n_tensors > left / 33)
        return aieb_errf(err, AIEB_EINVAL,
                         "gguf: tensor_count %" PRIu64 " is more than %u or than the %zu bytes "
                         "left can hold",
                         g->n_tensors, AIEB_GGUF_MAX_TENSORS, left);
    g->kvs = calloc((size_t)(g->n_kv ? g->n_kv : 1), sizeof *g->kvs);
    g->tensors = calloc((size_t)(g->n_tensors ? g->n_tensors : 1), sizeof *g->tensors);
    if (!g->kvs || !g->tensors)
        return aieb_errf(err, AIEB_ENOMEM, "gguf: out of memory");
    for (uint64_t i = 0; i < g->n_kv; i++)
        if ((rc = read_kv(&r, i, &g->kvs[i])) != 0)
            return rc;
    if (g->n_kv > 1) {
        const aieb_gguf_kv **idx = malloc((size_t)g->n_kv * sizeof *idx);
        if (!idx)
            return aieb_errf(err, AIEB_ENOMEM, "gguf: out of memory");
        for (uint64_t i = 0; i < g->n_kv; i++)
            idx[i] = &g->kvs[i];
        qsort(idx, (size_t)g->n_kv, sizeof *idx, kv_ptr_cmp);
        char nb[80];
        for (uint64_t i = 1; i < g->n_kv && !rc; i++)
            if (str_cmp(idx[i - 1]->key, idx[i]->key) == 0)
                rc = aieb_errf(err, AIEB_EINVAL, "gguf: metadata key '%s' appears twice",
                               show(idx[i]->key, nb, sizeof nb));
        free(idx);
        if (rc)
            return rc;
    }
    g->alignment = AIEB_GGUF_DEFAULT_ALIGNMENT;
    const aieb_gguf_kv *al = aieb_gguf_find(g, "general.alignment");
    if (al) {
        if (al->type != AIEB_GGUF_UINT32)
            return aieb_errf(err, AIEB_EINVAL, "gguf: general.alignment must be a uint32");
        if (al->v.u == 0 || (al->v.u & (al->v.u - 1)) != 0 || al->v.u > AIEB_GGUF_MAX_ALIGNMENT)
            return aieb_errf(err, AIEB_EINVAL,
                             "gguf: general.alignment %" PRIu64 " is not a power of two up to %u",
                             al->v.u, AIEB_GGUF_MAX_ALIGNMENT);
        g->alignment = (uint32_t)al->v.u;
    }
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if ((rc = read_tensor_info(&r, i, &g->tensors[i])) != 0)
            return rc;
    uint64_t data_off = ((uint64_t)r.off + g->alignment - 1) / g->alignment * g->alignment;
    if (data_off > g->size) {
        if (g->n_tensors == 0) /* no data section needed */
            data_off = g->size;
        else
            return aieb_errf(err, AIEB_EINVAL,
                             "gguf: the tensor data would start at %" PRIu64
                             ", past the end of the file (%zu bytes)",
                             data_off, g->size);
    }
    g->data_off = data_off;
    return check_tensors(g, err);
}

static void free_tables(aieb_gguf *g)
{
    if (g->kvs)
        for (uint64_t i = 0; i < g->n_kv; i++)
            free(g->kvs[i].str_off);
    free(g->kvs);
    free(g->tensors);
}

int aieb_gguf_parse(const void *data, size_t len, aieb_gguf **out, aieb_err *err)
{
    *out = NULL;
    aieb_gguf *g = calloc(1, sizeof *g);
    if (!g)
        return aieb_errf(err, AIEB_ENOMEM, "gguf: out of memory");
    g->base = data;
    g->size = len;
    int rc = parse(g, err);
    if (rc) {
        free_tables(g);
        free(g);
        return rc;
    }
    *out = g;
    return 0;
}

int aieb_gguf_open(const char *path, aieb_gguf **out, aieb_err *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return aieb_errf(err, errno == ENOENT ? AIEB_ENOTFOUND : AIEB_EIO, "gguf: %s: %s", path,
                         strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return aieb_errf(err, AIEB_EINVAL, "gguf: %s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return aieb_errf(err, AIEB_EINVAL, "gguf: %s: the file is empty", path);
    }
    size_t len = (size_t)st.st_size;
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED)
        return aieb_errf(err, AIEB_EIO, "gguf: %s: mmap: %s", path, strerror(e));
    int rc = aieb_gguf_parse(map, len, out, err);
    if (rc) {
        munmap(map, len);
        return aieb_err_prefix(err, "%s", path);
    }
    (*out)->map = map;
    (*out)->map_len = len;
    return 0;
}

void aieb_gguf_close(aieb_gguf *g)
{
    if (!g)
        return;
    free_tables(g);
    if (g->map)
        munmap(g->map, g->map_len);
    free(g);
}

/* ==== accessors ============================================================ */

uint32_t aieb_gguf_version(const aieb_gguf *g)
{
    return g->version;
}

uint32_t aieb_gguf_alignment(const aieb_gguf *g)
{
    return g->alignment;
}

uint64_t aieb_gguf_file_size(const aieb_gguf *g)
{
    return g->size;
}

size_t aieb_gguf_n_kv(const aieb_gguf *g)
{
    return (size_t)g->n_kv;
}

const aieb_gguf_kv *aieb_gguf_kv_at(const aieb_gguf *g, size_t i)
{
    return i < g->n_kv ? &g->kvs[i] : NULL;
}

const aieb_gguf_kv *aieb_gguf_find(const aieb_gguf *g, const char *key)
{
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (str_eq(g->kvs[i].key, key))
            return &g->kvs[i];
    return NULL;
}

size_t aieb_gguf_n_tensors(const aieb_gguf *g)
{
    return (size_t)g->n_tensors;
}

const aieb_gguf_tensor *aieb_gguf_tensor_at(const aieb_gguf *g, size_t i)
{
    return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const aieb_gguf_tensor *aieb_gguf_find_tensor(const aieb_gguf *g, const char *name)
{
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (str_eq(g->tensors[i].name, name))
            return &g->tensors[i];
    return NULL;
}

static int is_int_type(uint32_t t)
{
    return t <= AIEB_GGUF_INT32 || t == AIEB_GGUF_UINT64 || t == AIEB_GGUF_INT64;
}

static int is_signed(uint32_t t)
{
    return t == AIEB_GGUF_INT8 || t == AIEB_GGUF_INT16 || t == AIEB_GGUF_INT32 ||
           t == AIEB_GGUF_INT64;
}

int aieb_gguf_get_i64(const aieb_gguf *g, const char *key, int64_t *out, aieb_err *err)
{
    const aieb_gguf_kv *kv = aieb_gguf_find(g, key);
    if (!kv)
        return AIEB_ENOTFOUND;
    if (!is_int_type(kv->type))
        return aieb_errf(err, AIEB_EINVAL, "gguf: %s: expected an integer", key);
    if (!is_signed(kv->type) && kv->v.u > (uint64_t)INT64_MAX)
        return aieb_errf(err, AIEB_EINVAL, "gguf: %s: %" PRIu64 " is too large", key, kv->v.u);
    *out = is_signed(kv->type) ? kv->v.i : (int64_t)kv->v.u;
    return 0;
}

int aieb_gguf_get_u32(const aieb_gguf *g, const char *key, uint32_t *out, aieb_err *err)
{
    int64_t v;
    int rc = aieb_gguf_get_i64(g, key, &v, err);
    if (rc)
        return rc;
    if (v < 0 || v > (int64_t)UINT32_MAX)
        return aieb_errf(err, AIEB_EINVAL, "gguf: %s: %" PRId64 " is out of range 0..%u", key, v,
                         UINT32_MAX);
    *out = (uint32_t)v;
    return 0;
}

int aieb_gguf_get_f64(const aieb_gguf *g, const char *key, double *out, aieb_err *err)
{
    const aieb_gguf_kv *kv = aieb_gguf_find(g, key);
    if (!kv)
        return AIEB_ENOTFOUND;
    if (kv->type == AIEB_GGUF_FLOAT32 || kv->type == AIEB_GGUF_FLOAT64) {
        *out = kv->v.f;
        return 0;
    }
    int64_t v;
    if (!is_int_type(kv->type))
        return aieb_errf(err, AIEB_EINVAL, "gguf: %s: expected a number", key);
    int rc = aieb_gguf_get_i64(g, key, &v, err);
    if (rc)
        return rc;
    *out = (double)v;
    return 0;
}

int aieb_gguf_get_bool(const aieb_gguf *g, const char *key, int *out, aieb_err *err)
{
    const aieb_gguf_kv *kv = aieb_gguf_find(g, key);
    if (!kv)
        return AIEB_ENOTFOUND;
    if (kv->type != AIEB_GGUF_BOOL)
        return aieb_errf(err, AIEB_EINVAL, "gguf: %s: expected a bool", key);
    *out = kv->v.b;
    return 0;
}

int aieb_gguf_get_str(const aieb_gguf *g, const char *key, aieb_gguf_str *out, aieb_err *err)
{
    const aieb_gguf_kv *kv = aieb_gguf_find(g, key);
    if (!kv)
        return AIEB_ENOTFOUND;
    if (kv->type != AIEB_GGUF_STRING)
        return aieb_errf(err, AIEB_EINVAL, "gguf: %s: expected a string", key);
    *out = kv->v.s;
    return 0;
}

aieb_gguf_str aieb_gguf_arr_str(const aieb_gguf_kv *kv, uint64_t i)
{
    aieb_gguf_str s = {"", 0};
    if (kv->type != AIEB_GGUF_ARRAY || kv->arr_type != AIEB_GGUF_STRING || i >= kv->arr_n)
        return s;
    const uint8_t *p = kv->arr_data + kv->str_off[i];
    memcpy(&s.len, p, 8);
    s.ptr = (const char *)p + 8;
    return s;
}

int64_t aieb_gguf_arr_i64(const aieb_gguf_kv *kv, uint64_t i)
{
    if (kv->type != AIEB_GGUF_ARRAY || i >= kv->arr_n || kv->arr_type == AIEB_GGUF_STRING)
        return 0;
    size_t es = aieb_gguf_vtype_size(kv->arr_type);
    aieb_gguf_kv tmp = {0};
    rd r = {kv->arr_data + i * es, es, 0, NULL};
    read_scalar(&r, kv->arr_type, &tmp, "");
    switch (kv->arr_type) {
    case AIEB_GGUF_FLOAT32:
    case AIEB_GGUF_FLOAT64:
        return tmp.v.f > -9.2e18 && tmp.v.f < 9.2e18 ? (int64_t)tmp.v.f : 0;
    case AIEB_GGUF_BOOL:
        return tmp.v.b;
    default:
        return is_signed(kv->arr_type) ? tmp.v.i : (int64_t)tmp.v.u;
    }
}

double aieb_gguf_arr_f64(const aieb_gguf_kv *kv, uint64_t i)
{
    if (kv->type != AIEB_GGUF_ARRAY || i >= kv->arr_n || kv->arr_type == AIEB_GGUF_STRING)
        return 0;
    if (kv->arr_type == AIEB_GGUF_FLOAT32) {
        float f;
        memcpy(&f, kv->arr_data + i * 4, 4);
        return f;
    }
    if (kv->arr_type == AIEB_GGUF_FLOAT64) {
        double f;
        memcpy(&f, kv->arr_data + i * 8, 8);
        return f;
    }
    if (kv->arr_type == AIEB_GGUF_UINT64) {
        uint64_t u;
        memcpy(&u, kv->arr_data + i * 8, 8);
        return (double)u;
    }
    return (double)aieb_gguf_arr_i64(kv, i);
}
