// Fused LayerNorm and GELU, forward and backward. Autodiff spreads each over 6-12 element-wise and
// reduction ops (each a pass over a [tokens, width] tensor, an output allocation and a kernel
// dispatch); here every row is one pass in cache, and the weight/bias gradients are reduced over
// rows in per-chunk partial sums (chunks fixed by the shape) instead of a transposed Sum.
#include <algorithm>
#include <cmath>
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
// Rows per chunk below which a job is not worth waking a worker (a ViT row is 64-768 floats).
constexpr int64_t kRowGrain = 64;
}  // namespace

void layerNormForward(const float* x, const float* weight, const float* bias, int64_t rows, int64_t width,
                      float eps, float* y, float* xhat, float* rstd) {
  parallelFor(rows, kRowGrain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * width;
      // Two passes in double over a row in cache: mean, then the centred variance (no cancellation).
      double sum = 0;
      for (int64_t i = 0; i < width; ++i) sum += xr[i];
      const double mean = sum / static_cast<double>(width);
      double sq = 0;
      for (int64_t i = 0; i < width; ++i) {
        const double d = xr[i] - mean;
        sq += d * d;
      }
      const float rs = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(width) + eps));
      const float m = static_cast<float>(mean);
      float* yr = y + r * width;
      float* hr = xhat + r * width;
      for (int64_t i = 0; i < width; ++i) {
        const float h = (xr[i] - m) * rs;
        hr[i] = h;
        yr[i] = h * weight[i] + bias[i];
      }
      rstd[r] = rs;
    }
  });
}

void layerNormBackward(const float* dy, const float* xhat, const float* rstd, const float* weight, int64_t rows,
                       int64_t width, float* dx, float* dweight, float* dbias) {
  // One row range per chunk, each with its own dweight/dbias partials, summed at the end in chunk
  // order. The chunk count comes from the shape (at most kMaxParts, at least kRowGrain rows each),
  // never from the thread count, so the partials, and the sums, are the same at every thread count.
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(kMaxParts, rows / kRowGrain));
  std::vector<float> partial(static_cast<size_t>(chunks * 2 * width), 0.0f);
  pool().run(chunks, [&](int64_t c) {
    float* dw = partial.data() + c * 2 * width;
    float* db = dw + width;
    const int64_t begin = rows * c / chunks, end = rows * (c + 1) / chunks;
    for (int64_t r = begin; r < end; ++r) {
      const float* g = dy + r * width;
      const float* h = xhat + r * width;
      float* dxr = dx + r * width;
      float sumG = 0, sumGh = 0;
      for (int64_t i = 0; i < width; ++i) {
        const float gw = g[i] * weight[i];
        sumG += gw;
        sumGh += gw * h[i];
        dw[i] += g[i] * h[i];
        db[i] += g[i];
      }
      const float meanG = sumG / static_cast<float>(width);
      const float meanGh = sumGh / static_cast<float>(width);
      const float rs = rstd[r];
      for (int64_t i = 0; i < width; ++i) dxr[i] = (g[i] * weight[i] - meanG - h[i] * meanGh) * rs;
    }
  });
  for (int64_t i = 0; i < width; ++i) {
    float w = 0, b = 0;
    for (int64_t c = 0; c < chunks; ++c) {
      w += partial[c * 2 * width + i];
      b += partial[c * 2 * width + width + i];
    }
    dweight[i] = w;
    dbias[i] = b;
  }
}

// GELU(x) = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2; d/dx = Phi(x) + x phi(x).
void gelu(const float* x, float* y, int64_t n) {
  parallelFor(n, kElementGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = 0.5f * x[i] * (1.0f + erfApprox(x[i] * 0.70710678118654752f));
  });
}

void geluGrad(const float* x, const float* dy, float* dx, int64_t n) {
  parallelFor(n, kElementGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float v = x[i];
      const float cdf = 0.5f * (1.0f + erfApprox(v * 0.70710678118654752f));
      const float pdf = 0.39894228040143268f * expApprox(-0.5f * v * v);
      dx[i] = dy[i] * (cdf + v * pdf);
    }
  });
}

}  // namespace BMAE_ISA_LEVEL
}  // namespace bmae
