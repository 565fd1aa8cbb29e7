// The arm64 micro-kernel: 8 x 12 with NEON (AdvSIMD is part of every AArch64 CPU, so no run-time check).
// 32 q registers of 4 lanes: 8 x 12 -> 24 accumulators + 3 B vectors + 2 A vectors (8 values, used
// lane by lane with vfmaq_laneq_f32) = 29 registers. Blocking as on x86: the KC = 256 x 12 sliver of
// B is 12 KB (L1 is 64 KB on most arm64 cores), MC x KC of A 128 KB for L2.
#include "gemm_kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>

namespace bmae {
namespace gemm {

namespace {

void kernelNeon(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
  constexpr int MR = 8, NV = 3;
  float32x4_t acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = vdupq_n_f32(0.0f);
  for (int64_t k = 0; k < kc; ++k, a += MR, b += 4 * NV) {
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
    const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
#define BMAE_NEON_ROW(r, av, lane)                        \
  acc[r][0] = vfmaq_laneq_f32(acc[r][0], b0, av, lane); \
  acc[r][1] = vfmaq_laneq_f32(acc[r][1], b1, av, lane); \
  acc[r][2] = vfmaq_laneq_f32(acc[r][2], b2, av, lane);
    BMAE_NEON_ROW(0, a0, 0) BMAE_NEON_ROW(1, a0, 1) BMAE_NEON_ROW(2, a0, 2) BMAE_NEON_ROW(3, a0, 3)
    BMAE_NEON_ROW(4, a1, 0) BMAE_NEON_ROW(5, a1, 1) BMAE_NEON_ROW(6, a1, 2) BMAE_NEON_ROW(7, a1, 3)
#undef BMAE_NEON_ROW
  }
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) {
      float* cr = c + r * ldc + 4 * v;
      vst1q_f32(cr, accumulate ? vaddq_f32(acc[r][v], vld1q_f32(cr)) : acc[r][v]);
    }
}

}  // namespace

const KernelSpec kNeonKernel{"neon", 8, 12, 256, 128, 4096, kernelNeon};

}  // namespace gemm
}  // namespace bmae

#endif
