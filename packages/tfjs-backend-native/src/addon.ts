/**
 * Loads the compiled Node-API addon (build/Release/bmae_native.node) and types its functions.
 * Loading fails with one clear error when the addon was not built (no compiler at install time): backend selection reports that message as the reason 'native' was skipped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Op codes shared with native/kernels.h (enum order). */
export const UNARY_OPS = ['Exp', 'Tanh', 'Erf', 'Sqrt', 'Rsqrt', 'Square', 'Neg', 'Reciprocal', 'Log', 'Relu', 'Sigmoid', 'Abs'] as const;
export const BINARY_OPS = ['Add', 'Sub', 'Multiply', 'RealDiv', 'SquaredDifference', 'Maximum', 'Minimum'] as const;
export const REDUCE_OPS = ['Sum', 'Mean', 'Max', 'Min'] as const;

export type UnaryOpName = (typeof UNARY_OPS)[number];
export type BinaryOpName = (typeof BINARY_OPS)[number];
export type ReduceOpName = (typeof REDUCE_OPS)[number];

/** The addon's functions. Buffers are written in place; sizes are checked on the C++ side. */
export interface NativeAddon {
  unary(op: number, x: Float32Array, out: Float32Array): void;
  binary(op: number, a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], out: Float32Array, outShape: number[]): void;
  /** x viewed as [outer, reduced, inner] -> out [outer, inner]. */
  reduce(op: number, x: Float32Array, outer: number, reduced: number, inner: number, out: Float32Array): void;
  softmax(x: Float32Array, rows: number, cols: number, out: Float32Array): void;
  stridedCopy(src: Float32Array, srcOffset: number, srcStrides: number[], dst: Float32Array, dstOffset: number, dstStrides: number[], shape: number[]): void;
  /** c [batch, M, N] = op(a[aIndex[i]]) x op(b[bIndex[i]]) (+ bias [N] on every row). */
  batchMatMul(a: Float32Array, b: Float32Array, c: Float32Array, aIndex: Int32Array, bIndex: Int32Array, M: number, N: number, K: number, transA: boolean, transB: boolean, bias: Float32Array | null): void;
  adamW(param: Float32Array, m: Float32Array, v: Float32Array, grad: Float32Array, paramOut: Float32Array, mOut: Float32Array, vOut: Float32Array,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, biasCorrection1: number, biasCorrection2: number): void;
  /** LayerNorm of x [rows, width] -> y, xhat [rows, width], rstd [rows]. */
  layerNorm(x: Float32Array, weight: Float32Array, bias: Float32Array, rows: number, width: number, eps: number, y: Float32Array, xhat: Float32Array, rstd: Float32Array): void;
  /** Its gradients -> dx [rows, width], dweight [width], dbias [width]. */
  layerNormGrad(dy: Float32Array, xhat: Float32Array, rstd: Float32Array, weight: Float32Array, rows: number, width: number, dx: Float32Array, dweight: Float32Array, dbias: Float32Array): void;
  gelu(x: Float32Array, y: Float32Array): void;
  geluGrad(x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** Self-attention of qkv [batch, tokens, 3 * heads * headDim] -> out [batch, tokens, heads * headDim], probs [batch, heads, tokens, tokens]. */
  attention(qkv: Float32Array, batch: number, tokens: number, heads: number, headDim: number, scale: number, out: Float32Array, probs: Float32Array): void;
  /** Its gradient for dy [batch, tokens, heads * headDim] -> dqkv [batch, tokens, 3 * heads * headDim]. */
  attentionGrad(dy: Float32Array, qkv: Float32Array, probs: Float32Array, batch: number, tokens: number, heads: number, headDim: number, scale: number, dqkv: Float32Array): void;
  setThreads(threads: number): void;
  getThreads(): number;
  blasConfig(): string;
  /** The ISA level the element-wise kernels run at ('avx512', 'avx2', 'baseline'; BMAE_KERNEL_ISA picks a lesser one). */
  kernelIsa(): string;
  /** The levels this CPU runs, best first. */
  kernelIsas(): string[];
  /** Which GEMM backs batchMatMul: "openblas <config>" or "builtin <isa> <MRxNR> (<blocking>)". */
  gemmInfo(): string;
  /** The built-in GEMM's micro-kernels this CPU runs, best first (e.g. ['avx512', 'avx2', 'scalar']). */
  builtinIsas(): string[];
  /**
   * c = alpha * op(a) x op(b) + beta * c, row-major with row strides lda/ldb/ldc; impl: 'default' (what
   * batchMatMul uses), 'openblas' (throws in a build without it), 'builtin' (best ISA) or 'builtin:<isa>'.
   */
  sgemm(impl: string, transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number): void;
}

/**
 * Where node-gyp puts the addon (the package's gitignored build/ folder), or env BMAE_NATIVE_ADDON: another
 * build of it (e.g. `scripts/build-addon.js --out DIR` with BMAE_NATIVE_BLAS=builtin, as CI tests it).
 */
export const ADDON_PATH = process.env.BMAE_NATIVE_ADDON
  ? path.resolve(process.env.BMAE_NATIVE_ADDON)
  : path.resolve(__dirname, '..', 'build', 'Release', 'bmae_native.node');

/** The build script's log (written by scripts/build-addon.js next to Release/). */
export const BUILD_LOG_PATH = path.resolve(path.dirname(ADDON_PATH), '..', 'native-build.log');

/**
 * OpenBLAS's idle workers spin (sched_yield in a loop) for 2^28 cycles after every threaded call before
 * they sleep; on a shared machine every yield is a syscall, and that was most of a step's system time.
 * The addon now calls OpenBLAS single-threaded only (native/gemm.cc: one call per slab of our own
 * pool), so its workers never run; the timeout stays as a guard for anything else in the process that
 * makes OpenBLAS threaded. OpenBLAS reads it once, when the library initialises (the addon's first
 * load): it must be set before require. A value the user set is kept.
 */
export const OPENBLAS_THREAD_TIMEOUT_DEFAULT = '4';

function configureOpenBlas(): void {
  if (process.env.OPENBLAS_THREAD_TIMEOUT === undefined) process.env.OPENBLAS_THREAD_TIMEOUT = OPENBLAS_THREAD_TIMEOUT_DEFAULT;
}

function load(): NativeAddon {
  if (!fs.existsSync(ADDON_PATH)) {
    const log = fs.existsSync(BUILD_LOG_PATH) ? ` The last build failed; see ${BUILD_LOG_PATH}.` : '';
    throw new Error(
      `@bmae/tfjs-backend-native: the native addon is not built (${ADDON_PATH} does not exist).${log} ` +
        'It is built by `npm ci` (root postinstall) or `npm run build:addon -w @bmae/tfjs-backend-native`, ' +
        'which needs g++, make and python3 (and uses libopenblas-dev when present).',
    );
  }
  configureOpenBlas();
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(ADDON_PATH) as NativeAddon;
  } catch (err) {
    throw new Error(`@bmae/tfjs-backend-native: the native addon ${ADDON_PATH} failed to load: ${(err as Error).message}`);
  }
}

/** The loaded addon (loaded once, on first import of this module). */
export const addon: NativeAddon = load();
