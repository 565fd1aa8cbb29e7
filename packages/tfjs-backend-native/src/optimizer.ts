/**
 * AdamW in one native call per parameter (tfjs's AdamOptimizer runs ~10 kernels per variable).
 * Decoupled weight decay: Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (ICLR 2019);
 * order of operations as PyTorch's torch.optim.AdamW:
 *   p <- p * (1 - lr * wd)
 *   m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
 *   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * With wd = 0 this is exactly tf.train.adam's update.
 *
 * Works on any cpu-like backend ('native', 'cpu'): the moments are plain Float32Arrays owned by the
 * caller (easy to checkpoint) and updated in place; the parameter gets a fresh buffer through
 * `variable.assign` (never written in place: other tensors, e.g. slices, may share its buffer).
 */
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { Tensor, Variable, backend as currentBackend, tensor, tidy } from '@tensorflow/tfjs-core';

import { addon } from './addon';

export interface AdamWHyper {
  learningRate: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999 (MAE pre-training uses 0.95). */
  beta2?: number;
  /** Default 1e-8. */
  epsilon?: number;
  /** Decoupled weight decay, default 0. */
  weightDecay?: number;
}

/** First and second moments of one parameter, same length as the parameter. */
export interface AdamWMoments {
  m: Float32Array;
  v: Float32Array;
}

function valuesOf(t: Tensor, what: string): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`adamWUpdate: ${what} must be float32, got ${t.dtype}`);
  const b = currentBackend() as unknown as Partial<MathBackendCPU>;
  const stored = b.data?.has(t.dataId) ? b.data.get(t.dataId).values : undefined;
  // On cpu-like backends the stored Float32Array is read without a copy; elsewhere dataSync copies.
  return stored instanceof Float32Array ? stored : (t.dataSync() as Float32Array);
}

/**
 * One AdamW step for one parameter. `step` is the 1-based step count (for bias correction).
 * @param variable the parameter, float32, any shape
 * @param grad its gradient, same shape
 * @param moments its moments (start with zeros), updated in place
 */
export function adamWUpdate(variable: Variable, grad: Tensor, moments: AdamWMoments, step: number, hyper: AdamWHyper): void {
  const { learningRate, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weightDecay = 0 } = hyper;
  if (!Number.isInteger(step) || step < 1) throw new Error(`adamWUpdate: step must be an integer >= 1, got ${step}`);
  if (grad.shape.join() !== variable.shape.join()) {
    throw new Error(`adamWUpdate: gradient of '${variable.name}' has shape [${grad.shape}], the variable [${variable.shape}]`);
  }
  const n = variable.size;
  if (moments.m.length !== n || moments.v.length !== n) {
    throw new Error(`adamWUpdate: moments of '${variable.name}' have ${moments.m.length}/${moments.v.length} values, the variable ${n}`);
  }
  const param = valuesOf(variable, `variable '${variable.name}'`);
  const g = valuesOf(grad, `gradient of '${variable.name}'`);
  const next = new Float32Array(n);
  addon.adamW(param, moments.m, moments.v, g, next, moments.m, moments.v, learningRate, beta1, beta2, epsilon, weightDecay,
    1 - beta1 ** step, 1 - beta2 ** step);
  tidy(() => variable.assign(tensor(next, variable.shape, 'float32')));
}

/** Zero moments for a variable. */
export function zeroMoments(variable: Variable): AdamWMoments {
  return { m: new Float32Array(variable.size), v: new Float32Array(variable.size) };
}
