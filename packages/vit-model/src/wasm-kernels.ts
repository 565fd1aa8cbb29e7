/**
 * Work-arounds for the gaps of @tensorflow/tfjs-backend-wasm 4.22, all in this one place, so that model
 * code stays plain tfjs and runs unchanged on every backend. Measured on this project's 2-core machine:
 *
 * - BatchMatMul / _FusedMatMul with transposeA or transposeB: the wasm kernel multiplies a transposed
 *   operand in place, up to ~14x slower than transposing it first (e.g. [4096,768] x [192,768]^T: 647 ms
 *   vs 46 ms + 21 ms for the transpose). Every linear layer's backward pass uses these combinations, so
 *   we re-register both kernels with a wrapper that transposes explicitly (wasm's own Transpose kernel)
 *   and then calls the original kernel without transposes.
 * - BatchMatMul with more than one matrix (attention: one per sample and head) runs a naive loop at
 *   ~1.3 GFLOP/s; only a single non-transposed product takes the XNNPACK path. We loop over the batch
 *   in the kernel, handing XNNPACK one product at a time: 2-5x faster on attention shapes (e.g.
 *   128 x [65x65 @ 65x32]: 26.8 ms -> 5.7 ms).
 * - Identity (tf.clone, and every tensor a custom gradient saves for the backward pass, e.g. the
 *   activations of each fused linear layer) copies the data; the cpu backend shares it by reference
 *   count. We register the sharing version (wasm kernels never write into their inputs, so sharing is
 *   safe): the training step keeps one copy of each saved activation instead of two.
 * - UnsortedSegmentSum is not implemented, so the gradient of tf.gather throws. We register a host
 *   (JavaScript) implementation; gather is rare in this project (the model selects tokens with one-hot
 *   matrices) but e.g. an embedding lookup in a probe must not crash.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The subset of the wasm backend's API these kernels use (tfjs-backend-wasm's BackendWasm). */
interface WasmBackendLike {
  typedArrayFromHeap(info: tf.TensorInfo): tf.backend_util.TypedArray;
  incRef(dataId: tf.DataId): void;
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
}

const WASM = 'wasm';
let patched = false;

/** Swaps the last two axes of `x` with wasm's own Transpose kernel (an intermediate the caller disposes). */
function transposeLastTwo(x: tf.TensorInfo, backend: WasmBackendLike, transposeKernel: tf.KernelFunc): tf.TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return transposeKernel({ inputs: { x }, backend: backend as unknown as tf.KernelBackend, attrs: { perm } }) as tf.TensorInfo;
}

const product = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

/**
 * a @ b for float32 [..., M, K] @ [..., K, N] (no transposes) as one XNNPACK product per matrix.
 * Returns undefined when the batch dims broadcast in a way other than equal / one side single.
 * Each product's `b` must be a fresh tensor: XNNPACK operators are cached on b's tensor id.
 */
function loopedBatchMatMul(args: Parameters<tf.KernelFunc>[0], original: tf.KernelFunc): tf.TensorInfo | undefined {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 3 || b.shape.length < 2) return undefined;
  const batchA = product(a.shape.slice(0, -2));
  const batchB = product(b.shape.slice(0, -2));
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  const batch = Math.max(batchA, batchB);
  if (batch === 1) return undefined;
  const backend = args.backend as unknown as WasmBackendLike;
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const outerShape = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = backend.makeOutput([...outerShape, m, n], 'float32');
  const aSlice = backend.makeOutput([1, m, k], 'float32');
  let bSlice: tf.TensorInfo | undefined;
  // Heap views are re-taken after every allocation: a growing wasm memory detaches the old ones.
  const heap = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t);
  for (let i = 0; i < batch; i++) {
    if (i === 0 || batchA > 1) heap(aSlice).set(heap(a).subarray(i * m * k, (i + 1) * m * k));
    if (i === 0 || batchB > 1) {
      if (bSlice) backend.disposeData(bSlice.dataId);
      bSlice = backend.makeOutput([1, k, n], 'float32');
      heap(bSlice).set(heap(b).subarray(i * k * n, (i + 1) * k * n));
    }
    const result = original({ ...args, inputs: { a: aSlice, b: bSlice! } }) as tf.TensorInfo;
    heap(out).set(heap(result), i * m * n);
    backend.disposeData(result.dataId);
  }
  backend.disposeData(aSlice.dataId);
  if (bSlice) backend.disposeData(bSlice.dataId);
  return out;
}

