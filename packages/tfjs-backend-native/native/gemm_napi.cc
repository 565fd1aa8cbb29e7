// Node-API bindings of gemm.h: which GEMM the addon uses, and a direct sgemm call on any available
// implementation (the built-in one per ISA, or OpenBLAS) for the tests and tools/bench/gemm.ts.
#include <napi.h>

#include <stdexcept>
#include <string>

#include "gemm.h"

namespace bmae {

namespace {

int64_t intArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (v < 0 || v != static_cast<double>(static_cast<int64_t>(v)))
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be a non-negative integer");
  return static_cast<int64_t>(v);
}

// Throws unless `array` holds a rows x cols matrix with row stride ld.
void checkMatrix(const Napi::CallbackInfo& info, const Napi::Float32Array& array, int64_t rows, int64_t cols,
                 int64_t ld, const char* name) {
  if (ld < cols || (rows > 0 && ld < 1))
    throw Napi::RangeError::New(info.Env(), std::string(name) + ": leading dimension " + std::to_string(ld) +
                                                " < " + std::to_string(cols) + " columns");
  const int64_t needed = rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;
  if (static_cast<int64_t>(array.ElementLength()) < needed)
    throw Napi::RangeError::New(info.Env(), std::string(name) + " has " + std::to_string(array.ElementLength()) +
                                                " elements, needs " + std::to_string(needed));
}

Napi::Float32Array floatArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Float32Array");
  return info[i].As<Napi::Float32Array>();
}

// sgemm(impl, transA, transB, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc); impl: "default" (what
// the matmul kernels use), "openblas", "builtin" (best ISA) or "builtin:<isa>".
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  if (info.Length() != 14) throw Napi::TypeError::New(info.Env(), "sgemm takes 14 arguments");
  const std::string impl = info[0].As<Napi::String>().Utf8Value();
  const bool transA = info[1].ToBoolean(), transB = info[2].ToBoolean();
  const int64_t M = intArg(info, 3, "M"), N = intArg(info, 4, "N"), K = intArg(info, 5, "K");
  const float alpha = info[6].As<Napi::Number>().FloatValue(), beta = info[11].As<Napi::Number>().FloatValue();
  Napi::Float32Array a = floatArg(info, 7, "a"), b = floatArg(info, 9, "b"), c = floatArg(info, 12, "c");
  const int64_t lda = intArg(info, 8, "lda"), ldb = intArg(info, 10, "ldb"), ldc = intArg(info, 13, "ldc");
  checkMatrix(info, a, transA ? K : M, transA ? M : K, lda, "a");
  checkMatrix(info, b, transB ? N : K, transB ? K : N, ldb, "b");
  checkMatrix(info, c, M, N, ldc, "c");
  if (impl == "default") {
    sgemm(transA, transB, M, N, K, alpha, a.Data(), lda, b.Data(), ldb, beta, c.Data(), ldc);
  } else if (impl == "openblas") {
    if (!openblasSgemm(transA, transB, M, N, K, alpha, a.Data(), lda, b.Data(), ldb, beta, c.Data(), ldc))
      throw Napi::Error::New(info.Env(), "sgemm: this addon was built without OpenBLAS");
  } else if (impl == "builtin" || impl.rfind("builtin:", 0) == 0) {
    try {
      builtinSgemm(impl == "builtin" ? "" : impl.substr(8), transA, transB, M, N, K, alpha, a.Data(), lda, b.Data(),
                   ldb, beta, c.Data(), ldc);
    } catch (const std::invalid_argument& e) {
      throw Napi::Error::New(info.Env(), e.what());
    }
  } else {
    throw Napi::Error::New(info.Env(), "sgemm: unknown implementation '" + impl + "'");
  }
  return info.Env().Undefined();
}

Napi::Value GemmInfo(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), gemmInfo()); }

Napi::Value BuiltinIsas(const Napi::CallbackInfo& info) {
  const std::vector<std::string> isas = builtinIsas();
  Napi::Array out = Napi::Array::New(info.Env(), isas.size());
  for (size_t i = 0; i < isas.size(); ++i) out.Set(static_cast<uint32_t>(i), Napi::String::New(info.Env(), isas[i]));
  return out;
}

}  // namespace

void registerGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("sgemm", Napi::Function::New(env, Sgemm));
  exports.Set("gemmInfo", Napi::Function::New(env, GemmInfo));
  exports.Set("builtinIsas", Napi::Function::New(env, BuiltinIsas));
}

}  // namespace bmae
