// Node-API bindings. Every function takes the cpu backend's Float32Arrays as they are (no copies),
// checks that the sizes it is told agree with the buffers (a wrong size would be a memory error,
// so it is a thrown RangeError instead), and computes synchronously on the thread pool.
#include <malloc.h>
#include <napi.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "gemm.h"
#include "kernels.h"
#include "thread_pool.h"

namespace bmae {

// gemm_napi.cc: gemmInfo, builtinIsas, sgemm.
void registerGemm(Napi::Env env, Napi::Object exports);

namespace {

Napi::Float32Array floats(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Float32Array");
  return info[i].As<Napi::Float32Array>();
}

Napi::Int32Array ints(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an Int32Array");
  return info[i].As<Napi::Int32Array>();
}

int64_t integer(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  const int64_t v = info[i].As<Napi::Number>().Int64Value();
  if (v < 0) throw Napi::RangeError::New(info.Env(), std::string(name) + " must be >= 0");
  return v;
}

double number(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

Shape shapeArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an array");
  const auto arr = info[i].As<Napi::Array>();
  Shape s(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    const Napi::Value v = arr.Get(k);
    if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must hold numbers");
    s[k] = v.As<Napi::Number>().Int64Value();
  }
  return s;
}

int64_t sizeOf(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

void requireLength(const Napi::Env& env, const Napi::TypedArray& arr, int64_t need, const char* name) {
  if (static_cast<int64_t>(arr.ElementLength()) < need)
    throw Napi::RangeError::New(env, std::string(name) + " has " + std::to_string(arr.ElementLength()) +
                                         " elements, needs " + std::to_string(need));
}

// unary(op, x, out)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  const int64_t op = integer(info, 0, "op");
  if (op > static_cast<int64_t>(UnaryOp::Abs)) throw Napi::RangeError::New(info.Env(), "unknown unary op");
  auto x = floats(info, 1, "x");
  auto out = floats(info, 2, "out");
  requireLength(info.Env(), out, x.ElementLength(), "out");
  unary(static_cast<UnaryOp>(op), x.Data(), out.Data(), x.ElementLength());
  return info.Env().Undefined();
}

// binary(op, a, aShape, b, bShape, out, outShape)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  const int64_t op = integer(info, 0, "op");
  if (op > static_cast<int64_t>(BinaryOp::Minimum)) throw Napi::RangeError::New(info.Env(), "unknown binary op");
  auto a = floats(info, 1, "a");
  const Shape aShape = shapeArg(info, 2, "aShape");
  auto b = floats(info, 3, "b");
  const Shape bShape = shapeArg(info, 4, "bShape");
  auto out = floats(info, 5, "out");
  const Shape outShape = shapeArg(info, 6, "outShape");
  if (aShape.size() > outShape.size() || bShape.size() > outShape.size())
    throw Napi::RangeError::New(info.Env(), "input rank exceeds output rank");
  for (size_t k = 0; k < outShape.size(); ++k) {
    const size_t ka = k + aShape.size(), kb = k + bShape.size();
    const int64_t o = outShape[k];
    const int64_t ad = ka >= outShape.size() ? aShape[ka - outShape.size()] : 1;
    const int64_t bd = kb >= outShape.size() ? bShape[kb - outShape.size()] : 1;
    if ((ad != o && ad != 1) || (bd != o && bd != 1))
      throw Napi::RangeError::New(info.Env(), "shapes do not broadcast to the output shape");
  }
  requireLength(info.Env(), a, sizeOf(aShape), "a");
  requireLength(info.Env(), b, sizeOf(bShape), "b");
  requireLength(info.Env(), out, sizeOf(outShape), "out");
  binary(static_cast<BinaryOp>(op), a.Data(), aShape, b.Data(), bShape, out.Data(), outShape);
  return info.Env().Undefined();
}

// reduce(op, x, outer, reduced, inner, out)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  const int64_t op = integer(info, 0, "op");
  if (op > static_cast<int64_t>(ReduceOp::Min)) throw Napi::RangeError::New(info.Env(), "unknown reduce op");
  auto x = floats(info, 1, "x");
  const int64_t outer = integer(info, 2, "outer"), reduced = integer(info, 3, "reduced"),
                inner = integer(info, 4, "inner");
  auto out = floats(info, 5, "out");
  requireLength(info.Env(), x, outer * reduced * inner, "x");
  requireLength(info.Env(), out, outer * inner, "out");
  reduce(static_cast<ReduceOp>(op), x.Data(), outer, reduced, inner, out.Data());
  return info.Env().Undefined();
}

