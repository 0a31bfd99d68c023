/* gguf.h - reading (and, for tests, writing) GGUF model files.
 *
 * Format: GGUF version 2 and 3 as documented in ggml's docs/gguf.md: "GGUF", version
 * (u32), tensor count (u64), metadata count (u64), metadata key/values, tensor infos,
 * padding to general.alignment (default 32), tensor data. Little-endian only.
 *
 * Every file is untrusted. The reader checks each count, string length, array size,
 * dimension, offset and tensor size against the bytes that are really there before
 * using it, rejects unknown versions and value types, duplicate keys and tensor names,
 * misaligned or overlapping tensors and dimensions whose product overflows. Error
 * messages name the field ("tensor 3 'blk.0.attn_q.weight': offset ...").
 *
 * The parsed view points into the file's bytes (mmap'ed by aieb_gguf_open): strings
 * are not NUL-terminated and stay valid until aieb_gguf_close().
 */
#ifndef AIEB_GGUF_H
#define AIEB_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Metadata value types (gguf_metadata_value_type). */
typedef enum {
    AIEB_GGUF_UINT8 = 0,
    AIEB_GGUF_INT8 = 1,
    AIEB_GGUF_UINT16 = 2,
    AIEB_GGUF_INT16 = 3,
    AIEB_GGUF_UINT32 = 4,
    AIEB_GGUF_INT32 = 5,
    AIEB_GGUF_FLOAT32 = 6,
    AIEB_GGUF_BOOL = 7,
    AIEB_GGUF_STRING = 8,
    AIEB_GGUF_ARRAY = 9,
    AIEB_GGUF_UINT64 = 10,
    AIEB_GGUF_INT64 = 11,
    AIEB_GGUF_FLOAT64 = 12,
} aieb_gguf_vtype;

/* Tensor types (ggml_type numbering) that the reader knows the size of. */
typedef enum {
    AIEB_GGML_F32 = 0,
    AIEB_GGML_F16 = 1,
    AIEB_GGML_Q4_0 = 2,
    AIEB_GGML_Q4_1 = 3,
    AIEB_GGML_Q5_0 = 6,
    AIEB_GGML_Q5_1 = 7,
    AIEB_GGML_Q8_0 = 8,
    AIEB_GGML_Q8_1 = 9,
    AIEB_GGML_Q2_K = 10,
    AIEB_GGML_Q3_K = 11,
    AIEB_GGML_Q4_K = 12,
    AIEB_GGML_Q5_K = 13,
    AIEB_GGML_Q6_K = 14,
    AIEB_GGML_Q8_K = 15,
    AIEB_GGML_IQ2_XXS = 16,
    AIEB_GGML_IQ2_XS = 17,
    AIEB_GGML_IQ3_XXS = 18,
    AIEB_GGML_IQ1_S = 19,
    AIEB_GGML_IQ4_NL = 20,
    AIEB_GGML_IQ3_S = 21,
    AIEB_GGML_IQ2_S = 22,
    AIEB_GGML_IQ4_XS = 23,
    AIEB_GGML_I8 = 24,
    AIEB_GGML_I16 = 25,
    AIEB_GGML_I32 = 26,
    AIEB_GGML_I64 = 27,
    AIEB_GGML_F64 = 28,
    AIEB_GGML_IQ1_M = 29,
    AIEB_GGML_BF16 = 30,
    AIEB_GGML_TQ1_0 = 34,
    AIEB_GGML_TQ2_0 = 35,
    AIEB_GGML_MXFP4 = 39,
} aieb_ggml_type;

#define AIEB_GGUF_MAX_DIMS          4
#define AIEB_GGUF_DEFAULT_ALIGNMENT 32
#define AIEB_GGUF_MAX_ALIGNMENT     (1u << 20)
#define AIEB_GGUF_MAX_KEY_LEN       65535u
#define AIEB_GGUF_MAX_TENSORS       (1u << 20)

/* A string inside the file: len bytes at ptr, not NUL-terminated. */
typedef struct aieb_gguf_str {
    const char *ptr;
    uint64_t len;
} aieb_gguf_str;

