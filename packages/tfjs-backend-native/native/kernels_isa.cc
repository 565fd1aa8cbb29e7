// The element-wise, reduction, layout and fused kernels (elementwise.cc, reduce.cc, copy.cc, fused.cc)
// compiled once per ISA level, and the public kernels.h names dispatching to the best level the CPU
// runs. The build targets the baseline ISA (an addon built on one machine must not SIGILL on another,
// nor a prebuilt cache be wrong), so the copies get their ISA from `#pragma GCC target`, as the GEMM
// micro-kernels get theirs from target attributes; the CPU is checked once, at load.
//
// The standard and project headers are included first, at the baseline ISA: their inline functions
// are shared by all copies, and a copy built for AVX-512 must not be what the linker keeps for the
// baseline. Functions of our own headers (vmath.h) still inline into each copy at its ISA.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "kernels.h"
#include "thread_pool.h"
#include "vmath.h"

#define BMAE_ISA_LEVEL baseline
#include "copy.cc"
#include "elementwise.cc"
#include "fused.cc"
#include "reduce.cc"
#undef BMAE_ISA_LEVEL

#if defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
#define BMAE_ISA_LEVEL avx2
#include "copy.cc"
#include "elementwise.cc"
#include "fused.cc"
#include "reduce.cc"
#undef BMAE_ISA_LEVEL
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
#define BMAE_ISA_LEVEL avx512
#include "copy.cc"
#include "elementwise.cc"
#include "fused.cc"
#include "reduce.cc"
#undef BMAE_ISA_LEVEL
#pragma GCC pop_options
#endif

namespace bmae {

namespace {

struct Level {
  const char* name;
  decltype(&baseline::unary) unary;
  decltype(&baseline::binary) binary;
  decltype(&baseline::reduce) reduce;
  decltype(&baseline::softmax) softmax;
  decltype(&baseline::softmaxRow) softmaxRow;
  decltype(&baseline::stridedCopy) stridedCopy;
  decltype(&baseline::layerNormForward) layerNormForward;
  decltype(&baseline::layerNormBackward) layerNormBackward;
  decltype(&baseline::gelu) gelu;
  decltype(&baseline::geluGrad) geluGrad;
  decltype(&baseline::adamW) adamW;
};

#define BMAE_LEVEL(ns)                                                                                       \
  Level {                                                                                                    \
    #ns, ns::unary, ns::binary, ns::reduce, ns::softmax, ns::softmaxRow, ns::stridedCopy, ns::layerNormForward,             \
        ns::layerNormBackward, ns::gelu, ns::geluGrad, ns::adamW                                             \
  }

// Best first.
std::vector<Level> availableLevels() {
  std::vector<Level> levels;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v4")) levels.push_back(BMAE_LEVEL(avx512));
  if (__builtin_cpu_supports("x86-64-v3")) levels.push_back(BMAE_LEVEL(avx2));
#endif
  levels.push_back(BMAE_LEVEL(baseline));
  return levels;
}

const std::vector<Level>& levels() {
  static const std::vector<Level> list = availableLevels();
  return list;
}

// BMAE_KERNEL_ISA=avx2|baseline picks a lesser level (ignored when the CPU cannot run it).
const Level& level() {
  static const Level* chosen = [] {
    const char* env = std::getenv("BMAE_KERNEL_ISA");
    for (const Level& l : levels())
      if (env != nullptr && std::string(env) == l.name) return &l;
    return &levels().front();
  }();
  return *chosen;
}

}  // namespace

const char* kernelIsa() { return level().name; }

std::vector<const char*> kernelIsas() {
  std::vector<const char*> names;
  for (const Level& l : levels()) names.push_back(l.name);
  return names;
}

void unary(UnaryOp op, const float* x, float* out, int64_t n) { level().unary(op, x, out, n); }

void binary(BinaryOp op, const float* a, const Shape& aShape, const float* b, const Shape& bShape, float* out,
            const Shape& outShape) {
  level().binary(op, a, aShape, b, bShape, out, outShape);
}

void reduce(ReduceOp op, const float* x, int64_t outer, int64_t reduced, int64_t inner, float* out) {
  level().reduce(op, x, outer, reduced, inner, out);
}

void softmax(const float* x, int64_t rows, int64_t cols, float* out) { level().softmax(x, rows, cols, out); }

void softmaxRow(const float* x, int64_t cols, float* out) { level().softmaxRow(x, cols, out); }

void stridedCopy(const float* src, int64_t srcOffset, const Shape& srcStrides, float* dst, int64_t dstOffset,
                 const Shape& dstStrides, const Shape& shape) {
  level().stridedCopy(src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape);
}

void layerNormForward(const float* x, const float* weight, const float* bias, int64_t rows, int64_t width,
                      float eps, float* y, float* xhat, float* rstd) {
  level().layerNormForward(x, weight, bias, rows, width, eps, y, xhat, rstd);
}

void layerNormBackward(const float* dy, const float* xhat, const float* rstd, const float* weight, int64_t rows,
                       int64_t width, float* dx, float* dweight, float* dbias) {
  level().layerNormBackward(dy, xhat, rstd, weight, rows, width, dx, dweight, dbias);
}

void gelu(const float* x, float* y, int64_t n) { level().gelu(x, y, n); }

void geluGrad(const float* x, const float* dy, float* dx, int64_t n) { level().geluGrad(x, dy, dx, n); }

void adamW(const float* param, const float* m, const float* v, const float* grad, float* paramOut, float* mOut,
           float* vOut, int64_t n, const AdamWParams& p) {
  level().adamW(param, m, v, grad, paramOut, mOut, vOut, n, p);
}

}  // namespace bmae