// softmax(x, rows, cols, out)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  auto x = floats(info, 0, "x");
  const int64_t rows = integer(info, 1, "rows"), cols = integer(info, 2, "cols");
  auto out = floats(info, 3, "out");
  requireLength(info.Env(), x, rows * cols, "x");
  requireLength(info.Env(), out, rows * cols, "out");
  softmax(x.Data(), rows, cols, out.Data());
  return info.Env().Undefined();
}

// stridedCopy(src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape)
Napi::Value StridedCopy(const Napi::CallbackInfo& info) {
  auto src = floats(info, 0, "src");
  const int64_t srcOffset = integer(info, 1, "srcOffset");
  const Shape srcStrides = shapeArg(info, 2, "srcStrides");
  auto dst = floats(info, 3, "dst");
  const int64_t dstOffset = integer(info, 4, "dstOffset");
  const Shape dstStrides = shapeArg(info, 5, "dstStrides");
  const Shape shape = shapeArg(info, 6, "shape");
  if (srcStrides.size() != shape.size() || dstStrides.size() != shape.size())
    throw Napi::RangeError::New(info.Env(), "strides and shape must have the same length");
  if (sizeOf(shape) == 0) return info.Env().Undefined();
  // The last element touched on each side must be inside the buffer (strides are non-negative).
  int64_t srcLast = srcOffset, dstLast = dstOffset;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (srcStrides[k] < 0 || dstStrides[k] < 0 || shape[k] < 0)
      throw Napi::RangeError::New(info.Env(), "negative stride or size");
    srcLast += (shape[k] - 1) * srcStrides[k];
    dstLast += (shape[k] - 1) * dstStrides[k];
  }
  requireLength(info.Env(), src, srcLast + 1, "src");
  requireLength(info.Env(), dst, dstLast + 1, "dst");
  stridedCopy(src.Data(), srcOffset, srcStrides, dst.Data(), dstOffset, dstStrides, shape);
  return info.Env().Undefined();
}

// batchMatMul(a, b, c, aIndex, bIndex, M, N, K, transA, transB, bias | null)
Napi::Value BatchMatMul(const Napi::CallbackInfo& info) {
  auto a = floats(info, 0, "a");
  auto b = floats(info, 1, "b");
  auto c = floats(info, 2, "c");
  auto aIndex = ints(info, 3, "aIndex");
  auto bIndex = ints(info, 4, "bIndex");
  const int64_t M = integer(info, 5, "M"), N = integer(info, 6, "N"), K = integer(info, 7, "K");
  const bool transA = info[8].ToBoolean(), transB = info[9].ToBoolean();
  const float* bias = nullptr;
  if (!info[10].IsNull() && !info[10].IsUndefined()) {
    auto biasArr = floats(info, 10, "bias");
    requireLength(info.Env(), biasArr, N, "bias");
    bias = biasArr.Data();
  }
  const int64_t batch = aIndex.ElementLength();
  if (static_cast<int64_t>(bIndex.ElementLength()) != batch)
    throw Napi::RangeError::New(info.Env(), "aIndex and bIndex must have the same length");
  const int32_t* ai = aIndex.Data();
  const int32_t* bi = bIndex.Data();
  int64_t aMats = 0, bMats = 0;
  for (int64_t i = 0; i < batch; ++i) {
    if (ai[i] < 0 || bi[i] < 0) throw Napi::RangeError::New(info.Env(), "negative batch index");
    aMats = std::max<int64_t>(aMats, ai[i] + 1);
    bMats = std::max<int64_t>(bMats, bi[i] + 1);
  }
  requireLength(info.Env(), a, aMats * M * K, "a");
  requireLength(info.Env(), b, bMats * K * N, "b");
  requireLength(info.Env(), c, batch * M * N, "c");
  batchMatMul(a.Data(), b.Data(), c.Data(), batch, ai, bi, M, N, K, transA, transB, bias);
  return info.Env().Undefined();
}

