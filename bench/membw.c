/* membw.c - the machine's memory read bandwidth, the roofline of LLM decoding.
 *
 * Each of N threads sums its own slice of a buffer far larger than the caches with
 * 256-bit loads (4 independent accumulators), as a decode step streams the weights
 * once. Reports the best and the median of several passes in GB/s (10^9 bytes/s) for
 * 1..max threads (on a shared or virtual machine the spread says how much to trust it).
 *
 * Usage: bench_membw [--mib N] [--passes N] [--threads N]
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "aieb/clock.h"

typedef struct slice {
    const float *p;
    size_t n;
    pthread_barrier_t *start;
    float sum;
    int64_t t0, t1;
} slice;

__attribute__((target("avx2"))) static float sum_avx2(const float *p, size_t n)
{
    __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;
    for (size_t i = 0; i + 32 <= n; i += 32) {
        a = _mm256_add_ps(a, _mm256_load_ps(p + i));
        b = _mm256_add_ps(b, _mm256_load_ps(p + i + 8));
        c = _mm256_add_ps(c, _mm256_load_ps(p + i + 16));
        d = _mm256_add_ps(d, _mm256_load_ps(p + i + 24));
    }
    float out[8];
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d)));
    return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

static float sum_scalar(const float *p, size_t n)
{
    float a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 4 <= n; i += 4) {
        a += p[i];
        b += p[i + 1];
        c += p[i + 2];
        d += p[i + 3];
    }
    return a + b + c + d;
}

static void *reader(void *arg)
{
    slice *s = arg;
    pthread_barrier_wait(s->start);
    s->t0 = aieb_now_ns();
    __builtin_cpu_init();
    s->sum = __builtin_cpu_supports("avx2") ? sum_avx2(s->p, s->n) : sum_scalar(s->p, s->n);
    s->t1 = aieb_now_ns();
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One pass over bytes with n threads; GB/s from the first start to the last end. */
static double pass(const float *buf, size_t n_floats, int n)
{
    pthread_t th[64];
    slice s[64];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)n);
    size_t per = n_floats / (size_t)n / 32 * 32;
    for (int i = 0; i < n; i++) {
        s[i] = (slice){buf + per * i, per, &start, 0, 0, 0};
        pthread_create(&th[i], NULL, reader, &s[i]);
    }
    int64_t t0 = INT64_MAX, t1 = 0;
    float total = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        t0 = s[i].t0 < t0 ? s[i].t0 : t0;
        t1 = s[i].t1 > t1 ? s[i].t1 : t1;
        total += s[i].sum;
    }
    pthread_barrier_destroy(&start);
    if (total == 12345.678f) /* keep the sums alive */
        printf(" ");
    return (double)(per * n * sizeof(float)) / (double)(t1 - t0);
}

int main(int argc, char **argv)
{
    size_t mib = 1024;
    int passes = 8, max_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc)
            mib = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc)
            passes = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            max_threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_membw [--mib N] [--passes N] [--threads N]\n");
            return 2;
        }
    }
    if (max_threads < 1 || max_threads > 64 || passes < 1 || mib < 16) {
        fprintf(stderr, "bench_membw: threads 1..64, passes >= 1, mib >= 16\n");
        return 2;
    }
    size_t bytes = mib << 20;
    float *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        perror("bench_membw: mmap");
        return 1;
    }
#ifdef MADV_HUGEPAGE
    madvise(buf, bytes, MADV_HUGEPAGE); /* as the engine's weights */
#endif
    for (size_t i = 0; i < bytes / sizeof(float); i++)
        buf[i] = (float)(i & 1023) * 0.001f;
    printf("memory read bandwidth, %zu MiB buffer, %d passes\n", mib, passes);
    printf("threads  best GB/s  median GB/s\n");
    double v[256] = {0};
    if (passes > 256)
        passes = 256;
    for (int n = 1; n <= max_threads; n++) {
        for (int p = 0; p < passes; p++)
            v[p] = pass(buf, bytes / sizeof(float), n);
        qsort(v, (size_t)passes, sizeof v[0], cmp_double);
        double med = passes % 2 ? v[passes / 2] : (v[passes / 2 - 1] + v[passes / 2]) / 2;
        printf("%7d  %9.1f  %11.1f\n", n, v[passes - 1], med);
    }
    munmap(buf, bytes);
    return 0;
}
