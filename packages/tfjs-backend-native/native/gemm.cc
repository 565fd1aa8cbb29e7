// Which GEMM backs the addon's sgemm(): OpenBLAS when the build found it (BMAE_GEMM_OPENBLAS, set by
// binding.gyp from scripts/build-addon.js's probe or BMAE_NATIVE_BLAS), else the built-in one.
#include <stdexcept>
#include <string>

#include "gemm.h"

#if BMAE_GEMM_OPENBLAS
#include <cblas.h>
#endif

namespace bmae {

#if BMAE_GEMM_OPENBLAS

bool openblasSgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return true;
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(M), static_cast<blasint>(N), static_cast<blasint>(K), alpha, A,
              static_cast<blasint>(lda), B, static_cast<blasint>(ldb), beta, C, static_cast<blasint>(ldc));
  return true;
}

void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  openblasSgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemmSetThreads(int threads) { openblas_set_num_threads(threads); }

std::string openblasConfig() { return openblas_get_config(); }

std::string gemmInfo() { return "openblas " + openblasConfig(); }

#else

bool openblasSgemm(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                   float, float*, int64_t) {
  return false;
}

void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  builtinSgemm("", transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// The built-in GEMM threads over the addon's own pool, whose size setThreads() already sets.
void gemmSetThreads(int) {}

std::string openblasConfig() { return ""; }

std::string gemmInfo() { return "builtin " + builtinInfo(); }

#endif

}  // namespace bmae
