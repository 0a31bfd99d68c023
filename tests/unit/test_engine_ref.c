/* test_engine_ref.c - the engine's logits against an independent NumPy forward pass.
 *
 * For each architecture (llama, qwen2; qwen3 and phi3 in their own test), weight type (F32, F16,
 * BF16, Q8_0, Q4_0) and output (tied, untied) a tiny model with random weights is written with the
 * project's GGUF writer; `aieb generate --prompt-ids ... --max-tokens 0 --dump-logits` runs it with
 * the best kernels and with the scalar ones, and tests/ref/ref_forward.py
 * (/usr/bin/python3 + NumPy, float64) checks max|engine - ref| / max|ref|:
 *   F32, F16, BF16: <= 1e-4 (the weights are exact in float; only float32 rounding)
 *   quantized:      <= 2e-2 (the engine also quantizes activations to 8 bits per 32
 *                   values before those dot products; the reference does not)
 * Every block type (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K..Q6_K, IQ4_XS; 256 wide
 * for the super-block types) and files that mix types per tensor as llama.cpp's
 * Q4_K_M does (Q6_K attn_v / ffn_down / output) are checked the same way.
 * Controls show the comparison can fail: another model's logits, the wrong rotation.
 * Skipped (77) when /usr/bin/python3 with NumPy is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_engine_model.h"

#define PYTHON    "/usr/bin/python3"
#define TOL_FLOAT 1e-4
#define TOL_QUANT 2e-2
#define TOL_WIDE  3e-2 /* 256 wide: Q8_0 itself measures 2.2e-2 against the float ref */
#define TOL_ACTQ  1e-2 /* typically 1e-7; one activation rounded the other way: 4e-3 */

static char dir[64], aieb[512], ref[512];
static const char ids[] = "5 17 42 299 0 1 2 100 7 8 9";

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int setup(void **state)
{
    const char *src = getenv("AIEB_SOURCE_DIR"), *build = getenv("AIEB_BUILD_DIR");
    if (!src || !build)
        return -1;
    snprintf(aieb, sizeof aieb, "%s/aieb", build);
    snprintf(ref, sizeof ref, "%s/tests/ref/ref_forward.py", src);
    snprintf(dir, sizeof dir, "/tmp/aieb-ref-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    return run("rm -rf %s", dir);
}

/* Writes the model, dumps logits with auto and scalar kernels, runs the reference. */
static int check_with(const tiny_cfg *c, const char *name, double tol, const char *rope,
                      const char *extra)
{
    char model[256];
    snprintf(model, sizeof model, "%s/%s.gguf", dir, name);
    if (tiny_write(c, model) != 0)
        fail_msg("%s: cannot write the model", name);
    for (int k = 0; k < 2; k++) {
        int rc = run("%s generate --model %s --prompt-ids '%s' --max-tokens 0 --kernels %s "
                     "--dump-logits %s/%s-%d.bin >/dev/null",
                     aieb, model, ids, k ? "scalar" : "auto", dir, name, k);
        if (rc != 0)
            fail_msg("%s: aieb generate exited %d", name, rc);
    }
    printf("%s:\n", name);
    fflush(stdout);
    return run("%s %s %s --ids '%s' --tol %g --rope %s %s --logits %s/%s-0.bin %s/%s-1.bin", PYTHON,
               ref, model, ids, tol, rope, extra, dir, name, dir, name);
}

static int check(const tiny_cfg *c, const char *name, double tol, const char *rope)
{
    return check_with(c, name, tol, rope, "");
}

/* A quantized model checked twice: against the float reference, and against the
 * reference that rounds activations as the engine does (only weight decoding and
 * float rounding left, so a far tighter bound). */
static int check_quant(const tiny_cfg *c, const char *name, double tol)
{
    int rc = check_with(c, name, tol, "auto", "");
    if (rc)
        return rc;
    char exact[80];
    snprintf(exact, sizeof exact, "%s-act", name);
    return check_with(c, exact, TOL_ACTQ, "auto", "--act-q8");
}

static void against_numpy(void **state)
{
    const uint32_t types[] = {AIEB_GGML_F32, AIEB_GGML_F16, AIEB_GGML_BF16, AIEB_GGML_Q8_0,
                              AIEB_GGML_Q4_0};
    const char *archs[] = {"llama", "qwen2"};
    for (int ai = 0; ai < 2; ai++)
        for (int ti = 0; ti < 5; ti++)
            for (int tied = 0; tied < 2; tied++) {
                tiny_cfg c;
                tiny_defaults(&c, archs[ai], types[ti], tied);
                c.seed = (uint64_t)(ai * 100 + ti * 10 + tied + 1);
                int quant = types[ti] == AIEB_GGML_Q8_0 || types[ti] == AIEB_GGML_Q4_0;
                char name[64];
                snprintf(name, sizeof name, "%s-%s-%s", archs[ai], aieb_ggml_type_name(types[ti]),
                         tied ? "tied" : "untied");
                int rc =
                    quant ? check_quant(&c, name, TOL_QUANT) : check(&c, name, TOL_FLOAT, "auto");
                if (rc != 0)
                    fail_msg("%s: the reference check exited %d", name, rc);
            }
}

/* The other block types, 256 wide (K-quants need rows of 256), llama and qwen2. */
static void block_types(void **state)
{
    const uint32_t types[] = {AIEB_GGML_Q8_0,   AIEB_GGML_Q4_1, AIEB_GGML_Q5_0,  AIEB_GGML_Q5_1,
                              AIEB_GGML_IQ4_NL, AIEB_GGML_Q2_K, AIEB_GGML_Q3_K,  AIEB_GGML_Q4_K,
                              AIEB_GGML_Q5_K,   AIEB_GGML_Q6_K, AIEB_GGML_IQ4_XS};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++)
        for (int ai = 0; ai < 2; ai++) {
            tiny_cfg c;
            tiny_defaults(&c, ai ? "qwen2" : "llama", types[ti], (int)(ti % 2));
            c.n_embd = 256;
            c.n_ff = 512;
            c.std = 0.04f; /* 4 times as wide: activations of the same size */
            c.seed = 500 + ti * 2 + (uint64_t)ai;
            char name[64];
            snprintf(name, sizeof name, "%s-%s", c.arch, aieb_ggml_type_name(types[ti]));
            int rc = check_quant(&c, name, TOL_WIDE);
            if (rc != 0)
                fail_msg("%s: the reference check exited %d", name, rc);
        }
}

