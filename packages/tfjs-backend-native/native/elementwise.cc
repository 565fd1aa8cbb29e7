// Element-wise kernels: unary maps and broadcasting binary ops, split over the thread pool.
#include <algorithm>
#include <cmath>

#include "kernels.h"
#include "thread_pool.h"
#include "vmath.h"

#ifndef BMAE_ISA_LEVEL
#error "compiled once per ISA level through kernels_isa.cc, not on its own"
#endif

namespace bmae {
namespace BMAE_ISA_LEVEL {

namespace {

template <typename F>
void mapRange(const float* x, float* out, int64_t begin, int64_t end, F f) {
  for (int64_t i = begin; i < end; ++i) out[i] = f(x[i]);
}

template <typename F>
void mapAll(const float* x, float* out, int64_t n, F f) {
  parallelFor(n, kElementGrain, [&](int64_t begin, int64_t end) { mapRange(x, out, begin, end, f); });
}

}  // namespace

void unary(UnaryOp op, const float* x, float* out, int64_t n) {
  switch (op) {
    case UnaryOp::Exp: return mapAll(x, out, n, [](float v) { return expApprox(v); });
    case UnaryOp::Tanh: return mapAll(x, out, n, [](float v) { return tanhApprox(v); });
    case UnaryOp::Erf: return mapAll(x, out, n, [](float v) { return erfApprox(v); });
    case UnaryOp::Sqrt: return mapAll(x, out, n, [](float v) { return std::sqrt(v); });
    case UnaryOp::Rsqrt: return mapAll(x, out, n, [](float v) { return 1.0f / std::sqrt(v); });
    case UnaryOp::Square: return mapAll(x, out, n, [](float v) { return v * v; });
    case UnaryOp::Neg: return mapAll(x, out, n, [](float v) { return -v; });
    case UnaryOp::Reciprocal: return mapAll(x, out, n, [](float v) { return 1.0f / v; });
    case UnaryOp::Log: return mapAll(x, out, n, [](float v) { return std::log(v); });
    // Written so that NaN stays NaN, as in tfjs's cpu kernel.
    case UnaryOp::Relu: return mapAll(x, out, n, [](float v) { return v < 0.0f ? 0.0f : v; });
    case UnaryOp::Sigmoid: return mapAll(x, out, n, [](float v) { return 1.0f / (1.0f + expApprox(-v)); });
    case UnaryOp::Abs: return mapAll(x, out, n, [](float v) { return std::fabs(v); });
  }
}

namespace {

template <BinaryOp Op>
inline float apply(float a, float b) {
  switch (Op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
    case BinaryOp::SquaredDifference: { const float d = a - b; return d * d; }
    // NaN propagates like tfjs (its cpu kernels return NaN when either side is NaN).
    case BinaryOp::Maximum: return (a != a || b != b) ? NAN : (a > b ? a : b);
    case BinaryOp::Minimum: return (a != a || b != b) ? NAN : (a < b ? a : b);
  }
  return 0.0f;
}

// One output row of `len` values with input strides 1 or 0 (broadcast) along the row.
template <BinaryOp Op>
inline void row(const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t len) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < len; ++i) out[i] = apply<Op>(a[i], b[i]);
  } else if (sa == 1) {
    const float bv = b[0];
    for (int64_t i = 0; i < len; ++i) out[i] = apply<Op>(a[i], bv);
  } else if (sb == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < len; ++i) out[i] = apply<Op>(av, b[i]);
  } else {
    const float v = apply<Op>(a[0], b[0]);
    for (int64_t i = 0; i < len; ++i) out[i] = v;
  }
}

struct BroadcastPlan {
  Shape shape;     // collapsed output shape, innermost last
  Shape aStrides;  // element strides of a per output dim (0 = broadcast)
  Shape bStrides;
};