// layerNorm(x, weight, bias, rows, width, eps, y, xhat, rstd)
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  auto x = floats(info, 0, "x");
  auto weight = floats(info, 1, "weight");
  auto bias = floats(info, 2, "bias");
  const int64_t rows = integer(info, 3, "rows"), width = integer(info, 4, "width");
  const double eps = number(info, 5, "eps");
  auto y = floats(info, 6, "y");
  auto xhat = floats(info, 7, "xhat");
  auto rstd = floats(info, 8, "rstd");
  const Napi::Env env = info.Env();
  requireLength(env, x, rows * width, "x");
  requireLength(env, weight, width, "weight");
  requireLength(env, bias, width, "bias");
  requireLength(env, y, rows * width, "y");
  requireLength(env, xhat, rows * width, "xhat");
  requireLength(env, rstd, rows, "rstd");
  layerNormForward(x.Data(), weight.Data(), bias.Data(), rows, width, static_cast<float>(eps), y.Data(), xhat.Data(),
                   rstd.Data());
  return env.Undefined();
}

// layerNormGrad(dy, xhat, rstd, weight, rows, width, dx, dweight, dbias)
Napi::Value LayerNormGrad(const Napi::CallbackInfo& info) {
  auto dy = floats(info, 0, "dy");
  auto xhat = floats(info, 1, "xhat");
  auto rstd = floats(info, 2, "rstd");
  auto weight = floats(info, 3, "weight");
  const int64_t rows = integer(info, 4, "rows"), width = integer(info, 5, "width");
  auto dx = floats(info, 6, "dx");
  auto dweight = floats(info, 7, "dweight");
  auto dbias = floats(info, 8, "dbias");
  const Napi::Env env = info.Env();
  requireLength(env, dy, rows * width, "dy");
  requireLength(env, xhat, rows * width, "xhat");
  requireLength(env, rstd, rows, "rstd");
  requireLength(env, weight, width, "weight");
  requireLength(env, dx, rows * width, "dx");
  requireLength(env, dweight, width, "dweight");
  requireLength(env, dbias, width, "dbias");
  layerNormBackward(dy.Data(), xhat.Data(), rstd.Data(), weight.Data(), rows, width, dx.Data(), dweight.Data(),
                    dbias.Data());
  return env.Undefined();
}

// gelu(x, y)
Napi::Value Gelu(const Napi::CallbackInfo& info) {
  auto x = floats(info, 0, "x");
  auto y = floats(info, 1, "y");
  requireLength(info.Env(), y, x.ElementLength(), "y");
  gelu(x.Data(), y.Data(), x.ElementLength());
  return info.Env().Undefined();
}

// geluGrad(x, dy, dx)
Napi::Value GeluGrad(const Napi::CallbackInfo& info) {
  auto x = floats(info, 0, "x");
  auto dy = floats(info, 1, "dy");
  auto dx = floats(info, 2, "dx");
  requireLength(info.Env(), dy, x.ElementLength(), "dy");
  requireLength(info.Env(), dx, x.ElementLength(), "dx");
  geluGrad(x.Data(), dy.Data(), dx.Data(), x.ElementLength());
  return info.Env().Undefined();
}

AttentionShape attentionShape(const Napi::CallbackInfo& info, size_t i) {
  AttentionShape s{integer(info, i, "batch"), integer(info, i + 1, "tokens"), integer(info, i + 2, "heads"),
                   integer(info, i + 3, "headDim")};
  if (s.heads < 1 || s.headDim < 1) throw Napi::RangeError::New(info.Env(), "heads and headDim must be >= 1");
  return s;
}

// attention(qkv, batch, tokens, heads, headDim, scale, out, probs)
Napi::Value Attention(const Napi::CallbackInfo& info) {
  auto qkv = floats(info, 0, "qkv");
  const AttentionShape s = attentionShape(info, 1);
  const double scale = number(info, 5, "scale");
  auto out = floats(info, 6, "out");
  auto probs = floats(info, 7, "probs");
  const Napi::Env env = info.Env();
  const int64_t rows = s.batch * s.tokens, width = s.heads * s.headDim;
  requireLength(env, qkv, rows * 3 * width, "qkv");
  requireLength(env, out, rows * width, "out");
  requireLength(env, probs, s.batch * s.heads * s.tokens * s.tokens, "probs");
  attentionForward(qkv.Data(), s, static_cast<float>(scale), out.Data(), probs.Data());
  return env.Undefined();
}

