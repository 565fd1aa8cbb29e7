/**
 * BatchMatMul and _FusedMatMul through OpenBLAS sgemm: every transposeA/transposeB combination,
 * batch dimensions broadcast like numpy (tfjs's cpu kernel indexes `batch % batchA`, which is the
 * same whenever the batch shapes are equal or one of them is 1), and for the fused op a bias added
 * in the sgemm (C = bias rows, beta = 1) plus its activation. Gradients need no code here: tfjs
 * builds them from BatchMatMul, Sum, Mul, ... which are native kernels too.
 */
import { KernelConfig, NamedAttrMap, TensorInfo, backend_util, getKernel, util } from '@tensorflow/tfjs-core';

import { addon } from '../addon';
import { CpuLikeBackend, alloc, f32, nativeOrCpu, output, sizeOf, stridesOf } from './util';

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** For each output batch (row-major over outBatch), the index of the matrix of an input with batch shape `batch`. */
function batchIndex(batch: number[], outBatch: number[]): Int32Array {
  const n = sizeOf(outBatch);
  const index = new Int32Array(n);
  const offset = outBatch.length - batch.length;
  const strides = stridesOf(batch);
  for (let i = 0; i < n; i++) {
    let rem = i;
    let idx = 0;
    for (let d = outBatch.length - 1; d >= 0; d--) {
      const coord = rem % outBatch[d];
      rem = Math.floor(rem / outBatch[d]);
      const k = d - offset;
      if (k >= 0 && batch[k] !== 1) idx += coord * strides[k];
    }
    index[i] = idx;
  }
  return index;
}

/** c = a x b for float32 a, b; null when an input is not float32. */
function matMul(backend: CpuLikeBackend, a: TensorInfo, b: TensorInfo, attrs: MatMulAttrs, bias: Float32Array | null): TensorInfo | null {
  const av = f32(backend, a);
  const bv = f32(backend, b);
  if (av == null || bv == null) return null;
  const { transposeA, transposeB } = attrs;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kB = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  util.assert(K === kB, () =>
    `Error in matMul: inner shapes (${K}) and (${kB}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const outBatch = backend_util.assertAndGetBroadcastShape(aBatch, bBatch);
  const outShape = [...outBatch, M, N];
  const c = alloc(backend, sizeOf(outShape));
  addon.batchMatMul(av, bv, c, batchIndex(aBatch, outBatch), batchIndex(bBatch, outBatch), M, N, K, transposeA, transposeB, bias);
  return output(backend, outShape, c);
}

function batchMatMulKernel(backendName: string): KernelConfig {
  return nativeOrCpu<MatMulAttrs>('BatchMatMul', backendName, ({ inputs, backend, attrs }) =>
    matMul(backend, inputs.a, inputs.b, attrs, null));
}

/** Activations of the fused op, by the kernel that computes each (native where one exists). */
const ACTIVATION_KERNELS: Record<string, string> = {
  relu: 'Relu', relu6: 'Relu6', elu: 'Elu', sigmoid: 'Sigmoid', leakyrelu: 'LeakyRelu', prelu: 'Prelu',
};

function runKernel(backendName: string, name: string, inputs: Record<string, TensorInfo>, backend: CpuLikeBackend, attrs: NamedAttrMap = {}): TensorInfo {
  const config = getKernel(name, backendName);
  if (config == null) throw new Error(`@bmae/tfjs-backend-native: no kernel '${name}' registered for '${backendName}'`);
  return config.kernelFunc({ inputs, backend, attrs }) as TensorInfo;
}

function fusedMatMulKernel(backendName: string): KernelConfig {
  return nativeOrCpu<MatMulAttrs & { activation: string; leakyreluAlpha?: number }>('_FusedMatMul', backendName, ({ inputs, backend, attrs }) => {
    const { a, b, bias, preluActivationWeights } = inputs;
    if (attrs.activation !== 'linear' && !(attrs.activation in ACTIVATION_KERNELS)) return null;
    const N = attrs.transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
    // A bias of N values broadcast along rows ([N], [1, N], [1, 1, N]) is added inside sgemm.
    const rowBias = bias != null && sizeOf(bias.shape) === N && bias.shape.length > 0 && bias.shape[bias.shape.length - 1] === N ? f32(backend, bias) : null;
    if (bias != null && f32(backend, bias) == null) return null;
    let result = matMul(backend, a, b, attrs, rowBias);
    if (result == null) return null;
    if (bias != null && rowBias == null) {
      const withBias = runKernel(backendName, 'Add', { a: result, b: bias }, backend);
      backend.disposeIntermediateTensorInfo(result);
      result = withBias;
    }
    if (attrs.activation !== 'linear') {
      const name = ACTIVATION_KERNELS[attrs.activation];
      const activated =
        name === 'Prelu' ? runKernel(backendName, name, { x: result, alpha: preluActivationWeights }, backend)
        : name === 'LeakyRelu' ? runKernel(backendName, name, { x: result }, backend, { alpha: attrs.leakyreluAlpha ?? 0.2 })
        : runKernel(backendName, name, { x: result }, backend);
      backend.disposeIntermediateTensorInfo(result);
      result = activated;
    }
    return result;
  });
}

export function matMulKernels(backendName: string): KernelConfig[] {
  return [batchMatMulKernel(backendName), fusedMatMulKernel(backendName)];
}