typedef struct aieb_gguf_kv {
    aieb_gguf_str key;
    aieb_gguf_vtype type;
    union {
        uint64_t u;      /* UINT8..UINT64 */
        int64_t i;       /* INT8..INT64 */
        double f;        /* FLOAT32, FLOAT64 */
        int b;           /* BOOL (0 or 1) */
        aieb_gguf_str s; /* STRING */
    } v;
    /* ARRAY: element type, count, and the first element's bytes in the file. For
     * string arrays str_off[i] is element i's offset from arr_data. */
    aieb_gguf_vtype arr_type;
    uint64_t arr_n;
    const uint8_t *arr_data;
    uint64_t *str_off;
} aieb_gguf_kv;

typedef struct aieb_gguf_tensor {
    aieb_gguf_str name;
    uint32_t n_dims;
    uint64_t ne[AIEB_GGUF_MAX_DIMS]; /* ne[0] is the contiguous dimension; unused = 1 */
    uint32_t type;                   /* aieb_ggml_type */
    uint64_t offset;                 /* from the start of the data section */
    uint64_t n_elements;
    uint64_t size;    /* bytes */
    const void *data; /* into the file's bytes */
} aieb_gguf_tensor;

typedef struct aieb_gguf aieb_gguf;

/* Maps the file at path read-only and parses it. Fails with AIEB_ENOTFOUND (no
 * such file), AIEB_EIO, AIEB_EINVAL (malformed: the message names the field),
 * AIEB_EUNSUPPORTED (a version, value type or tensor type this reader does not know)
 * or AIEB_ENOMEM; *out is NULL then. */
AIEB_API int aieb_gguf_open(const char *path, aieb_gguf **out, aieb_err *err);

/* Parses len bytes at data (which must stay valid and unchanged until close); same
 * failures as aieb_gguf_open. Used by the fuzzer and by tests. */
AIEB_API int aieb_gguf_parse(const void *data, size_t len, aieb_gguf **out, aieb_err *err);

/* Unmaps and frees; g may be NULL. */
AIEB_API void aieb_gguf_close(aieb_gguf *g);

AIEB_API uint32_t aieb_gguf_version(const aieb_gguf *g);
AIEB_API uint32_t aieb_gguf_alignment(const aieb_gguf *g);
AIEB_API uint64_t aieb_gguf_file_size(const aieb_gguf *g);

/* Metadata in file order; i < aieb_gguf_n_kv(). */
AIEB_API size_t aieb_gguf_n_kv(const aieb_gguf *g);
AIEB_API const aieb_gguf_kv *aieb_gguf_kv_at(const aieb_gguf *g, size_t i);

/* The key/value with that key, or NULL. */
AIEB_API const aieb_gguf_kv *aieb_gguf_find(const aieb_gguf *g, const char *key);

/* Typed getters. Integer getters accept any integer type whose value fits; the float
 * getter accepts FLOAT32/FLOAT64 and integers. Return AIEB_ENOTFOUND when the key is
 * absent (err untouched, so callers can apply a default), AIEB_EINVAL with the key
 * named when the type is wrong or the value does not fit. */
AIEB_API int aieb_gguf_get_u32(const aieb_gguf *g, const char *key, uint32_t *out, aieb_err *err);
AIEB_API int aieb_gguf_get_i64(const aieb_gguf *g, const char *key, int64_t *out, aieb_err *err);
AIEB_API int aieb_gguf_get_f64(const aieb_gguf *g, const char *key, double *out, aieb_err *err);
AIEB_API int aieb_gguf_get_bool(const aieb_gguf *g, const char *key, int *out, aieb_err *err);
AIEB_API int aieb_gguf_get_str(const aieb_gguf *g, const char *key, aieb_gguf_str *out,
                               aieb_err *err);

/* Element i of a string array (kv->arr_type STRING, i < kv->arr_n). Can't fail. */
AIEB_API aieb_gguf_str aieb_gguf_arr_str(const aieb_gguf_kv *kv, uint64_t i);

