/* test_gguf.c - the GGUF reader on good, truncated and hostile files; the writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aieb/buf.h"
#include "aieb/gguf.h"

/* ==== a byte builder for hand-made (and broken) files ===================== */

static void b_u32(aieb_buf *b, uint32_t v)
{
    assert_int_equal(aieb_buf_append(b, &v, 4), 0);
}

static void b_u64(aieb_buf *b, uint64_t v)
{
    assert_int_equal(aieb_buf_append(b, &v, 8), 0);
}

static void b_str(aieb_buf *b, const char *s)
{
    b_u64(b, strlen(s));
    assert_int_equal(aieb_buf_append(b, s, strlen(s)), 0);
}

static void b_header(aieb_buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    aieb_buf_init(b, 0);
    assert_int_equal(aieb_buf_append(b, "GGUF", 4), 0);
    b_u32(b, version);
    b_u64(b, n_tensors);
    b_u64(b, n_kv);
}

static void b_pad(aieb_buf *b, size_t a)
{
    while (b->len % a)
        assert_int_equal(aieb_buf_append(b, "", 1), 0);
}

/* parse must fail with code and a message containing needle */
static void expect_fail(const aieb_buf *b, int code, const char *needle)
{
    aieb_gguf *g = (aieb_gguf *)0x1;
    aieb_err err = {0};
    int rc = aieb_gguf_parse(b->data, b->len, &g, &err);
    if (rc != code || !strstr(err.msg, needle))
        fail_msg("rc %d (want %d), message '%s' (want '%s')", rc, code, err.msg, needle);
    assert_null(g);
}

/* one f32 tensor info: name, 2 dims, offset */
static void b_tensor(aieb_buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                     uint32_t type, uint64_t off)
{
    b_str(b, name);
    b_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++)
        b_u64(b, ne[d]);
    b_u32(b, type);
    b_u64(b, off);
}

/* ==== writer round trip ==================================================== */

static aieb_gguf_writer *sample_writer(uint32_t alignment)
{
    aieb_gguf_writer *w = aieb_gguf_writer_new(alignment);
    assert_non_null(w);
    uint8_t u8 = 200;
    int8_t i8 = -100;
    uint16_t u16 = 60000;
    int16_t i16 = -30000;
    int32_t i32 = -2000000000;
    uint64_t u64 = 1ull << 60;
    int64_t i64 = -(1ll << 60);
    double f64 = 2.5e300;
    int yes = 1;
    assert_int_equal(aieb_gguf_w_kv(w, "t.u8", AIEB_GGUF_UINT8, &u8), 0);
    assert_int_equal(aieb_gguf_w_kv(w, "t.i8", AIEB_GGUF_INT8, &i8), 0);
    assert_int_equal(aieb_gguf_w_kv(w, "t.u16", AIEB_GGUF_UINT16, &u16), 0);
    assert_int_equal(aieb_gguf_w_kv(w, "t.i16", AIEB_GGUF_INT16, &i16), 0);
    assert_int_equal(aieb_gguf_w_u32(w, "t.u32", 4000000000u), 0);
    assert_int_equal(aieb_gguf_w_kv(w, "t.i32", AIEB_GGUF_INT32, &i32), 0);
    assert_int_equal(aieb_gguf_w_f32(w, "t.f32", 0.25f), 0);
    assert_int_equal(aieb_gguf_w_kv(w, "t.bool", AIEB_GGUF_BOOL, &yes), 0);
    assert_int_equal(aieb_gguf_w_str(w, "t.str", "héllo"), 0);
    assert_int_equal(aieb_gguf_w_kv(w, "t.u64", AIEB_GGUF_UINT64, &u64), 0);
    assert_int_equal(aieb_gguf_w_kv(w, "t.i64", AIEB_GGUF_INT64, &i64), 0);
    assert_int_equal(aieb_gguf_w_kv(w, "t.f64", AIEB_GGUF_FLOAT64, &f64), 0);
    const char *strs[] = {"a", "", "<0x0A>", "\xe2\x96\x81the"};
    assert_int_equal(aieb_gguf_w_arr(w, "t.strs", AIEB_GGUF_STRING, strs, 4), 0);
    float fs[] = {1.5f, -2.0f, 3.25f};
    assert_int_equal(aieb_gguf_w_arr(w, "t.floats", AIEB_GGUF_FLOAT32, fs, 3), 0);
    int32_t is[] = {-1, 0, 7};
    assert_int_equal(aieb_gguf_w_arr(w, "t.ints", AIEB_GGUF_INT32, is, 3), 0);
    assert_int_equal(aieb_gguf_w_arr(w, "t.empty", AIEB_GGUF_UINT8, NULL, 0), 0);

    float data[6] = {1, 2, 3, 4, 5, 6};
    uint64_t ne2[2] = {3, 2};
    assert_int_equal(aieb_gguf_w_tensor(w, "a", AIEB_GGML_F32, 2, ne2, data, sizeof data), 0);
    uint8_t q8[2 * 34];
    for (size_t i = 0; i < sizeof q8; i++)
        q8[i] = (uint8_t)i;
    uint64_t neq[1] = {64};
    assert_int_equal(aieb_gguf_w_tensor(w, "b.q8", AIEB_GGML_Q8_0, 1, neq, q8, sizeof q8), 0);
    uint16_t h[5] = {0x3c00, 0, 0, 0, 0};
    uint64_t ne5[1] = {5};
    assert_int_equal(aieb_gguf_w_tensor(w, "c.f16", AIEB_GGML_F16, 1, ne5, h, sizeof h), 0);
    /* writer refuses bad tensors */
    assert_int_equal(aieb_gguf_w_tensor(w, "bad", AIEB_GGML_F32, 2, ne2, data, 5), AIEB_EINVAL);
    uint64_t ne33[1] = {33};
    assert_int_equal(aieb_gguf_w_tensor(w, "bad", AIEB_GGML_Q8_0, 1, ne33, q8, 34), AIEB_EINVAL);
    assert_int_equal(aieb_gguf_w_tensor(w, "bad", 99, 1, ne5, h, 10), AIEB_EINVAL);
    return w;
}

