// Branch-free float32 exp / erf / tanh that GCC auto-vectorises (glibc's expf/erff are scalar calls
// unless -ffast-math, which we avoid because it breaks NaN/Inf semantics).
//   exp: Cody-Waite range reduction x = n ln2 + r, |r| <= ln2/2, degree-6 Taylor polynomial for e^r
//        (truncation error < 2e-7 relative), 2^n built in the exponent bits.
//   erf: Abramowitz & Stegun, Handbook of Mathematical Functions (1964), formula 7.1.26
//        (|error| <= 1.5e-7), the same approximation tfjs-backend-cpu's Erf kernel uses.
//   tanh: 1 - 2 / (exp(2|x|) + 1) with the sign restored (absolute error ~1e-7).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace bmae {

inline float expApprox(float x) {
  const float hi = 88.3762626647949f;    // exp(hi) ~ FLT_MAX
  const float lo = -87.3365447504019f;   // below: the result is denormal or 0
  const float xc = x > hi ? hi : (x < lo ? lo : x);
  const float n = std::nearbyint(xc * 1.44269504088896341f);
  const float r = (xc - n * 0.693359375f) + n * 2.12194440e-4f;  // ln2 split in two (hi + lo)
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  float y = p * scale;
  y = x > hi ? INFINITY : y;
  y = x < lo ? 0.0f : y;
  return x != x ? x : y;  // NaN in, NaN out
}

inline float erfApprox(float x) {
  const float ax = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * ax);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const float y = 1.0f - p * t * expApprox(-ax * ax);
  return std::copysign(y, x);
}

inline float tanhApprox(float x) {
  const float ax = std::fabs(x);
  // For tiny |x|, tanh(x) = x to float precision and the formula below would cancel.
  const float y = ax < 4e-4f ? ax : 1.0f - 2.0f / (expApprox(2.0f * ax) + 1.0f);
  return x != x ? x : std::copysign(y, x);
}

}  // namespace bmae
