// Which GEMM backs the addon's sgemm(): OpenBLAS when the build found it (BMAE_GEMM_OPENBLAS, set by
// binding.gyp from scripts/build-addon.js's probe or BMAE_NATIVE_BLAS), else the built-in one; and
// how either is threaded (forEachSlab).
#include <algorithm>
#include <stdexcept>
#include <string>

#include "gemm.h"
#include "thread_pool.h"

#if BMAE_GEMM_OPENBLAS
#include <cblas.h>
#endif

namespace bmae {

namespace {

// Rows (or columns) below which a slab is not cut in two again: every slab repacks the whole other
// operand (B for row slabs), and at 512 rows that repacking stays a small part of the slab's work.
constexpr int64_t kMinSlab = 512;

// Slabs of a product of `work` multiply-adds whose cut axis is `length` long in `tiles` tiles: 1 below
// kMinThreadedGemm, else 2 to kMaxParts by size: from the shape (and tile) only.
int64_t slabCount(int64_t work, int64_t length, int64_t tiles) {
  if (work < kMinThreadedGemm || tiles < 2) return 1;
  // Two slabs whenever the product is worth splitting (two threads must share it); more, up to
  // kMaxParts, while each stays at least kMinSlab long. Powers of two share out evenly over 2, 4, 8 threads.
  int64_t slabs = 2;
  while (slabs < kMaxParts && length / (2 * slabs) >= kMinSlab) slabs *= 2;
  return std::min(slabs, tiles);
}

}  // namespace

void forEachSlab(int64_t M, int64_t N, int64_t K, int64_t mr, int64_t nr,
                 const std::function<void(int64_t, int64_t, int64_t, int64_t)>& fn) {
  if (M <= 0 || N <= 0) return;
  const bool rows = M >= N;
  const int64_t tile = rows ? mr : nr, length = rows ? M : N;
  const int64_t tiles = (length + tile - 1) / tile;
  const int64_t slabs = slabCount(M * N * K, length, tiles);
  if (slabs == 1) {
    fn(0, M, 0, N);
    return;
  }
  // Whole tiles per slab; the pool runs the slabs on its threads (inline, in order, inside a pool job).
  pool().run(slabs, [&](int64_t s) {
    const int64_t begin = tiles * s / slabs * tile, end = std::min(length, tiles * (s + 1) / slabs * tile);
    if (begin >= end) return;
    if (rows) fn(begin, end, 0, N);
    else fn(0, M, begin, end);
  });
}

#if BMAE_GEMM_OPENBLAS

namespace {

// OpenBLAS's own threads stay idle: each slab is one single-threaded call (nested in our pool, its
// threads would compete with ours). Set once when the addon loads.
const bool kOpenblasSingleThreaded = (openblas_set_num_threads(1), true);

// Slab granularity: a multiple of OpenBLAS's sgemm register tiles on every x86/ARM kernel (16 rows or
// columns), so no slab ends in a partial tile that the other could have finished.
constexpr int64_t kOpenblasSlab = 16;

}  // namespace

bool openblasSgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  (void)kOpenblasSingleThreaded;
  forEachSlab(M, N, K, kOpenblasSlab, kOpenblasSlab, [&](int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    const float* a = transA ? A + i0 : A + i0 * lda;  // op(A) rows i0.. are A's columns when transposed
    const float* b = transB ? B + j0 * ldb : B + j0;
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                static_cast<blasint>(i1 - i0), static_cast<blasint>(j1 - j0), static_cast<blasint>(K), alpha, a,
                static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, C + i0 * ldc + j0,
                static_cast<blasint>(ldc));
  });
  return true;
}

void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  openblasSgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

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

std::string openblasConfig() { return ""; }

std::string gemmInfo() { return "builtin " + builtinInfo(); }

#endif

}  // namespace bmae
