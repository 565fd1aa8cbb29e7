// The one SGEMM the addon's kernels call, and where it comes from. Two implementations sit behind
// it: OpenBLAS's cblas_sgemm (gemm_openblas.cc, built when OpenBLAS is found or BMAE_NATIVE_BLAS=openblas)
// and the built-in blocked SGEMM (gemm_builtin.cc, always compiled so it can be tested and timed
// beside OpenBLAS; it backs sgemm() when BMAE_NATIVE_BLAS=builtin or no OpenBLAS is found).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bmae {

/**
 * C = alpha * op(A) x op(B) + beta * C, all row-major. op(A) is [M, K] (A is [K, M] when transA), op(B)
 * is [K, N] (B is [N, K] when transB); lda/ldb/ldc are row strides. beta 0 ignores C's contents (NaN
 * included), as BLAS does. Threaded over the addon's pool unless called from inside a pool job.
 */
void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

/** Tells the GEMM library how many threads it may use (OpenBLAS has its own pool; builtin uses ours). */
void gemmSetThreads(int threads);

/** Which GEMM backs sgemm(): "openblas <config>" or "builtin <isa> <MRxNR>". */
std::string gemmInfo();

/** The build's OpenBLAS configuration string, or "" when the addon was built without OpenBLAS. */
std::string openblasConfig();

// ---- the built-in SGEMM, callable directly (tests, benchmarks) ----

/** The default built-in kernel and its blocking, e.g. "avx512 12x32 (kc 256, mc 192, nc 4096)". */
std::string builtinInfo();

/** The micro-kernel ISAs this CPU can run, best first (e.g. {"avx512", "avx2", "scalar"}). */
std::vector<std::string> builtinIsas();

/** The built-in SGEMM with the given ISA ("" = the best one, or BMAE_GEMM_ISA); throws on an unknown one. */
void builtinSgemm(const std::string& isa, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                  const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

/** OpenBLAS's sgemm when this build has it; returns false (and does nothing) when it does not. */
bool openblasSgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace bmae