/* Element i of a numeric array as double / int64 (reads the element's own type;
 * 0 for strings). Can't fail for i < kv->arr_n. */
AIEB_API double aieb_gguf_arr_f64(const aieb_gguf_kv *kv, uint64_t i);
AIEB_API int64_t aieb_gguf_arr_i64(const aieb_gguf_kv *kv, uint64_t i);

/* Tensors in file order; i < aieb_gguf_n_tensors(). */
AIEB_API size_t aieb_gguf_n_tensors(const aieb_gguf *g);
AIEB_API const aieb_gguf_tensor *aieb_gguf_tensor_at(const aieb_gguf *g, size_t i);

/* The tensor with that name, or NULL. */
AIEB_API const aieb_gguf_tensor *aieb_gguf_find_tensor(const aieb_gguf *g, const char *name);

/* Name of a tensor type ("f32", "q8_0", ...), or NULL when unknown. */
AIEB_API const char *aieb_ggml_type_name(uint32_t type);

/* Elements per block and bytes per block of a tensor type. Returns 0, or
 * AIEB_EUNSUPPORTED for a type this reader does not know. */
AIEB_API int aieb_ggml_type_size(uint32_t type, uint32_t *block_elems, uint32_t *block_bytes);

/* Bytes of one value of a scalar metadata type (0 for STRING, ARRAY, unknown). */
AIEB_API size_t aieb_gguf_vtype_size(uint32_t type);

/* ==== Writer (small, in memory; for tests and tools) ==================== */

typedef struct aieb_gguf_writer aieb_gguf_writer;

/* Starts an empty file with the given data alignment (0 = 32; a power of two).
 * Returns NULL when out of memory or the alignment is invalid. When alignment is
 * not 32 the general.alignment key is written first. */
AIEB_API aieb_gguf_writer *aieb_gguf_writer_new(uint32_t alignment);
AIEB_API void aieb_gguf_writer_free(aieb_gguf_writer *w);

/* Adds a scalar key/value; val points at a value of that type (uint8_t for UINT8 ...,
 * int for BOOL) or, for STRING, is the NUL-terminated string itself. Returns 0, AIEB_EINVAL (ARRAY
 * or unknown type) or AIEB_ENOMEM. */
AIEB_API int aieb_gguf_w_kv(aieb_gguf_writer *w, const char *key, aieb_gguf_vtype type,
                            const void *val);
AIEB_API int aieb_gguf_w_u32(aieb_gguf_writer *w, const char *key, uint32_t v);
AIEB_API int aieb_gguf_w_f32(aieb_gguf_writer *w, const char *key, float v);
AIEB_API int aieb_gguf_w_str(aieb_gguf_writer *w, const char *key, const char *v);

/* Adds an array of n elements of elem_type: items is a C array of that type (for
 * STRING: const char *const *). Returns 0, AIEB_EINVAL or AIEB_ENOMEM. */
AIEB_API int aieb_gguf_w_arr(aieb_gguf_writer *w, const char *key, aieb_gguf_vtype elem_type,
                             const void *items, uint64_t n);

/* Adds a tensor; data holds exactly the tensor's bytes (copied). Returns 0,
 * AIEB_EINVAL (bad dims, unknown type, size mismatch) or AIEB_ENOMEM. */
AIEB_API int aieb_gguf_w_tensor(aieb_gguf_writer *w, const char *name, uint32_t type,
                                uint32_t n_dims, const uint64_t *ne, const void *data, size_t size);

/* Serialises everything into a malloc'd buffer (*out, *len; the caller frees). */
AIEB_API int aieb_gguf_writer_bytes(aieb_gguf_writer *w, uint8_t **out, size_t *len, aieb_err *err);

/* Writes the file to path (atomically). Returns 0 or an aieb_write_file_atomic error. */
AIEB_API int aieb_gguf_writer_save(aieb_gguf_writer *w, const char *path, aieb_err *err);

#ifdef __cplusplus
}
#endif
#endif
