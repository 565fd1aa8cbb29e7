// The built-in SGEMM: C = alpha * op(A) op(B) + beta * C (row-major) by the GotoBLAS / BLIS loop
// nest, so that OpenBLAS is optional. Per call:
//   for each NC-wide column block of B (jc)            B block  kc x nc  -> L3
//     for each KC-deep slice of K (pc): pack B           (NR-column slivers, zero-padded)
//       for each MC-high row block of A (ic): pack A   A block  mc x kc  -> L2 (alpha folded in here)
//         for each NR sliver of B (jr), MR sliver of A (ir): micro-kernel on an MR x NR tile of C
// Packing turns any transpose or stride into the contiguous layout the micro-kernel streams, which
// is why transA/transB cost only a different packing loop. Edge tiles (M, N not multiples of MR, NR)
// run the full kernel on zero-padded panels into a scratch tile and copy the valid part.
// Threads: C is split into slabs by its shape (forEachSlab: rows when M >= N, else columns, in whole
// MR / NR tiles) that the pool's threads share; each slab packs its own panels. A tile's sums do not
// depend on the slab it is in, so results are the same for any split. Called from inside a pool job
// (batched small products), its slabs run one after another on the calling thread.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "gemm.h"
#include "gemm_kernels.h"
#include "thread_pool.h"

namespace bmae {

namespace {

using gemm::KernelSpec;

constexpr int kMaxTile = 12 * 32;  // largest MR x NR of any kernel

std::vector<const KernelSpec*> availableKernels() {
  std::vector<const KernelSpec*> kernels;
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) kernels.push_back(&gemm::kAvx512Kernel);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) kernels.push_back(&gemm::kAvx2Kernel);
#elif defined(__aarch64__)
  kernels.push_back(&gemm::kNeonKernel);
#endif
  kernels.push_back(&gemm::kScalarKernel);
  return kernels;
}

const std::vector<const KernelSpec*>& kernels() {
  static const std::vector<const KernelSpec*> list = availableKernels();
  return list;
}

const KernelSpec* findKernel(const std::string& isa) {
  for (const KernelSpec* k : kernels())
    if (isa == k->isa) return k;
  return nullptr;
}

// BMAE_GEMM_ISA=avx2|scalar|... picks a lesser kernel than the best (to test it); ignored when this
// CPU cannot run it (gemmInfo() then says so).
const KernelSpec& defaultKernel() {
  static const KernelSpec* chosen = [] {
    const char* env = std::getenv("BMAE_GEMM_ISA");
    const KernelSpec* k = env != nullptr ? findKernel(env) : nullptr;
    return k != nullptr ? k : kernels().front();
  }();
  return *chosen;
}

// A 64-byte aligned, grow-only scratch buffer (one per thread and panel kind: packing allocates
// nothing after the first call of a given size).
class PackBuffer {
 public:
  float* get(size_t n) {
    if (storage_.size() < n + 16) storage_.resize(n + 16);
    const auto p = reinterpret_cast<uintptr_t>(storage_.data());
    return reinterpret_cast<float*>((p + 63) & ~uintptr_t{63});
  }

 private:
  std::vector<float> storage_;
};

// Packs rows [i0, i0 + mc) x cols [p0, p0 + kc) of alpha * op(A) into MR-row slivers, a[k * MR + r].
void packA(int MR, bool transA, const float* A, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
           float alpha, float* dst) {
  for (int64_t i = 0; i < mc; i += MR, dst += MR * kc) {
    const int m = static_cast<int>(std::min<int64_t>(MR, mc - i));
    if (transA) {  // op(A)(i, k) = A[k, i]: each k reads m contiguous values
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = A + (p0 + k) * lda + i0 + i;
        float* d = dst + k * MR;
        for (int r = 0; r < m; ++r) d[r] = alpha * src[r];
        for (int r = m; r < MR; ++r) d[r] = 0.0f;
      }
    } else {  // op(A)(i, k) = A[i, k]: each row is contiguous in k
      for (int r = 0; r < m; ++r) {
        const float* src = A + (i0 + i + r) * lda + p0;
        for (int64_t k = 0; k < kc; ++k) dst[k * MR + r] = alpha * src[k];
      }
      for (int r = m; r < MR; ++r)
        for (int64_t k = 0; k < kc; ++k) dst[k * MR + r] = 0.0f;
    }
  }
}

