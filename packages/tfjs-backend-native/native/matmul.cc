// Batched matrix multiplication through the addon's sgemm (gemm.h: OpenBLAS or the built-in one).

#include <algorithm>
#include <cstring>

#include "gemm.h"
#include "kernels.h"
#include "thread_pool.h"

namespace bmae {

namespace {

void gemm(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K, bool transA, bool transB,
          const float* bias) {
  if (M == 0 || N == 0) return;
  float beta = 0.0f;
  if (bias != nullptr) {
    // C starts as the bias rows and sgemm adds to it (beta = 1); the copy is threaded like the product.
    parallelFor(M, std::max<int64_t>(1, kElementGrain / N), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) std::memcpy(c + i * N, bias, sizeof(float) * N);
    });
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
  // Several products. Each one too small to split (attention heads: [65, 65, 64] is 0.27 M
  // multiply-adds) runs single-threaded, the products spread over the pool, enough of them per chunk
  // to be worth a thread (a small product's result then does not depend on the thread count); larger
  // ones run one after another, each split by sgemm itself.
  const int64_t work = std::max<int64_t>(1, M * N * K);
  const int64_t grain = work < kMinThreadedGemm ? (kMinThreadedGemm + work - 1) / work : batch;
  parallelFor(batch, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      gemm(a + aIndex[i] * aSize, b + bIndex[i] * bSize, c + i * cSize, M, N, K, transA, transB, bias);
  });
}

}  // namespace bmae
