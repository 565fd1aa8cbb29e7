/**
 * The 'native' TensorFlow.js backend: the cpu backend's storage (tensors are Float32Arrays in
 * MathBackendCPU's DataStorage, so dataSync/read/memory/dispose behave exactly as on 'cpu') with the
 * hot kernels of a ViT training step replaced by the C++ addon. Every other kernel is the cpu
 * backend's own, re-registered under 'native'.
 */
import '@tensorflow/tfjs-backend-cpu'; // registers 'cpu' and its kernels, which 'native' inherits
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { KernelConfig, getKernelsForBackend, registerBackend, registerKernel } from '@tensorflow/tfjs-core';

import { addon } from './addon';
import { nativeKernelConfigs } from './kernels';

export const BACKEND_NAME = 'native';

/** MathBackendCPU with the cpu backend's Node.js "install tfjs-node" banner switched off. */
export class NativeBackend extends MathBackendCPU {
  constructor() {
    super();
    // The banner suggests tfjs-node; this backend is the replacement, so the hint would mislead.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }
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
    if (!replaced.has(k.kernelName)) registerKernel({ ...k, backendName: BACKEND_NAME } as KernelConfig);
  }
  for (const k of native) registerKernel(k);
}

/** Threads used by the kernels and OpenBLAS (env BMAE_THREADS, default: all cores). */
export function getThreads(): number {
  return addon.getThreads();
}

/** Changes the thread count of the pool and of OpenBLAS (>= 1). */
export function setThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`setThreads: threads must be an integer >= 1, got ${threads}`);
  addon.setThreads(threads);
}

/** OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Cooperlake MAX_THREADS=64". */
export function blasConfig(): string {
  return addon.blasConfig();
}