// Packs rows [p0, p0 + kc) x cols [j0, j0 + nc) of op(B) into NR-column slivers, b[k * NR + j].
void packB(int NR, bool transB, const float* B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
           float* dst) {
  for (int64_t j = 0; j < nc; j += NR, dst += NR * kc) {
    const int n = static_cast<int>(std::min<int64_t>(NR, nc - j));
    if (transB) {  // op(B)(k, j) = B[j, k]: each column of op(B) is a contiguous row of B
      for (int c = 0; c < n; ++c) {
        const float* src = B + (j0 + j + c) * ldb + p0;
        for (int64_t k = 0; k < kc; ++k) dst[k * NR + c] = src[k];
      }
      for (int c = n; c < NR; ++c)
        for (int64_t k = 0; k < kc; ++k) dst[k * NR + c] = 0.0f;
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = B + (p0 + k) * ldb + j0 + j;
        float* d = dst + k * NR;
        std::memcpy(d, src, sizeof(float) * n);
        for (int c = n; c < NR; ++c) d[c] = 0.0f;
      }
    }
  }
}

// One thread's GEMM on its slab. M, N, K > 0; beta is 0 or 1 (other betas are applied beforehand).
void blockedGemm(const KernelSpec& ks, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                 const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  thread_local PackBuffer aBuffer, bBuffer;
  const int MR = ks.mr, NR = ks.nr;
  const int64_t KC = ks.kc, MC = ks.mc, NC = ks.nc;
  float* pa = aBuffer.get(static_cast<size_t>(MC * KC));
  float* pb = bBuffer.get(static_cast<size_t>(KC * ((std::min(NC, N) + NR - 1) / NR * NR)));
  alignas(64) float tile[kMaxTile];

  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const bool accumulate = pc > 0 || beta != 0.0f;
      packB(NR, transB, B, ldb, pc, kc, jc, nc, pb);
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min(MC, M - ic);
        packA(MR, transA, A, lda, ic, mc, pc, kc, alpha, pa);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int n = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          const float* bp = pb + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int m = static_cast<int>(std::min<int64_t>(MR, mc - ir));
            const float* ap = pa + ir * kc;
            float* c = C + (ic + ir) * ldc + jc + jr;
            if (m == MR && n == NR) {
              ks.kernel(kc, ap, bp, c, ldc, accumulate);
              continue;
            }
            ks.kernel(kc, ap, bp, tile, NR, false);
            for (int r = 0; r < m; ++r)
              for (int j = 0; j < n; ++j) c[r * ldc + j] = accumulate ? c[r * ldc + j] + tile[r * NR + j] : tile[r * NR + j];
          }
        }
      }
    }
  }
}

void scaleC(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    float* row = C + i * ldc;
    if (beta == 0.0f)
      std::fill(row, row + N, 0.0f);
    else
      for (int64_t j = 0; j < N; ++j) row[j] *= beta;
  }
}

void runBuiltin(const KernelSpec& ks, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    if (beta != 1.0f) scaleC(M, N, beta, C, ldc);
    return;
  }
  if (beta != 0.0f && beta != 1.0f) {
    scaleC(M, N, beta, C, ldc);
    beta = 1.0f;
  }
  forEachSlab(M, N, K, ks.mr, ks.nr, [&](int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    blockedGemm(ks, transA, transB, i1 - i0, j1 - j0, K, alpha, transA ? A + i0 : A + i0 * lda, lda,
                transB ? B + j0 * ldb : B + j0, ldb, beta, C + i0 * ldc + j0, ldc);
  });
}

}  // namespace

std::vector<std::string> builtinIsas() {
  std::vector<std::string> names;
  for (const KernelSpec* k : kernels()) names.emplace_back(k->isa);
  return names;
}

std::string builtinInfo() {
  const KernelSpec& k = defaultKernel();
  std::string info = std::string(k.isa) + " " + std::to_string(k.mr) + "x" + std::to_string(k.nr) + " (kc " +
                     std::to_string(k.kc) + ", mc " + std::to_string(k.mc) + ", nc " + std::to_string(k.nc) + ")";
  const char* env = std::getenv("BMAE_GEMM_ISA");
  if (env != nullptr && findKernel(env) == nullptr) info += std::string("; BMAE_GEMM_ISA=") + env + " not available here";
  return info;
}

void builtinSgemm(const std::string& isa, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                  const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const KernelSpec* k = isa.empty() ? &defaultKernel() : findKernel(isa);
  if (k == nullptr) throw std::invalid_argument("builtin sgemm: ISA '" + isa + "' is not available on this CPU");
  runBuiltin(*k, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace bmae
