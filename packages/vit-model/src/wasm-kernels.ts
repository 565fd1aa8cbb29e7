/**
 * Work-arounds for the gaps of @tensorflow/tfjs-backend-wasm 4.22, all in this one place, so that model
 * code stays plain tfjs and runs unchanged on every backend. Measured on this project's 2-core machine:
 *
 * - BatchMatMul / _FusedMatMul with transposeA or transposeB: the wasm kernel multiplies a transposed
 *   operand in place, up to ~14x slower than transposing it first (e.g. [4096,768] x [192,768]^T: 647 ms
 *   vs 46 ms + 21 ms for the transpose). Every linear layer's backward pass uses these combinations, so
 *   we re-register both kernels with a wrapper that transposes explicitly (wasm's own Transpose kernel)
 *   and then calls the original kernel without transposes.
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
  incRef(dataId: tf.DataId): void;
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.backend_util.TypedArray;
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

/** Re-registers `kernelName` for wasm so transposed operands are transposed explicitly first. */
function wrapMatMulKernel(kernelName: string, transposeKernel: tf.KernelFunc): void {
  const original = tf.getKernel(kernelName, WASM);
  if (!original) throw new Error(`tfjs-backend-wasm has no ${kernelName} kernel to wrap`);
  tf.unregisterKernel(kernelName, WASM);
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
      if (!attrs.transposeA && !attrs.transposeB) return original.kernelFunc(args);
      const backend = args.backend as unknown as WasmBackendLike;
      const inputs = { ...(args.inputs as Record<string, tf.TensorInfo>) };
      const temporaries: tf.TensorInfo[] = [];
      if (attrs.transposeA) temporaries.push((inputs.a = transposeLastTwo(inputs.a, backend, transposeKernel)));
      if (attrs.transposeB) temporaries.push((inputs.b = transposeLastTwo(inputs.b, backend, transposeKernel)));
      const out = original.kernelFunc({ ...args, inputs, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
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
  wrapMatMulKernel('BatchMatMul', transpose.kernelFunc);
  wrapMatMulKernel('_FusedMatMul', transpose.kernelFunc);
  const identity = tf.getKernel('Identity', WASM);
  if (!identity) throw new Error('tfjs-backend-wasm has no Identity kernel to replace');
  tf.unregisterKernel('Identity', WASM);
  tf.registerKernel({ ...identity, kernelFunc: sharingIdentity(identity.kernelFunc) });
  if (!tf.getKernel('UnsortedSegmentSum', WASM)) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: WASM, kernelFunc: unsortedSegmentSum });
  }
  patched = true;
}