// attentionGrad(dy, qkv, probs, batch, tokens, heads, headDim, scale, dqkv)
Napi::Value AttentionGrad(const Napi::CallbackInfo& info) {
  auto dy = floats(info, 0, "dy");
  auto qkv = floats(info, 1, "qkv");
  auto probs = floats(info, 2, "probs");
  const AttentionShape s = attentionShape(info, 3);
  const double scale = number(info, 7, "scale");
  auto dqkv = floats(info, 8, "dqkv");
  const Napi::Env env = info.Env();
  const int64_t rows = s.batch * s.tokens, width = s.heads * s.headDim;
  requireLength(env, dy, rows * width, "dy");
  requireLength(env, qkv, rows * 3 * width, "qkv");
  requireLength(env, probs, s.batch * s.heads * s.tokens * s.tokens, "probs");
  requireLength(env, dqkv, rows * 3 * width, "dqkv");
  attentionBackward(dy.Data(), qkv.Data(), probs.Data(), s, static_cast<float>(scale), dqkv.Data());
  return env.Undefined();
}

// adamW(param, m, v, grad, paramOut, mOut, vOut, lr, beta1, beta2, eps, weightDecay, bc1, bc2)
Napi::Value AdamW(const Napi::CallbackInfo& info) {
  auto param = floats(info, 0, "param");
  const int64_t n = param.ElementLength();
  const char* names[] = {"param", "m", "v", "grad", "paramOut", "mOut", "vOut"};
  float* ptr[7];
  for (size_t i = 0; i < 7; ++i) {
    auto arr = floats(info, i, names[i]);
    if (static_cast<int64_t>(arr.ElementLength()) != n)
      throw Napi::RangeError::New(info.Env(), std::string(names[i]) + " has " +
                                                  std::to_string(arr.ElementLength()) + " elements, param has " +
                                                  std::to_string(n));
    ptr[i] = arr.Data();
  }
  AdamWParams p{number(info, 7, "lr"),  number(info, 8, "beta1"),        number(info, 9, "beta2"),
                number(info, 10, "eps"), number(info, 11, "weightDecay"), number(info, 12, "biasCorrection1"),
                number(info, 13, "biasCorrection2")};
  adamW(ptr[0], ptr[1], ptr[2], ptr[3], ptr[4], ptr[5], ptr[6], n, p);
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int64_t n = integer(info, 0, "threads");
  if (n < 1) throw Napi::RangeError::New(info.Env(), "threads must be >= 1");
  setThreads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), getThreads()); }

Napi::Value KernelIsa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), kernelIsa()); }

Napi::Value KernelIsas(const Napi::CallbackInfo& info) {
  const std::vector<const char*> isas = kernelIsas();
  Napi::Array out = Napi::Array::New(info.Env(), isas.size());
  for (size_t i = 0; i < isas.size(); ++i) out.Set(static_cast<uint32_t>(i), Napi::String::New(info.Env(), isas[i]));
  return out;
}

Napi::Value BlasConfig(const Napi::CallbackInfo& info) {
  const std::string config = openblasConfig();
  return Napi::String::New(info.Env(), config.empty() ? gemmInfo() : config);
}

// Tensors are short-lived multi-megabyte Float32Arrays that V8 allocates with calloc. With glibc's
// defaults each one is a fresh mmap (or trimmed heap) and every page faults on first write, which
// costs more than the kernel itself (0.4 ms vs 0.1 ms for 3 MB). Keeping freed memory in the heap
// lets the next step's tensors reuse warm pages. Process-wide; BMAE_MALLOC_TUNING=0 turns it off.
void tuneMalloc() {
  const char* env = std::getenv("BMAE_MALLOC_TUNING");
  if (env != nullptr && std::string(env) == "0") return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum: larger blocks still get their own mmap
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tuneMalloc();
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("stridedCopy", Napi::Function::New(env, StridedCopy));
  exports.Set("batchMatMul", Napi::Function::New(env, BatchMatMul));
  exports.Set("adamW", Napi::Function::New(env, AdamW));
  exports.Set("layerNorm", Napi::Function::New(env, LayerNorm));
  exports.Set("layerNormGrad", Napi::Function::New(env, LayerNormGrad));
  exports.Set("gelu", Napi::Function::New(env, Gelu));
  exports.Set("geluGrad", Napi::Function::New(env, GeluGrad));
  exports.Set("attention", Napi::Function::New(env, Attention));
  exports.Set("attentionGrad", Napi::Function::New(env, AttentionGrad));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("blasConfig", Napi::Function::New(env, BlasConfig));
  exports.Set("kernelIsa", Napi::Function::New(env, KernelIsa));
  exports.Set("kernelIsas", Napi::Function::New(env, KernelIsas));
  registerGemm(env, exports);
  return exports;
}

}  // namespace

}  // namespace bmae

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return bmae::Init(env, exports); }

NODE_API_MODULE(bmae_native, InitModule)
