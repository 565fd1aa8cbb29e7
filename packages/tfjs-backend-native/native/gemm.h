// The one SGEMM the addon's kernels call, and where it comes from. Two implementations sit behind
// it: OpenBLAS's cblas_sgemm (gemm.cc, built when OpenBLAS is found or BMAE_NATIVE_BLAS=openblas)
// and the built-in blocked SGEMM (gemm_builtin.cc, always compiled so it can be tested and timed
// beside OpenBLAS; it backs sgemm() when BMAE_NATIVE_BLAS=builtin or no OpenBLAS is found).
// Both run single-threaded per slab of C, the slabs spread over the addon's pool (forEachSlab): one
// set of threads for every kernel, instead of OpenBLAS's own pool waking beside ours.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace bmae {

/**
 * C = alpha * op(A) x op(B) + beta * C, all row-major. op(A) is [M, K] (A is [K, M] when transA), op(B)
 * is [K, N] (B is [N, K] when transB); lda/ldb/ldc are row strides. beta 0 ignores C's contents (NaN
 * included), as BLAS does. Threaded over the addon's pool (forEachSlab); inside a pool job the same slabs
 * run one after another on the calling thread.
 */
void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

/**
 * Products below this many multiply-adds (~10-20 us on one core) run on one thread: splitting them
 * costs more in hand-off than the second core saves. Also the batch size under which batchMatMul
 * keeps several small products on one thread.
 */
constexpr int64_t kMinThreadedGemm = int64_t{1} << 20;

/**
 * How both GEMMs are threaded: C [M, N] is cut into slabCount() slabs, whole multiples of mr rows when
 * M >= N, else of nr columns, and fn(i0, i1, j0, j1) computes C[i0:i1, j0:j1] on one thread; the pool
 * runs the slabs on however many threads it has (inline inside a pool job). The partition depends on
 * the shape only, never on the thread count: OpenBLAS does not always give a slab the numbers the
 * whole product would have (its small-matrix and direct kernels are picked by size), so the slabs
 * must be the same ones at every thread count.
 */
void forEachSlab(int64_t M, int64_t N, int64_t K, int64_t mr, int64_t nr,
                 const std::function<void(int64_t i0, int64_t i1, int64_t j0, int64_t j1)>& fn);

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
