/* kernels_blocks.c - the other block types' products for AVX2 + FMA + F16C (see
 * kernels_blocks.inc, kernels_kquant.inc); the AVX-512 tables use them too. */
#include <immintrin.h>

#include "engine/kernels.h"
#include "engine/kernels_simd.h"

#define BLK_TARGET  __attribute__((target("avx2,fma,f16c")))
#define BLK_NAME(x) avx2_##x
#include "engine/kernels_blocks.inc"
#define KQ_TILE    4
#define KQ_VNNI    0
#define KQ_LINKAGE /* exported: the AVX-512 table without VNNI uses them */
#include "engine/kernels_kquant.inc"