static void check_sample(const aieb_gguf *g, uint32_t alignment)
{
    aieb_err err = {0};
    assert_int_equal(aieb_gguf_version(g), 3);
    assert_int_equal(aieb_gguf_alignment(g), alignment);
    uint32_t u32;
    int64_t i64;
    double f;
    int b;
    aieb_gguf_str s;
    assert_int_equal(aieb_gguf_get_u32(g, "t.u8", &u32, &err), 0);
    assert_int_equal(u32, 200);
    assert_int_equal(aieb_gguf_get_i64(g, "t.i8", &i64, &err), 0);
    assert_int_equal(i64, -100);
    assert_int_equal(aieb_gguf_get_u32(g, "t.u16", &u32, &err), 0);
    assert_int_equal(u32, 60000);
    assert_int_equal(aieb_gguf_get_i64(g, "t.i16", &i64, &err), 0);
    assert_int_equal(i64, -30000);
    assert_int_equal(aieb_gguf_get_u32(g, "t.u32", &u32, &err), 0);
    assert_int_equal(u32, 4000000000u);
    assert_int_equal(aieb_gguf_get_i64(g, "t.i32", &i64, &err), 0);
    assert_int_equal(i64, -2000000000);
    assert_int_equal(aieb_gguf_get_f64(g, "t.f32", &f, &err), 0);
    assert_true(f == 0.25);
    assert_int_equal(aieb_gguf_get_bool(g, "t.bool", &b, &err), 0);
    assert_int_equal(b, 1);
    assert_int_equal(aieb_gguf_get_str(g, "t.str", &s, &err), 0);
    assert_int_equal(s.len, 6);
    assert_memory_equal(s.ptr, "héllo", 6);
    assert_int_equal(aieb_gguf_get_i64(g, "t.u64", &i64, &err), 0);
    assert_true(i64 == (1ll << 60));
    assert_int_equal(aieb_gguf_get_i64(g, "t.i64", &i64, &err), 0);
    assert_true(i64 == -(1ll << 60));
    assert_int_equal(aieb_gguf_get_f64(g, "t.f64", &f, &err), 0);
    assert_true(f == 2.5e300);
    /* integers convert to double; wrong types and out-of-range values are named */
    assert_int_equal(aieb_gguf_get_f64(g, "t.i32", &f, &err), 0);
    assert_true(f == -2000000000.0);
    assert_int_equal(aieb_gguf_get_u32(g, "t.i8", &u32, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "t.i8"));
    assert_int_equal(aieb_gguf_get_u32(g, "t.u64", &u32, &err), AIEB_EINVAL);
    assert_int_equal(aieb_gguf_get_u32(g, "t.str", &u32, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "expected an integer"));
    assert_int_equal(aieb_gguf_get_str(g, "t.u8", &s, &err), AIEB_EINVAL);
    assert_int_equal(aieb_gguf_get_bool(g, "t.u8", &b, &err), AIEB_EINVAL);
    assert_int_equal(aieb_gguf_get_u32(g, "no.such.key", &u32, &err), AIEB_ENOTFOUND);

    const aieb_gguf_kv *kv = aieb_gguf_find(g, "t.strs");
    assert_non_null(kv);
    assert_int_equal(kv->arr_type, AIEB_GGUF_STRING);
    assert_int_equal(kv->arr_n, 4);
    s = aieb_gguf_arr_str(kv, 2);
    assert_int_equal(s.len, 6);
    assert_memory_equal(s.ptr, "<0x0A>", 6);
    assert_int_equal(aieb_gguf_arr_str(kv, 1).len, 0);
    assert_int_equal(aieb_gguf_arr_str(kv, 3).len, 6);
    assert_int_equal(aieb_gguf_arr_str(kv, 4).len, 0); /* out of range: empty */
    kv = aieb_gguf_find(g, "t.floats");
    assert_true(aieb_gguf_arr_f64(kv, 2) == 3.25);
    kv = aieb_gguf_find(g, "t.ints");
    assert_int_equal(aieb_gguf_arr_i64(kv, 0), -1);
    assert_int_equal(aieb_gguf_arr_i64(kv, 2), 7);
    kv = aieb_gguf_find(g, "t.empty");
    assert_int_equal(kv->arr_n, 0);

    assert_int_equal(aieb_gguf_n_tensors(g), 3);
    const aieb_gguf_tensor *t = aieb_gguf_find_tensor(g, "a");
    assert_non_null(t);
    assert_int_equal(t->n_dims, 2);
    assert_int_equal(t->ne[0], 3);
    assert_int_equal(t->ne[1], 2);
    assert_int_equal(t->ne[2], 1);
    assert_int_equal(t->size, 24);
    assert_int_equal(t->n_elements, 6);
    assert_int_equal(t->offset, 0);
    float v;
    memcpy(&v, (const uint8_t *)t->data + 20, 4);
    assert_true(v == 6.0f);
    t = aieb_gguf_find_tensor(g, "b.q8");
    assert_int_equal(t->size, 68);
    assert_int_equal(t->offset % alignment, 0);
    assert_int_equal(((const uint8_t *)t->data)[67], 67);
    t = aieb_gguf_find_tensor(g, "c.f16");
    assert_int_equal(t->size, 10);
    assert_null(aieb_gguf_find_tensor(g, "missing"));
    assert_string_equal(aieb_ggml_type_name(AIEB_GGML_Q4_0), "q4_0");
    assert_null(aieb_ggml_type_name(99));
}