/* Files that mix types per tensor: Q4_K_M's pattern, and one tensor of each kind of
 * block with an F16 attn_v among quantized q/k (the activations are quantized for
 * q/k and the F16 product reads floats). */
static void mixed_types(void **state)
{
    tiny_cfg c;
    tiny_defaults(&c, "llama", AIEB_GGML_Q4_K, 0);
    c.n_embd = 256;
    c.n_ff = 512;
    c.std = 0.04f;
    c.t_v = c.t_down = c.t_output = AIEB_GGML_Q6_K;
    assert_int_equal(check_quant(&c, "llama-q4_k_m", TOL_WIDE), 0);
    tiny_defaults(&c, "qwen2", AIEB_GGML_Q5_K, 1);
    c.n_embd = 256;
    c.n_ff = 512;
    c.std = 0.04f;
    c.t_embd = AIEB_GGML_Q6_K; /* tied: the output is Q6_K too */
    c.t_q = AIEB_GGML_Q5_0;
    c.t_k = AIEB_GGML_Q8_0;
    c.t_v = AIEB_GGML_F16;
    c.t_o = AIEB_GGML_IQ4_XS;
    c.t_gate = AIEB_GGML_Q4_1;
    c.t_up = AIEB_GGML_IQ4_NL;
    c.t_down = AIEB_GGML_Q5_1;
    assert_int_equal(check_quant(&c, "qwen2-mixed", TOL_WIDE), 0);
}

/* rope_freqs, F16 norms, a partial batch of one token, more heads than kv heads */
static void variants(void **state)
{
    tiny_cfg c;
    tiny_defaults(&c, "llama", AIEB_GGML_F32, 1);
    c.rope_freqs = 1;
    c.vtype = AIEB_GGML_F16;
    assert_int_equal(check(&c, "llama-rope-freqs", TOL_FLOAT, "auto"), 0);
    tiny_defaults(&c, "qwen2", AIEB_GGML_BF16, 0);
    c.n_heads = 8;
    c.n_kv_heads = 1;
    c.n_layers = 3;
    c.vtype = AIEB_GGML_BF16;
    assert_int_equal(check(&c, "qwen2-mqa", TOL_FLOAT, "auto"), 0);
}

/* qwen3 (per-head q/k norms, head_dim 32 with 64 wide embeddings) and phi3 (fused
 * attn_qkv, gate|up in one ffn_up), every weight type, tied and untied. */