// Right-aligns both input shapes to the output, then merges adjacent dims whose broadcast pattern
// (for a and for b) is the same, so e.g. [64, 65, 128] + [128] becomes [4160, 128] + [1, 128].
BroadcastPlan plan(const Shape& aShape, const Shape& bShape, const Shape& outShape) {
  const size_t rank = outShape.size();
  Shape aFull(rank, 1), bFull(rank, 1);
  for (size_t i = 0; i < aShape.size(); ++i) aFull[rank - aShape.size() + i] = aShape[i];
  for (size_t i = 0; i < bShape.size(); ++i) bFull[rank - bShape.size() + i] = bShape[i];
  Shape dims, aBc, bBc;  // aBc: 1 when a varies along the dim
  for (size_t i = 0; i < rank; ++i) {
    if (outShape[i] == 1) continue;  // size-1 dims carry no index
    const int64_t av = aFull[i] == 1 ? 0 : 1, bv = bFull[i] == 1 ? 0 : 1;
    if (!dims.empty() && aBc.back() == av && bBc.back() == bv) {
      dims.back() *= outShape[i];
    } else {
      dims.push_back(outShape[i]);
      aBc.push_back(av);
      bBc.push_back(bv);
    }
  }
  if (dims.empty()) {
    dims.push_back(1);
    aBc.push_back(0);
    bBc.push_back(0);
  }
  BroadcastPlan p{dims, Shape(dims.size()), Shape(dims.size())};
  int64_t as = 1, bs = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    p.aStrides[i] = aBc[i] ? as : 0;
    p.bStrides[i] = bBc[i] ? bs : 0;
    if (aBc[i]) as *= dims[i];
    if (bBc[i]) bs *= dims[i];
  }
  return p;
}

template <BinaryOp Op>
void binaryImpl(const float* a, const float* b, float* out, const BroadcastPlan& p) {
  const size_t rank = p.shape.size();
  const int64_t len = p.shape[rank - 1];
  const int64_t sa = p.aStrides[rank - 1], sb = p.bStrides[rank - 1];
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < rank; ++i) rows *= p.shape[i];
  // Split the flat output, not the rows: same-shape and scalar operands collapse to a single row
  // (e.g. Adam's [192, 768] * scalar), which split by rows would run on one thread.
  parallelFor(rows * len, kElementGrain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin / len; r * len < end; ++r) {
      const int64_t i0 = std::max(begin, r * len) - r * len, i1 = std::min(end, (r + 1) * len) - r * len;
      // Offsets of row r in a and b from its multi-index over the outer dims.
      int64_t rem = r, ao = 0, bo = 0;
      for (size_t d = rank - 1; d-- > 0;) {
        const int64_t idx = rem % p.shape[d];
        rem /= p.shape[d];
        ao += idx * p.aStrides[d];
        bo += idx * p.bStrides[d];
      }
      row<Op>(a + ao + i0 * sa, sa, b + bo + i0 * sb, sb, out + r * len + i0, i1 - i0);
    }
  });
}

}  // namespace

void binary(BinaryOp op, const float* a, const Shape& aShape, const float* b, const Shape& bShape, float* out,
            const Shape& outShape) {
  int64_t n = 1;
  for (int64_t d : outShape) n *= d;
  if (n == 0) return;
  const BroadcastPlan p = plan(aShape, bShape, outShape);
  switch (op) {
    case BinaryOp::Add: return binaryImpl<BinaryOp::Add>(a, b, out, p);
    case BinaryOp::Sub: return binaryImpl<BinaryOp::Sub>(a, b, out, p);
    case BinaryOp::Mul: return binaryImpl<BinaryOp::Mul>(a, b, out, p);
    case BinaryOp::Div: return binaryImpl<BinaryOp::Div>(a, b, out, p);
    case BinaryOp::SquaredDifference: return binaryImpl<BinaryOp::SquaredDifference>(a, b, out, p);
    case BinaryOp::Maximum: return binaryImpl<BinaryOp::Maximum>(a, b, out, p);
    case BinaryOp::Minimum: return binaryImpl<BinaryOp::Minimum>(a, b, out, p);
  }
}

void adamW(const float* param, const float* m, const float* v, const float* grad, float* paramOut, float* mOut,
           float* vOut, int64_t n, const AdamWParams& p) {
  const float decay = static_cast<float>(1.0 - p.lr * p.weightDecay);
  const float stepSize = static_cast<float>(p.lr / p.biasCorrection1);
  const float invSqrtBc2 = static_cast<float>(1.0 / std::sqrt(p.biasCorrection2));
  const float b1 = static_cast<float>(p.beta1), oneMinusB1 = static_cast<float>(1.0 - p.beta1);
  const float b2 = static_cast<float>(p.beta2), oneMinusB2 = static_cast<float>(1.0 - p.beta2);
  const float eps = static_cast<float>(p.eps);
  parallelFor(n, kElementGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float g = grad[i];
      const float mi = b1 * m[i] + oneMinusB1 * g;
      const float vi = b2 * v[i] + oneMinusB2 * g * g;
      const float denom = std::sqrt(vi) * invSqrtBc2 + eps;
      paramOut[i] = param[i] * decay - stepSize * mi / denom;
      mOut[i] = mi;
      vOut[i] = vi;
    }
  });
}

}  // namespace BMAE_ISA_LEVEL
}  // namespace bmae