static void writer_round_trip(void **state)
{
    uint32_t aligns[] = {32, 64, 4};
    for (size_t k = 0; k < 3; k++) {
        aieb_gguf_writer *w = sample_writer(aligns[k]);
        uint8_t *bytes;
        size_t len;
        aieb_err err = {0};
        assert_int_equal(aieb_gguf_writer_bytes(w, &bytes, &len, &err), 0);
        aieb_gguf *g;
        assert_int_equal(aieb_gguf_parse(bytes, len, &g, &err), 0);
        check_sample(g, aligns[k]);
        aieb_gguf_close(g);

        /* every truncation fails cleanly, never reads past the end */
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, bytes, cut);
            int rc = aieb_gguf_parse(copy, cut, &g, &err);
            if (rc == 0)
                fail_msg("a file cut to %zu of %zu bytes was accepted", cut, len);
            free(copy);
        }
        free(bytes);
        aieb_gguf_writer_free(w);
    }
    assert_null(aieb_gguf_writer_new(48)); /* not a power of two */
}

static void open_files(void **state)
{
    char dir[] = "/tmp/aieb-gguf-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    aieb_err err = {0};
    aieb_gguf *g;
    aieb_gguf_writer *w = sample_writer(32);
    snprintf(path, sizeof path, "%s/m.gguf", dir);
    assert_int_equal(aieb_gguf_writer_save(w, path, &err), 0);
    aieb_gguf_writer_free(w);
    assert_int_equal(aieb_gguf_open(path, &g, &err), 0);
    check_sample(g, 32);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(aieb_gguf_file_size(g), (uint64_t)st.st_size);
    aieb_gguf_close(g);

    snprintf(path, sizeof path, "%s/missing.gguf", dir);
    assert_int_equal(aieb_gguf_open(path, &g, &err), AIEB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "missing.gguf"));
    assert_int_equal(aieb_gguf_open(dir, &g, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "not a regular file"));
    snprintf(path, sizeof path, "%s/empty.gguf", dir);
    FILE *f = fopen(path, "w");
    fclose(f);
    assert_int_equal(aieb_gguf_open(path, &g, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "empty"));
    snprintf(path, sizeof path, "%s/text.gguf", dir);
    f = fopen(path, "w");
    fputs("hello, this is not a model\n", f);
    fclose(f);
    assert_int_equal(aieb_gguf_open(path, &g, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "magic"));
    assert_non_null(strstr(err.msg, "text.gguf"));
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ==== hostile headers ======================================================= */

