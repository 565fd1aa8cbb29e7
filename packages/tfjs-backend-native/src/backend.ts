/**
 * The 'native' TensorFlow.js backend: the cpu backend's storage (tensors are Float32Arrays in
 * MathBackendCPU's DataStorage, so dataSync/read/memory/dispose behave exactly as on 'cpu') with the
 * hot kernels of a ViT training step replaced by the C++ addon. Every other kernel is the cpu
 * backend's own, re-registered under 'native'.
 */
import '@tensorflow/tfjs-backend-cpu'; // registers 'cpu' and its kernels, which 'native' inherits
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { DataType, KernelConfig, KernelFunc, TensorInfo, backend_util, getKernelsForBackend, registerBackend, registerKernel } from '@tensorflow/tfjs-core';
import type { DataId } from '@tensorflow/tfjs-core/dist/tensor_info';

import { addon } from './addon';
import { BufferPool } from './buffer-pool';
import { CoreShare, fixedThreadsFromEnv } from './core-share';
import { nativeKernelConfigs } from './kernels';

export const BACKEND_NAME = 'native';

/**
 * The pool's size follows this process's share of the cores (core-share.ts) unless BMAE_THREADS or
 * setThreads() fixed it. One per process, like the addon's pool.
 */
const coreShare = new CoreShare({ fixedThreads: fixedThreadsFromEnv(), apply: (threads) => addon.setThreads(threads) });

/**
 * MathBackendCPU whose native kernels draw their outputs from a BufferPool (see buffer-pool.ts for
 * why and for the rules that keep recycling invisible to callers).
 */
export class NativeBackend extends MathBackendCPU {
  readonly pool = new BufferPool();

  constructor() {
    super();
    // The cpu backend's banner suggests tfjs-node; this backend is the replacement, so it would mislead.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** An output buffer of n float32 values, contents unspecified (the kernel overwrites all of it). */
  allocFloat32(n: number): Float32Array {
    // Between kernels (a kernel asks for its output before it computes): the place to resize the pool.
    coreShare.tick();
    return this.pool.take(n);
  }

  /** A float32 tensor over `values` from allocFloat32, which it now owns. */
  makeOwnedTensorInfo(shape: number[], values: Float32Array): TensorInfo {
    const info = this.makeTensorInfo(shape, 'float32', values);
    this.pool.adopt(info.dataId, values);
    return info;
  }

  /** Copies out any output that aliases a buffer owned by another tensor (e.g. a cpu kernel's subarray view). */
  unshare(outputs: TensorInfo | TensorInfo[]): void {
    for (const out of Array.isArray(outputs) ? outputs : [outputs]) {
      if (out == null || !this.data.has(out.dataId)) continue;
      const data = this.data.get(out.dataId);
      const values = data.values;
      if (this.pool.isOwned(values) && this.pool.ownerOf(values) !== out.dataId) data.values = values.slice();
    }
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const released = super.disposeData(dataId, force);
    if (released && this.pool.isOwned(values) && this.pool.ownerOf(values) === dataId) this.pool.release(values);
    return released;
  }

  /** A new tensor made from another tensor's pooled buffer (read without a copy) gets its own copy. */
  override write(values: backend_util.BackendValues, shape: number[], dtype: DataType): DataId {
    return super.write(this.pool.isOwned(values) ? values.slice() : values, shape, dtype);
  }

  /** Owned buffers are recycled after disposal, so callers get a copy they may keep. */
  override readSync(dataId: DataId): backend_util.BackendValues {
    const values = super.readSync(dataId);
    return this.pool.isOwned(values) ? values.slice() : values;
  }

  override dispose(): void {
    this.pool.clear();
    super.dispose();
  }
}

/** Wraps a kernel so that outputs aliasing another tensor's pooled buffer are copied (see NativeBackend.unshare). */
function unsharing(kernelFunc: KernelFunc): KernelFunc {
  return (args) => {
    const out = kernelFunc(args);
    if (args.backend instanceof NativeBackend) args.backend.unshare(out as TensorInfo | TensorInfo[]);
    return out;
  };
}

/**
 * Registers backend 'native' (priority 0: it is chosen explicitly with tf.setBackend('native'),
 * never silently) and its kernels: all cpu kernels, then the native ones over them.
 */
export function registerNativeBackend(): void {
  registerBackend(BACKEND_NAME, () => new NativeBackend(), 0);
  const native = nativeKernelConfigs(BACKEND_NAME);
  const replaced = new Set(native.map((k) => k.kernelName));
  for (const k of getKernelsForBackend('cpu')) {
    if (!replaced.has(k.kernelName)) registerKernel({ ...k, backendName: BACKEND_NAME, kernelFunc: unsharing(k.kernelFunc) } as KernelConfig);
  }
  // Native kernels too: their cpu fallbacks (other dtypes) may return views.
  for (const k of native) registerKernel({ ...k, kernelFunc: unsharing(k.kernelFunc) });
}

/**
 * Threads used by the kernels and the GEMM now: env BMAE_THREADS or setThreads() fix them; otherwise
 * this process's share of the cores among the host's native processes (all of them when alone).
 */
export function getThreads(): number {
  return addon.getThreads();
}

/** Whether the thread count follows the share of the cores (neither BMAE_THREADS nor setThreads() fixed it). */
export function threadsShared(): boolean {
  return coreShare.shared;
}

/** Fixes the thread count of the pool and of the GEMM (>= 1), for the rest of the process. */
export function setThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`setThreads: threads must be an integer >= 1, got ${threads}`);
  coreShare.fix(threads);
  addon.setThreads(threads);
}

/**
 * OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Cooperlake MAX_THREADS=64"; in a build
 * without OpenBLAS, gemmInfo().
 */
export function blasConfig(): string {
  return addon.blasConfig();
}

/**
 * Which GEMM the matmul kernels use: "openblas <its config>" or "builtin <isa> <MRxNR> (<blocking>)",
 * e.g. "builtin avx512 12x32 (kc 256, mc 192, nc 4096)". Chosen when the addon is built (BMAE_NATIVE_BLAS);
 * the built-in one's ISA when it loads (BMAE_GEMM_ISA picks a lesser one).
 */
export function gemmInfo(): string {
  return addon.gemmInfo();
}
