/* blas.h - OpenBLAS's sgemm, loaded with dlopen when present.
 *
 * The engine runs its own threads, so OpenBLAS is set to one thread and each pool
 * thread calls sgemm on its own rows. Loading at run time keeps OpenBLAS optional:
 * without it F32 prefill uses the engine's kernels.
 */
#ifndef AIEB_ENGINE_BLAS_H
#define AIEB_ENGINE_BLAS_H

/* CBLAS constants (cblas.h, the reference CBLAS interface) */
#define BLAS_ROW_MAJOR 101
#define BLAS_NO_TRANS  111
#define BLAS_TRANS     112

typedef void (*sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                         const float *a, int lda, const float *b, int ldb, float beta, float *c,
                         int ldc);

typedef struct blas_lib {
    void *handle;
    sgemm_fn sgemm; /* NULL when not loaded */
} blas_lib;

/* Loads libopenblas.so.0 and sets it to one thread. Returns 0 when loaded, -1 when
 * not (b->sgemm NULL); never an error: OpenBLAS is an optional speed-up. */
int blas_load(blas_lib *b);
void blas_unload(blas_lib *b);

#endif
