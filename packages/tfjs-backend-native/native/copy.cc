// Strided copy, the one primitive behind Transpose, Slice, Pad and Concat.
#include <algorithm>
#include <cstring>

#include "kernels.h"
#include "thread_pool.h"

#ifndef BMAE_ISA_LEVEL
#error "compiled once per ISA level through kernels_isa.cc, not on its own"
#endif

namespace bmae {
namespace BMAE_ISA_LEVEL {

void stridedCopy(const float* src, int64_t srcOffset, const Shape& srcStrides, float* dst, int64_t dstOffset,
                 const Shape& dstStrides, const Shape& shapeIn) {
  // Drop size-1 dims and merge dims that are contiguous in both source and destination.
  Shape shape, ss, ds;
  for (size_t i = 0; i < shapeIn.size(); ++i) {
    if (shapeIn[i] == 0) return;
    if (shapeIn[i] == 1) continue;
    if (!shape.empty() && ss.back() == srcStrides[i] * shapeIn[i] && ds.back() == dstStrides[i] * shapeIn[i]) {
      shape.back() *= shapeIn[i];
      ss.back() = srcStrides[i];
      ds.back() = dstStrides[i];
    } else {
      shape.push_back(shapeIn[i]);
      ss.push_back(srcStrides[i]);
      ds.push_back(dstStrides[i]);
    }
  }
  const float* s0 = src + srcOffset;
  float* d0 = dst + dstOffset;
  if (shape.empty()) {
    *d0 = *s0;
    return;
  }
  const size_t rank = shape.size();
  const int64_t len = shape[rank - 1];
  const int64_t sIn = ss[rank - 1], dIn = ds[rank - 1];
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < rank; ++i) rows *= shape[i];
  // Rows (all but the innermost merged dim) are independent: split them over the pool.
  parallelFor(rows, std::max<int64_t>(1, kElementGrain / len), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t rem = r, so = 0, doff = 0;
      for (size_t d = rank - 1; d-- > 0;) {
        const int64_t idx = rem % shape[d];
        rem /= shape[d];
        so += idx * ss[d];
        doff += idx * ds[d];
      }
      const float* s = s0 + so;
      float* t = d0 + doff;
      if (sIn == 1 && dIn == 1) {
        std::memcpy(t, s, sizeof(float) * len);
      } else {
        for (int64_t i = 0; i < len; ++i) t[i * dIn] = s[i * sIn];
      }
    }
  });
}

}  // namespace BMAE_ISA_LEVEL
}  // namespace bmae
