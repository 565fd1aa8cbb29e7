/** All native kernel configs, for one backend name. */
import { KernelConfig } from '@tensorflow/tfjs-core';

import { elementwiseKernels } from './elementwise';
import { fusedKernels } from './fused';
import { layoutKernels } from './layout';
import { matMulKernels } from './matmul';
import { reduceKernels } from './reduce';

export function nativeKernelConfigs(backendName: string): KernelConfig[] {
  return [...matMulKernels(backendName), ...elementwiseKernels(backendName), ...reduceKernels(backendName), ...layoutKernels(backendName), ...fusedKernels(backendName)];
}
