// The portable micro-kernel: plain C++ over a 4 x 8 tile. Any compiler/CPU runs it; at -O3 it
// auto-vectorises to whatever the build's flags allow. It is the fallback, not the fast path.
#include "gemm_kernels.h"

namespace bmae {
namespace gemm {

namespace {

constexpr int MR = 4, NR = 8;

void kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR)
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NR; ++j) acc[r][j] += a[r] * b[j];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NR; ++j) c[r * ldc + j] = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

}  // namespace

const KernelSpec kScalarKernel{"scalar", MR, NR, 256, 128, 4096, kernel};

}  // namespace gemm
}  // namespace bmae