static void bad_headers(void **state)
{
    aieb_buf b;
    b_header(&b, 1, 0, 0);
    expect_fail(&b, AIEB_EUNSUPPORTED, "version 1");
    aieb_buf_free(&b);
    b_header(&b, 4, 0, 0);
    expect_fail(&b, AIEB_EUNSUPPORTED, "version 4");
    aieb_buf_free(&b);
    b_header(&b, 0x03000000, 0, 0);
    expect_fail(&b, AIEB_EUNSUPPORTED, "big-endian");
    aieb_buf_free(&b);
    b_header(&b, 3, 0, 1000000);
    expect_fail(&b, AIEB_EINVAL, "metadata_kv_count");
    aieb_buf_free(&b);
    b_header(&b, 3, UINT64_MAX, 0);
    expect_fail(&b, AIEB_EINVAL, "tensor_count");
    aieb_buf_free(&b);
    /* an empty but valid file */
    b_header(&b, 2, 0, 0);
    aieb_gguf *g;
    aieb_err err = {0};
    assert_int_equal(aieb_gguf_parse(b.data, b.len, &g, &err), 0);
    assert_int_equal(aieb_gguf_n_kv(g), 0);
    assert_int_equal(aieb_gguf_version(g), 2);
    aieb_gguf_close(g);
    aieb_buf_free(&b);
}

