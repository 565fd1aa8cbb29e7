/**
 * Fused kernels a backend may provide for LayerNorm, GELU and self-attention (the native backend does, in C++; see
 * @bmae/tfjs-backend-native's kernels/fused.ts for the names' inputs and outputs). The model asks
 * the kernel registry, never which backend it is on: where the active backend registers a kernel,
 * the op runs it; elsewhere it runs its composite of plain tfjs ops.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Kernel names: the contract with backends (tfjs-backend-native registers the same strings). */
export const FUSED_KERNEL_NAMES = {
  layerNorm: 'BmaeLayerNorm',
  layerNormGrad: 'BmaeLayerNormGrad',
  gelu: 'BmaeGelu',
  geluGrad: 'BmaeGeluGrad',
  attention: 'BmaeAttention',
  attentionGrad: 'BmaeAttentionGrad',
} as const;

export type FusedKernel = keyof typeof FUSED_KERNEL_NAMES;

/** True when the active backend registers this fused kernel (looked up per call: backends can change). */
export function hasFusedKernel(kernel: FusedKernel): boolean {
  return tf.getKernel(FUSED_KERNEL_NAMES[kernel], tf.getBackend()) != null;
}

/** Runs a fused kernel on tensors (outputs as tf.Tensors, owned by the caller's scope). */
export function runFused(kernel: FusedKernel, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}): tf.Tensor[] {
  const out = tf.engine().runKernel(FUSED_KERNEL_NAMES[kernel], inputs as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap);
  return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
}
