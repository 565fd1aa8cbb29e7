/**
 * Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_ (used by MAE's NativeScaler
 * when --clip_grad is set): scale all gradients by min(1, maxNorm / (norm + 1e-6)). The factor
 * stays on the device: no host read-back per step.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * @returns the clipped gradients (new tensors) and the global L2 norm before clipping (a scalar
 * tensor the caller reads only when it logs)
 */
export function clipGradNorm(grads: ReadonlyMap<string, tf.Tensor>, maxNorm: number): { grads: Map<string, tf.Tensor>; norm: tf.Scalar } {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const names = [...grads.keys()];
  // tidy keeps tensors returned in arrays and plain objects, not in Maps: build the Map outside.
  const { clipped, norm } = tf.tidy(() => {
    const norm = globalNorm(grads);
    const factor = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
    return { clipped: names.map((name) => tf.mul(grads.get(name)!, factor)), norm };
  });
  return { grads: new Map(names.map((name, i) => [name, clipped[i]])), norm };
}

/** sqrt of the sum of squares of every gradient. */
export function globalNorm(grads: ReadonlyMap<string, tf.Tensor>): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}
