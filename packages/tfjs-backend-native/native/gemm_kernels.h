// Micro-kernels of the built-in SGEMM (gemm_builtin.cc) and the blocking each one is run with.
//
// A micro-kernel computes one MR x NR tile of C from packed panels (the GotoBLAS / BLIS scheme):
//   a: kc steps of MR values (column k of an MR-row sliver of alpha * op(A)), a[k * MR + r]
//   b: kc steps of NR values (row k of an NR-column sliver of op(B)),          b[k * NR + j]
//   c: the tile, row-major with row stride ldc; c = a x b, or c += a x b when `accumulate`.
// Its MR x NR accumulators live in vector registers for all kc steps, so each loaded B vector and
// broadcast A value feeds several FMAs: the sizes are chosen to fill the register file.
#pragma once

#include <cstdint>

namespace bmae {
namespace gemm {

using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate);

struct KernelSpec {
  const char* isa;     // "avx512", "avx2", "neon", "scalar"
  int mr, nr;          // tile of C held in registers
  int kc, mc, nc;      // cache blocking: KC x NR panel of B in L1, MC x KC block of A in L2, KC x NC of B in L3
  MicroKernel kernel;
};

// Defined in gemm_kernel_x86.cc (x86-64 only; compiled with target attributes, so the rest of the
// build needs no -mavx*: the CPU check happens at run time), gemm_kernel_neon.cc and gemm_kernel_scalar.cc.
extern const KernelSpec kAvx512Kernel;
extern const KernelSpec kAvx2Kernel;
extern const KernelSpec kNeonKernel;
extern const KernelSpec kScalarKernel;

}  // namespace gemm
}  // namespace bmae