/**
 * Re-registers `kernelName` for wasm so transposed operands are transposed explicitly first and,
 * when `loopBatches`, batched products go through XNNPACK one matrix at a time.
 */
function wrapMatMulKernel(kernelName: string, transposeKernel: tf.KernelFunc, loopBatches: boolean): void {
  const original = tf.getKernel(kernelName, WASM);
  if (!original) throw new Error(`tfjs-backend-wasm has no ${kernelName} kernel to wrap`);
  tf.unregisterKernel(kernelName, WASM);
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
      const backend = args.backend as unknown as WasmBackendLike;
      const inputs = { ...(args.inputs as Record<string, tf.TensorInfo>) };
      const temporaries: tf.TensorInfo[] = [];
      if (attrs.transposeA) temporaries.push((inputs.a = transposeLastTwo(inputs.a, backend, transposeKernel)));
      if (attrs.transposeB) temporaries.push((inputs.b = transposeLastTwo(inputs.b, backend, transposeKernel)));
      const plainArgs = { ...args, inputs, attrs: { ...args.attrs, transposeA: false, transposeB: false } };
      const out = (loopBatches && loopedBatchMatMul(plainArgs, original.kernelFunc)) || original.kernelFunc(plainArgs);
      for (const t of temporaries) backend.disposeData(t.dataId);
      return out;
    },
  });
}

/**
 * out[segmentIds[i], ...] += x[i, ...]. Only the first axis of x is segmented (what tf.gather's
 * gradient asks for after its reshapes); ids outside [0, numSegments) are dropped as TensorFlow does.
 */
const unsortedSegmentSum: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs as unknown as { numSegments: number };
  const wasm = backend as unknown as WasmBackendLike;
  if (segmentIds.shape.length !== 1) {
    throw new Error(`wasm UnsortedSegmentSum: segmentIds must be rank 1, got shape [${segmentIds.shape}]`);
  }
  const rowSize = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const values = wasm.readSync(x.dataId) as tf.backend_util.TypedArray;
  const ids = wasm.readSync(segmentIds.dataId) as tf.backend_util.TypedArray;
  const out = wasm.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
  const outValues = wasm.typedArrayFromHeap(out);
  outValues.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const segment = ids[i];
    if (segment < 0 || segment >= numSegments) continue;
    const src = i * rowSize;
    const dst = segment * rowSize;
    for (let j = 0; j < rowSize; j++) outValues[dst + j] += values[src + j];
  }
  return out;
};

/** tf.clone without a copy: one more reference to the same heap memory (as the cpu backend does). */
function sharingIdentity(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') return original(args);
    (args.backend as unknown as WasmBackendLike).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/**
 * Installs the work-arounds above into the kernel registry for 'wasm' (idempotent). Call after
 * '@tensorflow/tfjs-backend-wasm' has been imported (it registers the kernels being wrapped).
 */
export function patchWasmKernels(): void {
  if (patched) return;
  const transpose = tf.getKernel('Transpose', WASM);
  if (!transpose) throw new Error('tfjs-backend-wasm is not loaded: no Transpose kernel registered for wasm');
  wrapMatMulKernel('BatchMatMul', transpose.kernelFunc, true);
  // Fused products (bias, activation) are the model's 2-D linear layers: transposes only.
  wrapMatMulKernel('_FusedMatMul', transpose.kernelFunc, false);
  const identity = tf.getKernel('Identity', WASM);
  if (!identity) throw new Error('tfjs-backend-wasm has no Identity kernel to replace');
  tf.unregisterKernel('Identity', WASM);
  tf.registerKernel({ ...identity, kernelFunc: sharingIdentity(identity.kernelFunc) });
  if (!tf.getKernel('UnsortedSegmentSum', WASM)) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: WASM, kernelFunc: unsortedSegmentSum });
  }
  patched = true;
}
