/**
 * Element-wise kernels: unary maps (Exp, Tanh, Erf, ...), broadcasting binary ops (Add, Sub, Mul,
 * RealDiv, SquaredDifference, Maximum, Minimum) and AddN, all multi-threaded in C++.
 */
import { KernelConfig, TensorInfo, backend_util } from '@tensorflow/tfjs-core';

import { BINARY_OPS, BinaryOpName, UNARY_OPS, UnaryOpName, addon } from '../addon';
import { alloc, f32, nativeOrCpu, output, sizeOf } from './util';

function unaryKernel(name: UnaryOpName, backendName: string): KernelConfig {
  const code = UNARY_OPS.indexOf(name);
  return nativeOrCpu(name, backendName, ({ inputs, backend }) => {
    const x = f32(backend, inputs.x);
    if (x == null) return null;
    const out = alloc(backend, sizeOf(inputs.x.shape));
    addon.unary(code, x, out);
    return output(backend, inputs.x.shape.slice(), out);
  });
}

function binaryKernel(name: BinaryOpName, backendName: string): KernelConfig {
  const code = BINARY_OPS.indexOf(name);
  return nativeOrCpu(name, backendName, ({ inputs, backend }) => {
    const { a, b } = inputs;
    const av = f32(backend, a);
    const bv = f32(backend, b);
    if (av == null || bv == null) return null;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = alloc(backend, sizeOf(outShape));
    addon.binary(code, av, a.shape, bv, b.shape, out, outShape);
    return output(backend, outShape, out);
  });
}

/** AddN: sum of same-shape tensors (tfjs accumulates gradients of shared variables with it). */
function addNKernel(backendName: string): KernelConfig {
  const add = BINARY_OPS.indexOf('Add');
  return nativeOrCpu('AddN', backendName, ({ inputs, backend }) => {
    const tensors = Object.values(inputs) as TensorInfo[];
    if (tensors.length === 0) return null;
    const shape = tensors[0].shape;
    const values = tensors.map((t) => f32(backend, t));
    if (values.some((v) => v == null) || tensors.some((t) => t.shape.join() !== shape.join())) return null;
    const out = alloc(backend, sizeOf(shape));
    out.set(values[0] as Float32Array);
    // out = out + x_i in place: same shapes, so each element is read before it is written.
    for (let i = 1; i < values.length; i++) addon.binary(add, out, shape, values[i] as Float32Array, shape, out, shape);
    return output(backend, shape.slice(), out);
  });
}

export function elementwiseKernels(backendName: string): KernelConfig[] {
  return [
    ...UNARY_OPS.map((name) => unaryKernel(name, backendName)),
    ...BINARY_OPS.map((name) => binaryKernel(name, backendName)),
    addNKernel(backendName),
  ];
}