static void bad_metadata(void **state)
{
    aieb_buf b;
    /* key length far beyond the file */
    b_header(&b, 3, 0, 1);
    b_u64(&b, 1ull << 62);
    b_u32(&b, 0);
    b_u32(&b, 0);
    expect_fail(&b, AIEB_EINVAL, "metadata 0 key");
    aieb_buf_free(&b);
    /* empty key */
    b_header(&b, 3, 0, 1);
    b_str(&b, "");
    b_u32(&b, AIEB_GGUF_UINT8);
    b_u32(&b, 0);
    expect_fail(&b, AIEB_EINVAL, "length 0");
    aieb_buf_free(&b);
    /* unknown value type */
    b_header(&b, 3, 0, 1);
    b_str(&b, "general.x");
    b_u32(&b, 13);
    b_u64(&b, 0);
    expect_fail(&b, AIEB_EINVAL, "'general.x': unknown value type 13");
    aieb_buf_free(&b);
    /* bool that is neither 0 nor 1 */
    b_header(&b, 3, 0, 1);
    b_str(&b, "flag");
    b_u32(&b, AIEB_GGUF_BOOL);
    assert_int_equal(aieb_buf_append(&b, "\x02", 1), 0);
    expect_fail(&b, AIEB_EINVAL, "bool value 2");
    aieb_buf_free(&b);
    /* string value longer than the file */
    b_header(&b, 3, 0, 1);
    b_str(&b, "name");
    b_u32(&b, AIEB_GGUF_STRING);
    b_u64(&b, 100);
    assert_int_equal(aieb_buf_append(&b, "abc", 3), 0);
    expect_fail(&b, AIEB_EINVAL, "'name': string length 100 exceeds");
    aieb_buf_free(&b);
    /* array counts that cannot fit */
    b_header(&b, 3, 0, 1);
    b_str(&b, "arr");
    b_u32(&b, AIEB_GGUF_ARRAY);
    b_u32(&b, AIEB_GGUF_UINT32);
    b_u64(&b, 1ull << 61);
    b_u64(&b, 0);
    expect_fail(&b, AIEB_EINVAL, "elements of 4 bytes exceed");
    aieb_buf_free(&b);
    b_header(&b, 3, 0, 1);
    b_str(&b, "arr");
    b_u32(&b, AIEB_GGUF_ARRAY);
    b_u32(&b, AIEB_GGUF_STRING);
    b_u64(&b, 1000);
    b_str(&b, "x");
    expect_fail(&b, AIEB_EINVAL, "strings cannot fit");
    aieb_buf_free(&b);
    /* second string of an array runs past the end */
    b_header(&b, 3, 0, 1);
    b_str(&b, "arr");
    b_u32(&b, AIEB_GGUF_ARRAY);
    b_u32(&b, AIEB_GGUF_STRING);
    b_u64(&b, 2);
    b_str(&b, "ok");
    b_u64(&b, 50);
    b_u64(&b, 0);
    expect_fail(&b, AIEB_EINVAL, "element 1");
    aieb_buf_free(&b);
    /* nested arrays, unknown element type */
    b_header(&b, 3, 0, 1);
    b_str(&b, "arr");
    b_u32(&b, AIEB_GGUF_ARRAY);
    b_u32(&b, AIEB_GGUF_ARRAY);
    b_u64(&b, 0);
    expect_fail(&b, AIEB_EUNSUPPORTED, "arrays of arrays");
    aieb_buf_free(&b);
    b_header(&b, 3, 0, 1);
    b_str(&b, "arr");
    b_u32(&b, AIEB_GGUF_ARRAY);
    b_u32(&b, 77);
    b_u64(&b, 0);
    expect_fail(&b, AIEB_EINVAL, "unknown array element type 77");
    aieb_buf_free(&b);
    /* duplicate keys */
    b_header(&b, 3, 0, 2);
    for (int i = 0; i < 2; i++) {
        b_str(&b, "general.name");
        b_u32(&b, AIEB_GGUF_UINT8);
        assert_int_equal(aieb_buf_append(&b, "\x01", 1), 0);
    }
    expect_fail(&b, AIEB_EINVAL, "'general.name' appears twice");
    aieb_buf_free(&b);
    /* alignment: wrong type, zero, not a power of two */
    b_header(&b, 3, 0, 1);
    b_str(&b, "general.alignment");
    b_u32(&b, AIEB_GGUF_UINT64);
    b_u64(&b, 32);
    expect_fail(&b, AIEB_EINVAL, "general.alignment must be a uint32");
    aieb_buf_free(&b);
    uint32_t bad_al[] = {0, 48, 1u << 24};
    for (int i = 0; i < 3; i++) {
        b_header(&b, 3, 0, 1);
        b_str(&b, "general.alignment");
        b_u32(&b, AIEB_GGUF_UINT32);
        b_u32(&b, bad_al[i]);
        expect_fail(&b, AIEB_EINVAL, "not a power of two");
        aieb_buf_free(&b);
    }
}

/* A file with two f32 tensors described by the caller's infos and 64 data bytes. */
static void tensors_file(aieb_buf *b, const uint64_t *ne_a, uint32_t nd_a, uint32_t type_a,
                         uint64_t off_a, uint64_t off_b)
{
    uint64_t ne_b[1] = {4};
    b_header(b, 3, 2, 0);
    b_tensor(b, "a", nd_a, ne_a, type_a, off_a);
    b_tensor(b, "b", 1, ne_b, AIEB_GGML_F32, off_b);
    b_pad(b, 32);
    for (int i = 0; i < 64; i++)
        assert_int_equal(aieb_buf_append(b, "\x11", 1), 0);
}

