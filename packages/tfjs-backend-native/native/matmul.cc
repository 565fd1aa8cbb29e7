// Batched matrix multiplication through the addon's sgemm (gemm.h: OpenBLAS or the built-in one).

#include <algorithm>
#include <cstring>

#include "gemm.h"
#include "kernels.h"
#include "thread_pool.h"

namespace bmae {

namespace {

// OpenBLAS runs one sgemm single-threaded below M*N*K = 65536 * 4 (its GEMM_MULTITHREAD_THRESHOLD);
// batches of matrices that small are better spread over threads one matrix each.
constexpr int64_t kSmallGemm = 1 << 18;

void gemm(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K, bool transA, bool transB,
          const float* bias) {
  if (M == 0 || N == 0) return;
  float beta = 0.0f;
  if (bias != nullptr) {
    for (int64_t i = 0; i < M; ++i) std::memcpy(c + i * N, bias, sizeof(float) * N);
    beta = 1.0f;
  }
  if (K == 0) {
    if (bias == nullptr) std::fill(c, c + M * N, 0.0f);
    return;
  }
  sgemm(transA, transB, M, N, K, 1.0f, a, transA ? M : K, b, transB ? K : N, beta, c, N);
}

}  // namespace

void batchMatMul(const float* a, const float* b, float* c, int64_t batch, const int32_t* aIndex,
                 const int32_t* bIndex, int64_t M, int64_t N, int64_t K, bool transA, bool transB,
                 const float* bias) {
  if (batch == 0) return;
  const int64_t aSize = M * K, bSize = K * N, cSize = M * N;
  // [batch, M, K] x one shared [K, N] (a Linear layer on a batch of sequences): one tall sgemm.
  bool sharedB = !transA;
  for (int64_t i = 0; sharedB && i < batch; ++i) sharedB = bIndex[i] == bIndex[0] && aIndex[i] == i;
  if (batch == 1 || sharedB) {
    gemm(a + aIndex[0] * aSize, b + bIndex[0] * bSize, c, batch * M, N, K, transA, transB, bias);
    return;
  }
  const int threads = pool().threads();
  if (threads > 1 && M * N * K <= kSmallGemm && batch >= threads) {
    // Many small products (attention heads): one single-threaded sgemm per matrix, matrices spread
    // over our pool. OpenBLAS is told to stay single-threaded meanwhile so the calls never nest.
    gemmSetThreads(1);
    parallelFor(batch, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        gemm(a + aIndex[i] * aSize, b + bIndex[i] * bSize, c + i * cSize, M, N, K, transA, transB, bias);
    });
    gemmSetThreads(threads);
    return;
  }
  for (int64_t i = 0; i < batch; ++i)
    gemm(a + aIndex[i] * aSize, b + bIndex[i] * bSize, c + i * cSize, M, N, K, transA, transB, bias);
}

}  // namespace bmae