static void architectures(void **state)
{
    const uint32_t types[] = {AIEB_GGML_F32, AIEB_GGML_F16, AIEB_GGML_BF16, AIEB_GGML_Q8_0,
                              AIEB_GGML_Q4_0};
    const char *archs[] = {"qwen3", "phi3"};
    for (int ai = 0; ai < 2; ai++)
        for (int ti = 0; ti < 5; ti++)
            for (int tied = 0; tied < 2; tied++) {
                tiny_cfg c;
                tiny_defaults(&c, archs[ai], types[ti], tied);
                c.seed = (uint64_t)(1000 + ai * 100 + ti * 10 + tied);
                int quant = types[ti] == AIEB_GGML_Q8_0 || types[ti] == AIEB_GGML_Q4_0;
                char name[64];
                snprintf(name, sizeof name, "%s-%s-%s", archs[ai], aieb_ggml_type_name(types[ti]),
                         tied ? "tied" : "untied");
                int rc = check(&c, name, quant ? TOL_QUANT : TOL_FLOAT, "auto");
                if (rc != 0)
                    fail_msg("%s: the reference check exited %d", name, rc);
            }
}

/* Linear RoPE scaling (with and without rope_freqs), a phi3 with 8:1 grouped-query
 * attention, a qwen3 with F16 head norms; and controls for the new parts: phi3's halves
 * read up-then-gate, qwen3 rotated as adjacent pairs, linear scaling ignored. */
static void architecture_variants(void **state)
{
    tiny_cfg c;
    tiny_defaults(&c, "llama", AIEB_GGML_F32, 0);
    c.rope_linear = 4.0f;
    assert_int_equal(check(&c, "llama-rope-linear", TOL_FLOAT, "auto"), 0);
    c.rope_freqs = 1;
    c.rope_linear = 2.0f;
    assert_int_equal(check(&c, "llama-rope-linear-freqs", TOL_FLOAT, "auto"), 0);
    tiny_defaults(&c, "phi3", AIEB_GGML_F32, 0);
    c.n_heads = 8;
    c.n_kv_heads = 1;
    assert_int_equal(check(&c, "phi3-mqa", TOL_FLOAT, "auto"), 0);
    tiny_defaults(&c, "qwen3", AIEB_GGML_Q8_0, 1);
    c.vtype = AIEB_GGML_F16;
    assert_int_equal(check(&c, "qwen3-f16-norms", TOL_QUANT, "auto"), 0);

    tiny_defaults(&c, "qwen3", AIEB_GGML_F32, 1);
    assert_int_equal(check(&c, "control-qwen3", TOL_FLOAT, "pairs"), 1);
    tiny_defaults(&c, "phi3", AIEB_GGML_F32, 1);
    assert_int_equal(check(&c, "control-phi3", TOL_FLOAT, "auto"), 0);
    assert_int_equal(run("%s %s %s/control-phi3.gguf --ids '%s' --tol %g --ffn-order up-gate "
                         "--logits %s/control-phi3-0.bin",
                         PYTHON, ref, dir, ids, TOL_FLOAT, dir),
                     1);
    /* the same file without the scaling keys is another model to the reference */
    tiny_defaults(&c, "llama", AIEB_GGML_F32, 0);
    char plain[256];
    snprintf(plain, sizeof plain, "%s/llama-unscaled.gguf", dir);
    assert_int_equal(tiny_write(&c, plain), 0);
    assert_int_equal(run("%s %s %s --ids '%s' --tol %g --logits %s/llama-rope-linear-0.bin", PYTHON,
                         ref, plain, ids, TOL_FLOAT, dir),
                     1);
}

/* The check is able to fail. */
static void controls(void **state)
{
    tiny_cfg c;
    tiny_defaults(&c, "llama", AIEB_GGML_F32, 1);
    /* llama weights checked with the half-split rotation, qwen2 with pairs */
    assert_int_equal(check(&c, "control-llama", TOL_FLOAT, "neox"), 1);
    tiny_defaults(&c, "qwen2", AIEB_GGML_F32, 1);
    assert_int_equal(check(&c, "control-qwen2", TOL_FLOAT, "pairs"), 1);
    /* another model's logits */
    char other[256];
    snprintf(other, sizeof other, "%s/other.gguf", dir);
    c.seed = 99;
    assert_int_equal(tiny_write(&c, other), 0);
    assert_int_equal(run("%s %s %s --ids '%s' --tol 0.5 --logits %s/control-qwen2-0.bin", PYTHON,
                         ref, other, ids, dir),
                     1);
    /* a file that is not a model */
    assert_int_equal(
        run("%s %s /etc/hostname --ids 1 --tol 1 --logits /dev/null 2>/dev/null", PYTHON, ref), 2);
}

int main(void)
{
    if (run("%s -c 'import numpy' 2>/dev/null", PYTHON) != 0) {
        printf("skipped: %s with NumPy is not available (Debian: python3-numpy)\n", PYTHON);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(against_numpy), cmocka_unit_test(block_types),
        cmocka_unit_test(mixed_types),   cmocka_unit_test(variants),
        cmocka_unit_test(architectures), cmocka_unit_test(architecture_variants),
        cmocka_unit_test(controls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