static void bad_tensors(void **state)
{
    aieb_buf b;
    uint64_t ne4[1] = {4};
    /* the good case first, so each failure below is about one field */
    tensors_file(&b, ne4, 1, AIEB_GGML_F32, 0, 32);
    aieb_gguf *g;
    aieb_err err = {0};
    assert_int_equal(aieb_gguf_parse(b.data, b.len, &g, &err), 0);
    aieb_gguf_close(g);
    aieb_buf_free(&b);

    tensors_file(&b, ne4, 1, AIEB_GGML_F32, 0, 16); /* b is not on a 32-byte boundary */
    expect_fail(&b, AIEB_EINVAL, "tensor 1 'b': offset 16 is not a multiple of the alignment 32");
    aieb_buf_free(&b);
    tensors_file(&b, ne4, 1, AIEB_GGML_F32, 0, 64); /* b ends past the file */
    expect_fail(&b, AIEB_EINVAL, "tensor 1 'b': 16 bytes at data offset 64 run past the end");
    aieb_buf_free(&b);
    uint64_t ne12[1] = {12};
    tensors_file(&b, ne12, 1, AIEB_GGML_F32, 0, 32); /* a (48 bytes) runs into b */
    expect_fail(&b, AIEB_EINVAL, "tensors 'a' and 'b' overlap");
    aieb_buf_free(&b);
    tensors_file(&b, ne4, 1, AIEB_GGML_F32, 32, 32); /* same place */
    expect_fail(&b, AIEB_EINVAL, "overlap");
    aieb_buf_free(&b);
    tensors_file(&b, ne4, 0, AIEB_GGML_F32, 0, 32);
    expect_fail(&b, AIEB_EINVAL, "tensor 0 'a': n_dims 0");
    aieb_buf_free(&b);
    uint64_t ne5d[5] = {1, 1, 1, 1, 1};
    tensors_file(&b, ne5d, 5, AIEB_GGML_F32, 0, 32);
    expect_fail(&b, AIEB_EINVAL, "n_dims 5");
    aieb_buf_free(&b);
    uint64_t ne0[2] = {4, 0};
    tensors_file(&b, ne0, 2, AIEB_GGML_F32, 0, 32);
    expect_fail(&b, AIEB_EINVAL, "'a': dimension 1 is 0");
    aieb_buf_free(&b);
    uint64_t nebig[2] = {1ull << 32, 1ull << 32};
    tensors_file(&b, nebig, 2, AIEB_GGML_F32, 0, 32);
    expect_fail(&b, AIEB_EINVAL, "'a': the product of the dimensions overflows");
    aieb_buf_free(&b);
    uint64_t nesize[2] = {1ull << 31, 1ull << 31}; /* 2^62 elements: bytes overflow */
    tensors_file(&b, nesize, 2, AIEB_GGML_F32, 0, 32);
    expect_fail(&b, AIEB_EINVAL, "'a': size in bytes overflows");
    aieb_buf_free(&b);
    uint64_t nehuge[2] = {1ull << 20, 1ull << 20}; /* fine as a product, not in the file */
    tensors_file(&b, nehuge, 2, AIEB_GGML_F32, 0, 32);
    expect_fail(&b, AIEB_EINVAL, "run past the end");
    aieb_buf_free(&b);
    tensors_file(&b, ne4, 1, 99, 0, 32);
    expect_fail(&b, AIEB_EUNSUPPORTED, "'a': unknown tensor type 99");
    aieb_buf_free(&b);
    uint64_t ne33[1] = {33};
    tensors_file(&b, ne33, 1, AIEB_GGML_Q8_0, 0, 32);
    expect_fail(&b, AIEB_EINVAL, "dimension 0 (33) is not a multiple of the q8_0 block size 32");
    aieb_buf_free(&b);

    /* duplicate names */
    b_header(&b, 3, 2, 0);
    b_tensor(&b, "same", 1, ne4, AIEB_GGML_F32, 0);
    b_tensor(&b, "same", 1, ne4, AIEB_GGML_F32, 32);
    b_pad(&b, 32);
    for (int i = 0; i < 64; i++)
        assert_int_equal(aieb_buf_append(&b, "", 1), 0);
    expect_fail(&b, AIEB_EINVAL, "tensor name 'same' appears twice");
    aieb_buf_free(&b);
    /* a name longer than GGUF's 64 bytes, and an empty one */
    char longname[80];
    memset(longname, 'n', 70);
    longname[70] = 0;
    b_header(&b, 3, 1, 0);
    b_tensor(&b, longname, 1, ne4, AIEB_GGML_F32, 0);
    expect_fail(&b, AIEB_EINVAL, "tensor 0 name: length 70");
    aieb_buf_free(&b);
    /* data section start beyond the end of the file */
    b_header(&b, 3, 1, 0);
    b_tensor(&b, "a", 1, ne4, AIEB_GGML_F32, 0);
    expect_fail(&b, AIEB_EINVAL, "tensor data would start at");
    aieb_buf_free(&b);
}

/* Messages are printable even when names hold control bytes. */
static void names_are_sanitised(void **state)
{
    aieb_buf b;
    b_header(&b, 3, 0, 1);
    b_str(&b, "bad\x01\nkey");
    b_u32(&b, 99);
    expect_fail(&b, AIEB_EINVAL, "'bad??key': unknown value type 99");
    aieb_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writer_round_trip), cmocka_unit_test(open_files),
        cmocka_unit_test(bad_headers),       cmocka_unit_test(bad_metadata),
        cmocka_unit_test(bad_tensors),       cmocka_unit_test(names_are_sanitised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
