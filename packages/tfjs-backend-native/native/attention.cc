// Fused multi-head self-attention, forward and backward (Vaswani et al. 2017, softmax(q k^T * scale) v).
// The composite spends most of its time outside the products: a transpose of qkv to [N, 3H, T, dh],
// a split, the scale, the softmax, the transpose back, and in the backward pass the gradients of each
// of those (a concat, transposes, the softmax gradient's element-wise ops). Here q, k and v are read
// in place from the qkv Linear's output [N, T, 3D] (sgemm's leading dimensions do the head split),
// the output is written straight into [N, T, D] (heads as contiguous columns, what proj reads), and the
// scale and softmax happen on each head's [T, T] scores while they are in cache.
//
// Each (sample, head) pair is one job computed by one thread with single-threaded sgemm calls, so the
// result does not depend on the thread count, and jobs are spread over the pool. This file is built at
// the baseline ISA (not in kernels_isa.cc): its time is in sgemm and softmaxRow, which dispatch to the
// CPU's best code themselves; its own loops (the softmax gradient) are a small part.
#include <algorithm>
#include <vector>

#include "gemm.h"
#include "kernels.h"
#include "thread_pool.h"

namespace bmae {

namespace {

/** The head-local views of one (sample, head) job: row strides are those of the packed tensors. */
struct HeadView {
  const float* q;  // [T, dh], row stride 3D
  const float* k;
  const float* v;
  int64_t qkvStride;  // 3D
  int64_t outStride;  // D
};

HeadView headView(const float* qkv, int64_t job, const AttentionShape& s) {
  const int64_t n = job / s.heads, h = job % s.heads;
  const int64_t width = s.heads * s.headDim;
  const float* base = qkv + n * s.tokens * 3 * width + h * s.headDim;
  return {base, base + width, base + 2 * width, 3 * width, width};
}

/** Offset of job's [T, dh] block in a [N, T, D] tensor (heads as contiguous columns). */
int64_t mergedOffset(int64_t job, const AttentionShape& s) {
  const int64_t n = job / s.heads, h = job % s.heads;
  return n * s.tokens * s.heads * s.headDim + h * s.headDim;
}

/**
 * Runs fn(job) for every (sample, head) over the pool. sgemm runs single-threaded inside a pool job
 * (gemm.h), so the heads, not the products, are what the threads share.
 */
template <typename Fn>
void forEachHead(const AttentionShape& s, Fn fn) {
  parallelFor(s.batch * s.heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch;  // per chunk, reused by its jobs
    for (int64_t job = begin; job < end; ++job) fn(job, scratch);
  });
}

}  // namespace

void attentionForward(const float* qkv, const AttentionShape& s, float scale, float* out, float* probs) {
  const int64_t T = s.tokens, dh = s.headDim;
  if (s.batch == 0 || T == 0) return;
  forEachHead(s, [&](int64_t job, std::vector<float>&) {
    const HeadView hv = headView(qkv, job, s);
    float* p = probs + job * T * T;
    sgemm(false, true, T, T, dh, scale, hv.q, hv.qkvStride, hv.k, hv.qkvStride, 0.0f, p, T);
    for (int64_t r = 0; r < T; ++r) softmaxRow(p + r * T, T, p + r * T);
    sgemm(false, false, T, dh, T, 1.0f, p, T, hv.v, hv.qkvStride, 0.0f, out + mergedOffset(job, s), hv.outStride);
  });
}

void attentionBackward(const float* dy, const float* qkv, const float* probs, const AttentionShape& s, float scale,
                       float* dqkv) {
  const int64_t T = s.tokens, dh = s.headDim;
  if (s.batch == 0 || T == 0) return;
  forEachHead(s, [&](int64_t job, std::vector<float>& scratch) {
    const HeadView hv = headView(qkv, job, s);
    const float* p = probs + job * T * T;
    const float* g = dy + mergedOffset(job, s);  // [T, dh], row stride D
    // The gradient blocks sit where q, k, v sit in qkv.
    float* dq = dqkv + (hv.q - qkv);
    float* dk = dqkv + (hv.k - qkv);
    float* dv = dqkv + (hv.v - qkv);
    scratch.resize(static_cast<size_t>(T * T));
    float* ds = scratch.data();
    // dv = p^T g; dp = g v^T.
    sgemm(true, false, T, dh, T, 1.0f, p, T, g, hv.outStride, 0.0f, dv, hv.qkvStride);
    sgemm(false, true, T, T, dh, 1.0f, g, hv.outStride, hv.v, hv.qkvStride, 0.0f, ds, T);
    // Softmax gradient, row by row, with the scale folded in: ds = scale * p (dp - sum_j p dp).
    for (int64_t r = 0; r < T; ++r) {
      const float* pr = p + r * T;
      float* dr = ds + r * T;
      double dot = 0;
      for (int64_t j = 0; j < T; ++j) dot += static_cast<double>(pr[j]) * dr[j];
      const float d = static_cast<float>(dot);
      for (int64_t j = 0; j < T; ++j) dr[j] = scale * pr[j] * (dr[j] - d);
    }
    // dq = ds k; dk = ds^T q.
    sgemm(false, false, T, dh, T, 1.0f, ds, T, hv.k, hv.qkvStride, 0.0f, dq, hv.qkvStride);
    sgemm(true, false, T, dh, T, 1.0f, ds, T, hv.q, hv.qkvStride, 0.0f, dk, hv.qkvStride);
  });
}

}  // namespace bmae
