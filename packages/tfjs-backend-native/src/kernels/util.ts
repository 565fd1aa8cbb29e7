/**
 * Helpers shared by the native kernels: reading a tensor's Float32Array without a copy, making
 * outputs, and falling back to the cpu backend's kernel for anything the native code does not
 * handle (other dtypes, complex tensors, unusual attributes).
 */
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo, getKernel, util } from '@tensorflow/tfjs-core';

export type CpuLikeBackend = MathBackendCPU;

/** The arguments tfjs passes to a kernel function. */
export interface KernelArgs<A = NamedAttrMap> {
  /** Typed as always present: tfjs checks required inputs; optional ones (bias) are tested for null. */
  inputs: Record<string, TensorInfo>;
  backend: CpuLikeBackend;
  attrs: A;
}

/** The tensor's values when it is a float32 tensor stored as a Float32Array, else null. */
export function f32(backend: CpuLikeBackend, t: TensorInfo | undefined): Float32Array | null {
  if (t == null || t.dtype !== 'float32') return null;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array ? values : null;
}

/** What NativeBackend adds to MathBackendCPU for outputs (duck-typed: kernels may also run on a plain cpu backend). */
interface PooledBackend {
  allocFloat32(n: number): Float32Array;
  makeOwnedTensorInfo(shape: number[], values: Float32Array): TensorInfo;
}

const isPooled = (backend: CpuLikeBackend): backend is CpuLikeBackend & PooledBackend =>
  typeof (backend as Partial<PooledBackend>).allocFloat32 === 'function';

/** An output buffer of n values with UNSPECIFIED contents (recycled): the kernel must write all of it. */
export function alloc(backend: CpuLikeBackend, n: number): Float32Array {
  return isPooled(backend) ? backend.allocFloat32(n) : new Float32Array(n);
}

/** A float32 output tensor over `values` from alloc() (no copy; the tensor owns the buffer). */
export function output(backend: CpuLikeBackend, shape: number[], values: Float32Array): TensorInfo {
  return isPooled(backend) ? backend.makeOwnedTensorInfo(shape, values) : backend.makeTensorInfo(shape, 'float32', values);
}

/** Contiguous row-major strides of a shape (elements). */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export const sizeOf = (shape: readonly number[]): number => util.sizeFromShape(shape as number[]);

/** The cpu backend's implementation of a kernel (looked up when called, so registration order does not matter). */
export function cpuKernel(kernelName: string): KernelFunc {
  const config = getKernel(kernelName, 'cpu');
  if (config == null) throw new Error(`@bmae/tfjs-backend-native: the cpu backend has no kernel '${kernelName}' to fall back to`);
  return config.kernelFunc;
}

/**
 * A kernel config for `backendName` that runs `native` and, when it returns null (input it does
 * not handle), the cpu kernel of the same name.
 */
export function nativeOrCpu<A extends object>(
  kernelName: string,
  backendName: string,
  native: (args: KernelArgs<A>) => TensorInfo | TensorInfo[] | null,
): KernelConfig {
  const kernelFunc = (args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap }) => {
    const result = native(args as unknown as KernelArgs<A>);
    return result ?? cpuKernel(kernelName)(args as Parameters<KernelFunc>[0]);
  };
  return { kernelName, backendName, kernelFunc: kernelFunc as KernelFunc };
}
