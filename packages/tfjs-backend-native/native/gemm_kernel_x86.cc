// x86-64 micro-kernels, each compiled for its ISA with a target attribute (not the build's -m flags),
// so one binary carries all of them and gemm_builtin.cc picks the best the CPU has at run time.
//
// Register budget (why these tiles): an MR x NR tile needs MR * NR / lanes accumulators, plus the
// NR / lanes vectors of the current B row and one broadcast A value.
//   AVX-512 (32 zmm, 16 lanes): 12 x 32 -> 24 accumulators + 2 B + 1 A = 27 registers; each k step
//     is 24 FMAs for 2 loads and 12 broadcasts, enough to cover the FMA latency (4 cycles x 2 ports).
//   AVX2/FMA (16 ymm, 8 lanes): 6 x 16 -> 12 accumulators + 2 B + 1 A = 15 registers.
// Blocking: KC = 256 keeps the kc x NR sliver of B that is reused across a whole MC block in L1
// (32 KB for AVX-512, 16 KB for AVX2; L1d is 32-48 KB on current x86) while A's slivers stream from
// L2; MC x KC of A (192 x 256 x 4 B = 192 KB, 144 x 256 x 4 B = 144 KB) fits any L2 >= 256 KB; NC = 4096
// columns of B (4 MB) sit in L3. The model's K (64, 65, 192, 768) mostly fits in one or a few KC blocks.
#include "gemm_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

namespace bmae {
namespace gemm {

namespace {

__attribute__((target("avx512f"))) void kernelAvx512(int64_t kc, const float* a, const float* b, float* c,
                                                     int64_t ldc, bool accumulate) {
  constexpr int MR = 12;
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k, a += MR, b += 32) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512 ar = _mm512_set1_ps(a[r]);
      c0[r] = _mm512_fmadd_ps(ar, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(ar, b1, c1[r]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    float* cr = c + r * ldc;
    if (accumulate) {
      c0[r] = _mm512_add_ps(c0[r], _mm512_loadu_ps(cr));
      c1[r] = _mm512_add_ps(c1[r], _mm512_loadu_ps(cr + 16));
    }
    _mm512_storeu_ps(cr, c0[r]);
    _mm512_storeu_ps(cr + 16, c1[r]);
  }
}

__attribute__((target("avx2,fma"))) void kernelAvx2(int64_t kc, const float* a, const float* b, float* c,
                                                    int64_t ldc, bool accumulate) {
  constexpr int MR = 6;
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k, a += MR, b += 16) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r);
      c0[r] = _mm256_fmadd_ps(ar, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(ar, b1, c1[r]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    float* cr = c + r * ldc;
    if (accumulate) {
      c0[r] = _mm256_add_ps(c0[r], _mm256_loadu_ps(cr));
      c1[r] = _mm256_add_ps(c1[r], _mm256_loadu_ps(cr + 8));
    }
    _mm256_storeu_ps(cr, c0[r]);
    _mm256_storeu_ps(cr + 8, c1[r]);
  }
}

}  // namespace

const KernelSpec kAvx512Kernel{"avx512", 12, 32, 256, 192, 4096, kernelAvx512};
const KernelSpec kAvx2Kernel{"avx2", 6, 16, 256, 144, 4096, kernelAvx2};

}  // namespace gemm
}  // namespace bmae

#endif
