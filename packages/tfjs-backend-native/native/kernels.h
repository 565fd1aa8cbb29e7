// The native kernels. All work on contiguous row-major float32 buffers owned by JavaScript
// (the cpu backend's Float32Arrays): nothing here allocates tensors or keeps pointers.
#pragma once

#include <cstdint>
#include <vector>

namespace bmae {

using Shape = std::vector<int64_t>;

/** Elements per chunk below which splitting an element-wise pass costs more (a hand-off) than it saves. */
constexpr int64_t kElementGrain = 1 << 15;

// The kernels below (elementwise.cc, reduce.cc, copy.cc, fused.cc) are compiled once per ISA level by
// kernels_isa.cc, each copy in namespace bmae::<level>; these public names dispatch to the best copy
// the CPU runs (the build itself targets the baseline ISA, so the addon loads on any CPU of its arch).
/** The ISA level the element-wise kernels run at: "avx512" (x86-64-v4), "avx2" (v3) or "baseline". */
const char* kernelIsa();
/** The levels this CPU can run, best first; env BMAE_KERNEL_ISA picks a lesser one (tests, benchmarks). */
std::vector<const char*> kernelIsas();

enum class UnaryOp { Exp, Tanh, Erf, Sqrt, Rsqrt, Square, Neg, Reciprocal, Log, Relu, Sigmoid, Abs };
enum class BinaryOp { Add, Sub, Mul, Div, SquaredDifference, Maximum, Minimum };
enum class ReduceOp { Sum, Mean, Max, Min };

void unary(UnaryOp op, const float* x, float* out, int64_t n);

/** out[outShape] = a[aShape] op b[bShape] with numpy broadcasting; shapes are right-aligned. */
void binary(BinaryOp op, const float* a, const Shape& aShape, const float* b, const Shape& bShape, float* out,
            const Shape& outShape);

/** out[o, i] = reduce over r of x[o, r, i], for x viewed as [outer, reduced, inner]. */
void reduce(ReduceOp op, const float* x, int64_t outer, int64_t reduced, int64_t inner, float* out);

/** Row-wise softmax of x viewed as [rows, cols]. */
void softmax(const float* x, int64_t rows, int64_t cols, float* out);

/** Softmax of one row of cols values (out may be x), on the calling thread. */
void softmaxRow(const float* x, int64_t cols, float* out);

/**
 * General strided copy: dst[dstOffset + sum(i_k * dstStrides[k])] = src[srcOffset + sum(i_k * srcStrides[k])]
 * for every index i over `shape`. Transpose, slice, pad and concat are all instances of it.
 */
void stridedCopy(const float* src, int64_t srcOffset, const Shape& srcStrides, float* dst, int64_t dstOffset,
                 const Shape& dstStrides, const Shape& shape);

/**
 * C[batch] = op(A[aIndex[batch]]) x op(B[bIndex[batch]]) (+ bias row), row-major, via OpenBLAS sgemm.
 * A matrices are [M, K] ([K, M] when transA), B are [K, N] ([N, K] when transB), C is [batch, M, N].
 * bias, when not null, has N values added to every output row.
 */
void batchMatMul(const float* a, const float* b, float* c, int64_t batch, const int32_t* aIndex,
                 const int32_t* bIndex, int64_t M, int64_t N, int64_t K, bool transA, bool transB,
                 const float* bias);

/**
 * LayerNorm over rows of width values (biased variance): y = xhat * weight + bias with
 * xhat = (x - mean) * rstd, rstd = 1 / sqrt(var + eps). Writes y, xhat [rows, width] and rstd [rows].
 */
void layerNormForward(const float* x, const float* weight, const float* bias, int64_t rows, int64_t width,
                      float eps, float* y, float* xhat, float* rstd);

/**
 * Its gradients from the saved xhat, rstd: g = dy * weight, dx = rstd (g - mean(g) - xhat mean(g xhat)),
 * dweight = sum over rows of dy xhat, dbias = sum over rows of dy.
 */
void layerNormBackward(const float* dy, const float* xhat, const float* rstd, const float* weight, int64_t rows,
                       int64_t width, float* dx, float* dweight, float* dbias);

/** Exact (erf) GELU, y = x Phi(x), and its gradient dx = dy (Phi(x) + x phi(x)). */
void gelu(const float* x, float* y, int64_t n);
void geluGrad(const float* x, const float* dy, float* dx, int64_t n);

/** Multi-head self-attention sizes: qkv is [batch, tokens, 3 * heads * headDim], columns [q | k | v]. */
struct AttentionShape {
  int64_t batch, tokens, heads, headDim;
};

/**
 * Per (sample, head): probs = softmax(scale * q k^T) [T, T], out = probs v. Writes out [N, T, H * dh]
 * (heads as contiguous columns) and probs [N, H, T, T] (kept for the backward pass).
 */
void attentionForward(const float* qkv, const AttentionShape& s, float scale, float* out, float* probs);

/**
 * Its gradient from the saved probs: dv = probs^T dy, ds = scale * probs (dp - rowsum(probs dp)) with
 * dp = dy v^T, dq = ds k, dk = ds^T q, written into dqkv [N, T, 3D] where q, k, v sit in qkv.
 */
void attentionBackward(const float* dy, const float* qkv, const float* probs, const AttentionShape& s, float scale,
                       float* dqkv);

/** AdamW (Loshchilov & Hutter 2019, PyTorch's torch.optim.AdamW order of operations), elementwise. */
// Doubles: 1 - beta2 in float32 would be off by ~5e-5 relative (0.999f is not 0.999).
struct AdamWParams {
  double lr, beta1, beta2, eps, weightDecay, biasCorrection1, biasCorrection2;
};
void adamW(const float* param, const float* m, const float* v, const float* grad, float* paramOut, float* mOut,
           float* vOut, int64_t n, const AdamWParams& p);

}  // namespace bmae
