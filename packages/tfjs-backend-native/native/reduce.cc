// Reductions over the middle axis of x viewed as [outer, reduced, inner], and row softmax.
// Sums accumulate in double (tfjs's cpu kernels sum in JS numbers, i.e. doubles): the buffers are
// memory-bound, so the wider accumulator costs nothing measurable and keeps long sums exact enough.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels.h"
#include "thread_pool.h"
#include "vmath.h"

#ifndef BMAE_ISA_LEVEL
#error "compiled once per ISA level through kernels_isa.cc, not on its own"
#endif

namespace bmae {
namespace BMAE_ISA_LEVEL {

namespace {

// Sum of n contiguous floats with 8 independent lanes (vectorisable without reassociation flags).
double sumContiguous(const float* x, int64_t n) {
  double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) lanes[l] += x[i + l];
  double s = 0;
  for (; i < n; ++i) s += x[i];
  for (int l = 0; l < 8; ++l) s += lanes[l];
  return s;
}

template <bool IsMax>
float extremeContiguous(const float* x, int64_t n) {
  float best = x[0];
  for (int64_t i = 1; i < n; ++i) {
    const float v = x[i];
    if (v != v) return v;  // NaN wins, as in tfjs
    best = IsMax ? (v > best ? v : best) : (v < best ? v : best);
  }
  return best;
}

// Reduces rows [rBegin, rEnd) of one outer slice (row stride `inner`), columns [0, width) from x,
// into acc[width] (sum) or best[width] (max/min).
void accumulateSum(const float* x, int64_t rBegin, int64_t rEnd, int64_t inner, int64_t width, double* acc) {
  for (int64_t r = rBegin; r < rEnd; ++r) {
    const float* xr = x + r * inner;
    for (int64_t i = 0; i < width; ++i) acc[i] += xr[i];
  }
}

template <bool IsMax>
void accumulateExtreme(const float* x, int64_t rBegin, int64_t rEnd, int64_t inner, int64_t width, float* best) {
  for (int64_t r = rBegin; r < rEnd; ++r) {
    const float* xr = x + r * inner;
    for (int64_t i = 0; i < width; ++i) {
      const float v = xr[i], b = best[i];
      best[i] = (v != v || b != b) ? NAN : (IsMax ? (v > b ? v : b) : (v < b ? v : b));
    }
  }
}

// Columns per block below which the inner axis is not cut further (a block's row segments are read
// contiguously; shorter ones waste the cache lines and prefetch they touch).
constexpr int64_t kMinColumns = 512;

// Rows per partial sum below which the reduced axis is not cut further: the partials (parts x width
// doubles) stay a small fraction of what they sum, so combining them is no extra pass over memory.
constexpr int64_t kMinPartRows = 16;

}  // namespace

void reduce(ReduceOp op, const float* x, int64_t outer, int64_t reduced, int64_t inner, float* out) {
  const int64_t outSize = outer * inner;
  if (outSize == 0) return;
  const bool isSum = op == ReduceOp::Sum || op == ReduceOp::Mean;
  const double scale = op == ReduceOp::Mean ? 1.0 / static_cast<double>(reduced) : 1.0;
  if (reduced == 0) {
    // tfjs: sum of nothing is 0, mean is NaN (0/0), max/min of nothing is -Inf/+Inf.
    const float v = op == ReduceOp::Sum ? 0.0f
                    : op == ReduceOp::Mean ? NAN
                    : op == ReduceOp::Max ? -std::numeric_limits<float>::infinity()
                                          : std::numeric_limits<float>::infinity();
    std::fill(out, out + outSize, v);
    return;
  }
  if (inner == 1) {
    // Innermost reduction: one contiguous row per output.
    parallelFor(outer, std::max<int64_t>(1, kElementGrain / reduced), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        const float* xo = x + o * reduced;
        if (isSum) out[o] = static_cast<float>(sumContiguous(xo, reduced) * scale);
        else if (op == ReduceOp::Max) out[o] = extremeContiguous<true>(xo, reduced);
        else out[o] = extremeContiguous<false>(xo, reduced);
      }
    });
    return;
  }
  // The partition is decided by the shape only, never by the thread count (thread_pool.h, kMaxParts):
  // the per-slice path and a reduced-axis split round differently, so the choice between them, and
  // how many partial sums a split makes, must be the same at every thread count.
  const int64_t total = outer * reduced * inner;
  if (outer >= kMaxParts || total < 2 * kElementGrain) {
    // Enough independent slices (or too little work to split): one thread per block of outer slices.
    // Each output is summed in row order whichever block its slice is in.
    parallelFor(outer, std::max<int64_t>(1, kElementGrain / (reduced * inner)), [&](int64_t begin, int64_t end) {
      std::vector<double> acc(isSum ? inner : 0);
      for (int64_t o = begin; o < end; ++o) {
        const float* xo = x + o * reduced * inner;
        float* oo = out + o * inner;
        if (isSum) {
          std::fill(acc.begin(), acc.end(), 0.0);
          accumulateSum(xo, 0, reduced, inner, inner, acc.data());
          for (int64_t i = 0; i < inner; ++i) oo[i] = static_cast<float>(acc[i] * scale);
        } else {
          std::copy(xo, xo + inner, oo);
          if (op == ReduceOp::Max) accumulateExtreme<true>(xo, 1, reduced, inner, inner, oo);
          else accumulateExtreme<false>(xo, 1, reduced, inner, inner, oo);
        }
      }
    });
    return;
  }
  // Few outer slices (e.g. a bias gradient [1, 4160, 128] -> [128]): about kMaxParts jobs in all, first
  // by cutting each slice's columns into blocks (a column's sum is then computed exactly as on the
  // per-slice path), then, where columns are too few, its rows into parts with private partial
  // results, combined in part order.
  const int64_t blocks = std::max<int64_t>(1, std::min(kMaxParts / outer, inner / kMinColumns));
  const int64_t parts = std::max<int64_t>(1, std::min(kMaxParts / (outer * blocks), reduced / kMinPartRows));
  const int64_t jobsPerSlice = blocks * parts;
  std::vector<double> partialSum(isSum ? outer * parts * inner : 0, 0.0);
  std::vector<float> partialBest(isSum ? 0 : outer * parts * inner);
  pool().run(outer * jobsPerSlice, [&](int64_t job) {
    const int64_t o = job / jobsPerSlice, block = job % jobsPerSlice / parts, part = job % parts;
    const int64_t c0 = inner * block / blocks, width = inner * (block + 1) / blocks - c0;
    const int64_t rBegin = reduced * part / parts, rEnd = reduced * (part + 1) / parts;
    const float* xo = x + o * reduced * inner + c0;
    if (isSum) {
      accumulateSum(xo, rBegin, rEnd, inner, width, partialSum.data() + (o * parts + part) * inner + c0);
    } else {
      float* best = partialBest.data() + (o * parts + part) * inner + c0;
      std::copy(xo + rBegin * inner, xo + rBegin * inner + width, best);
      if (op == ReduceOp::Max) accumulateExtreme<true>(xo, rBegin + 1, rEnd, inner, width, best);
      else accumulateExtreme<false>(xo, rBegin + 1, rEnd, inner, width, best);
    }
  });
  for (int64_t o = 0; o < outer; ++o) {
    float* oo = out + o * inner;
    if (isSum) {
      const double* partial = partialSum.data() + o * parts * inner;
      for (int64_t i = 0; i < inner; ++i) {
        double s = 0;
        for (int64_t p = 0; p < parts; ++p) s += partial[p * inner + i];
        oo[i] = static_cast<float>(s * scale);
      }
    } else {
      const float* partial = partialBest.data() + o * parts * inner;
      std::copy(partial, partial + inner, oo);
      for (int64_t p = 1; p < parts; ++p) {
        if (op == ReduceOp::Max) accumulateExtreme<true>(partial + p * inner, 0, 1, inner, inner, oo);
        else accumulateExtreme<false>(partial + p * inner, 0, 1, inner, inner, oo);
      }
    }
  }
}

void softmaxRow(const float* x, int64_t cols, float* out) {
  if (cols == 0) return;
  float mx = x[0];
  for (int64_t i = 1; i < cols; ++i) mx = x[i] > mx ? x[i] : mx;
  for (int64_t i = 0; i < cols; ++i) out[i] = expApprox(x[i] - mx);
  const double s = sumContiguous(out, cols);
  const float inv = static_cast<float>(1.0 / s);
  for (int64_t i = 0; i < cols; ++i) out[i] *= inv;
}

void softmax(const float* x, int64_t rows, int64_t cols, float* out) {
  if (cols == 0) return;
  parallelFor(rows, std::max<int64_t>(1, kElementGrain / cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) softmaxRow(x + r * cols, cols, out + r * cols);
  });
}

}  // namespace BMAE_ISA_LEVEL
}  // namespace bmae
