/* blas.c - optional OpenBLAS sgemm via dlopen (see blas.h). */
#include <dlfcn.h>
#include <string.h>

#include "aieb/log.h"
#include "engine/blas.h"

int blas_load(blas_lib *b)
{
    memset(b, 0, sizeof *b);
    static const char *const names[] = {"libopenblas.so.0", "libopenblas.so"};
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !b->handle; i++)
        b->handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!b->handle) {
        AIEB_DEBUG("engine: OpenBLAS not found (%s); F32 prefill uses the engine's kernels",
                   dlerror());
        return -1;
    }
    void *sym = dlsym(b->handle, "cblas_sgemm");
    void *set_threads = dlsym(b->handle, "openblas_set_num_threads");
    if (!sym || !set_threads) {
        dlclose(b->handle);
        b->handle = NULL;
        return -1;
    }
    void (*set)(int);
    memcpy(&set, &set_threads, sizeof set); /* object pointer -> function pointer */
    set(1);
    memcpy(&b->sgemm, &sym, sizeof b->sgemm);
    return 0;
}

void blas_unload(blas_lib *b)
{
    /* OpenBLAS stays loaded: its threads and atexit handlers outlive a dlclose badly. */
    b->sgemm = NULL;
    b->handle = NULL;
}
