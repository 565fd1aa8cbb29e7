/**
 * Reductions (Sum, Mean, Max, Min) and Softmax. The reduced axes, once sorted, usually form one
 * contiguous run (innermost for LayerNorm moments and softmax, outermost for bias gradients), so x is
 * viewed as [outer, reduced, inner] without moving data; other axis sets are transposed first.
 */
import { KernelConfig, backend_util, util } from '@tensorflow/tfjs-core';

import { REDUCE_OPS, ReduceOpName, addon } from '../addon';
import { transposeValues } from './layout';
import { alloc, f32, nativeOrCpu, output, sizeOf } from './util';

function reduceKernel(name: ReduceOpName, backendName: string): KernelConfig {
  const code = REDUCE_OPS.indexOf(name);
  return nativeOrCpu<{ axis?: number | number[]; reductionIndices?: number | number[]; keepDims: boolean }>(
    name,
    backendName,
    ({ inputs, backend, attrs }) => {
      let x = f32(backend, inputs.x);
      if (x == null) return null;
      let shape = inputs.x.shape;
      const rawAxes = name === 'Max' ? attrs.reductionIndices : attrs.axis;
      // null/undefined axes mean all axes (tfjs's sum(x) passes axis null).
      const originalAxes = util.parseAxisParam(rawAxes as number | number[], shape);
      let axes = [...originalAxes].sort((p, q) => p - q);
      axes = axes.filter((a, i) => axes.indexOf(a) === i);
      const [outShapeNoKeep] = backend_util.computeOutAndReduceShapes(shape, axes);
      const contiguous = axes.every((a, i) => i === 0 || a === axes[i - 1] + 1);
      if (axes.length > 0 && !contiguous) {
        // Move the reduced axes innermost (the cpu kernels do the same, in JavaScript).
        const perm = backend_util.getAxesPermutation(axes, shape.length) as number[];
        const moved = transposeValues(x, shape, perm);
        x = moved.values;
        shape = moved.shape;
        axes = backend_util.getInnerMostAxes(axes.length, shape.length);
      }
      const first = axes.length > 0 ? axes[0] : shape.length;
      const last = axes.length > 0 ? axes[axes.length - 1] : shape.length - 1;
      const outer = sizeOf(shape.slice(0, first));
      const reduced = sizeOf(shape.slice(first, last + 1));
      const inner = sizeOf(shape.slice(last + 1));
      const out = alloc(backend, outer * inner);
      addon.reduce(code, x, outer, reduced, inner, out);
      const outShape = attrs.keepDims ? backend_util.expandShapeToKeepDim(outShapeNoKeep, originalAxes) : outShapeNoKeep;
      return output(backend, outShape, out);
    },
  );
}

function softmaxKernel(backendName: string): KernelConfig {
  return nativeOrCpu<{ dim: number }>('Softmax', backendName, ({ inputs, backend, attrs }) => {
    const logits = inputs.logits;
    const x = f32(backend, logits);
    const rank = logits.shape.length;
    const dim = attrs.dim < 0 ? attrs.dim + rank : attrs.dim;
    if (x == null || rank === 0 || dim !== rank - 1) return null;
    const cols = logits.shape[rank - 1];
    const out = alloc(backend, sizeOf(logits.shape));
    addon.softmax(x, cols === 0 ? 0 : out.length / cols, cols, out);
    return output(backend, logits.shape.slice(), out);
  });
}

export function reduceKernels(backendName: string): KernelConfig[] {
  return [...REDUCE_OPS.map((name) => reduceKernel(name, backendName)), softmaxKernel(backendName)];
}
