/**
 * Layout kernels, all one strided copy in C++: Transpose, Slice, PadV2 (constant padding; the
 * gradient of Slice), Concat (whose gradient is Slice) and SplitV (whose gradient is Concat). The cpu backend does the strided cases
 * element by element in JavaScript, which dominated a ViT step once matMul was fast.
 */
import { KernelConfig, TensorInfo, backend_util, slice_util, util } from '@tensorflow/tfjs-core';

import { addon } from '../addon';
import { alloc, f32, nativeOrCpu, output, sizeOf, stridesOf } from './util';

/**
 * Native transpose of a float32 tensor: out = x permuted by perm (out dim i = x dim perm[i]).
 * @param out where to write (every element is written), default a new array
 */
export function transposeValues(x: Float32Array, shape: readonly number[], perm: readonly number[], out: Float32Array = new Float32Array(sizeOf(shape))): { values: Float32Array; shape: number[] } {
  const outShape = perm.map((p) => shape[p]);
  const xStrides = stridesOf(shape);
  addon.stridedCopy(x, 0, perm.map((p) => xStrides[p]), out, 0, stridesOf(outShape), outShape);
  return { values: out, shape: outShape };
}

function transposeKernel(backendName: string): KernelConfig {
  return nativeOrCpu<{ perm: number[] }>('Transpose', backendName, ({ inputs, backend, attrs }) => {
    const x = f32(backend, inputs.x);
    if (x == null) return null;
    const { values, shape } = transposeValues(x, inputs.x.shape, attrs.perm, alloc(backend, sizeOf(inputs.x.shape)));
    return output(backend, shape, values);
  });
}

function sliceKernel(backendName: string): KernelConfig {
  return nativeOrCpu<{ begin: number | number[]; size: number | number[] }>('Slice', backendName, ({ inputs, backend, attrs }) => {
    const xInfo = inputs.x;
    const x = f32(backend, xInfo);
    if (x == null) return null;
    const [begin, size] = slice_util.parseSliceParams(xInfo, attrs.begin, attrs.size);
    slice_util.assertParamsValid(xInfo, begin, size);
    const strides = stridesOf(xInfo.shape);
    const out = alloc(backend, sizeOf(size));
    const offset = begin.reduce((acc, b, i) => acc + b * strides[i], 0);
    addon.stridedCopy(x, offset, strides, out, 0, stridesOf(size), size);
    return output(backend, size, out);
  });
}

function padKernel(backendName: string): KernelConfig {
  return nativeOrCpu<{ paddings: Array<[number, number]>; constantValue: number }>('PadV2', backendName, ({ inputs, backend, attrs }) => {
    const xInfo = inputs.x;
    const x = f32(backend, xInfo);
    if (x == null) return null;
    const { paddings, constantValue } = attrs;
    const outShape = xInfo.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
    const out = alloc(backend, sizeOf(outShape));
    out.fill(constantValue); // recycled buffers hold stale values
    const outStrides = stridesOf(outShape);
    const offset = paddings.reduce((acc, p, i) => acc + p[0] * outStrides[i], 0);
    addon.stridedCopy(x, 0, stridesOf(xInfo.shape), out, offset, outStrides, xInfo.shape);
    return output(backend, outShape, out);
  });
}

function concatKernel(backendName: string): KernelConfig {
  return nativeOrCpu<{ axis: number }>('Concat', backendName, ({ inputs, backend, attrs }) => {
    const tensors = Object.values(inputs) as TensorInfo[];
    if (tensors.length === 0) return null;
    const values = tensors.map((t) => f32(backend, t));
    if (values.some((v) => v == null)) return null;
    const axis = util.parseAxisParam(attrs.axis, tensors[0].shape)[0];
    const outShape = backend_util.computeOutShape(tensors.map((t) => t.shape), axis);
    const out = alloc(backend, sizeOf(outShape));
    const outStrides = stridesOf(outShape);
    let offset = 0;
    tensors.forEach((t, i) => {
      if (sizeOf(t.shape) > 0) addon.stridedCopy(values[i] as Float32Array, 0, stridesOf(t.shape), out, offset * outStrides[axis], outStrides, t.shape);
      offset += t.shape[axis];
    });
    return output(backend, outShape, out);
  });
}

/** SplitV (tf.split; attention splits q, k, v with it): one strided copy per part. */
function splitKernel(backendName: string): KernelConfig {
  return nativeOrCpu<{ numOrSizeSplits: number[] | number; axis: number }>('SplitV', backendName, ({ inputs, backend, attrs }) => {
    const xInfo = inputs.x;
    const x = f32(backend, xInfo);
    if (x == null) return null;
    const axis = util.parseAxisParam(attrs.axis, xInfo.shape)[0];
    const sizes = backend_util.prepareSplitSize(xInfo, attrs.numOrSizeSplits, axis);
    const strides = stridesOf(xInfo.shape);
    let begin = 0;
    return sizes.map((s) => {
      const shape = xInfo.shape.slice();
      shape[axis] = s;
      const out = alloc(backend, sizeOf(shape));
      addon.stridedCopy(x, begin * strides[axis], strides, out, 0, stridesOf(shape), shape);
      begin += s;
      return output(backend, shape, out);
    });
  });
}

export function layoutKernels(backendName: string): KernelConfig[] {
  return [transposeKernel(backendName), sliceKernel(backendName), padKernel(backendName), concatKernel(backendName), splitKernel(backendName)];
}
