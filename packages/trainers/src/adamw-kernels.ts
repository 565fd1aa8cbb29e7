/**
 * How one parameter's AdamW update is computed: the arithmetic of adamw.ts (torch.optim.AdamW's
 * single-tensor path; Loshchilov & Hutter 2019), carried out either with tfjs kernels (any backend,
 * ~10 small kernel calls per parameter) or, on the 'native' backend, in one call of
 * @bmae/tfjs-backend-native's `adamWUpdate`. The choice is made once per optimiser
 * (`chooseAdamWKernel`); the optimiser itself never branches on the backend.
 *
 * @bmae/tfjs-backend-native is an optional dependency (its C++ addon may not build on a user's
 * machine), so it is loaded with a plain `require` only when the native kernel is chosen.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AdamWMoments, adamWUpdate } from '@bmae/tfjs-backend-native';

export const ADAMW_KERNEL_NAMES = ['tfjs', 'native'] as const;
export type AdamWKernelName = (typeof ADAMW_KERNEL_NAMES)[number];

/** Everything one parameter's update needs besides its tensors. */
export interface AdamWStepHyper {
  /** this parameter's lr (base lr * lrScale) */
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based optimiser step, t in the bias corrections */
  step: number;
}

/** One parameter's first and second moments, in whatever storage the kernel uses. */
export interface ParamMoments {
  /** One AdamW step: updates the moments and assigns the new value to `param`. */
  update(param: tf.Variable, grad: tf.Tensor, hyper: AdamWStepHyper): void;
  /** Fresh tensors holding the current moments (the caller disposes them); later updates do not change them. */
  snapshot(): { m: tf.Tensor; v: tf.Tensor };
  /** Replaces the moments with copies of `m` and `v` (same shape as the parameter, checked by the caller). */
  load(m: tf.Tensor, v: tf.Tensor): void;
  dispose(): void;
}

export interface AdamWKernel {
  readonly name: AdamWKernelName;
  /** Zero moments for a parameter. */
  createMoments(param: tf.Variable): ParamMoments;
}

/** Moments as non-trainable tf.Variables; each update is a few tfjs ops and `assign`s in a tidy. */
export const tfjsAdamWKernel: AdamWKernel = {
  name: 'tfjs',
  createMoments(param) {
    // tidy frees the zeros tensors; the variables keep their data alive.
    const m = tf.tidy(() => tf.variable(tf.zerosLike(param), false));
    const v = tf.tidy(() => tf.variable(tf.zerosLike(param), false));
    return {
      update(p, grad, { lr, weightDecay, beta1, beta2, eps, step }) {
        const biasCorrection1 = 1 - beta1 ** step;
        const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
        tf.tidy(() => {
          const newM = tf.add(tf.mul(m, beta1), tf.mul(grad, 1 - beta1));
          const newV = tf.add(tf.mul(v, beta2), tf.mul(tf.square(grad), 1 - beta2));
          m.assign(newM);
          v.assign(newV);
          const decayed = weightDecay === 0 ? p : tf.mul(p, 1 - lr * weightDecay);
          const denom = tf.add(tf.div(tf.sqrt(newV), biasCorrection2Sqrt), eps);
          p.assign(tf.sub(decayed, tf.mul(tf.div(newM, denom), lr / biasCorrection1)));
        });
      },
      // Every update assigns new tensors, so a clone (which shares the current buffer) is a true snapshot.
      snapshot: () => ({ m: tf.clone(m), v: tf.clone(v) }),
      load(savedM, savedV) {
        tf.tidy(() => {
          m.assign(tf.clone(savedM));
          v.assign(tf.clone(savedV));
        });
      },
      dispose() {
        m.dispose();
        v.dispose();
      },
    };
  },
};

type NativeOptimizer = { adamWUpdate: typeof adamWUpdate };

/**
 * Moments as Float32Arrays owned by the optimiser, updated in place by one native call per
 * parameter (PyTorch's order of operations, float32 arithmetic).
 */
export function nativeAdamWKernel(native: NativeOptimizer): AdamWKernel {
  return {
    name: 'native',
    createMoments(param) {
      let moments: AdamWMoments = { m: new Float32Array(param.size), v: new Float32Array(param.size) };
      return {
        update(p, grad, { lr, weightDecay, beta1, beta2, eps, step }) {
          native.adamWUpdate(p, grad, moments, step, { learningRate: lr, beta1, beta2, epsilon: eps, weightDecay });
        },
        // Copies: the arrays keep changing in place.
        snapshot: () => ({ m: tf.tensor(moments.m.slice(), param.shape, 'float32'), v: tf.tensor(moments.v.slice(), param.shape, 'float32') }),
        load(savedM, savedV) {
          // dataSync may return a tensor's own storage: copy before it is written in place.
          moments = { m: Float32Array.from(savedM.dataSync()), v: Float32Array.from(savedV.dataSync()) };
        },
        dispose() {
          moments = { m: new Float32Array(0), v: new Float32Array(0) };
        },
      };
    },
  };
}

function loadNative(): NativeOptimizer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@bmae/tfjs-backend-native') as NativeOptimizer;
}

/**
 * The strategy choice: `'native'` when asked, or by default when the active backend is 'native'
 * (its addon is then loaded already); `'tfjs'` otherwise. Forcing `'native'` when the addon cannot
 * load is an error naming the reason.
 * @param requested 'auto' (default), 'tfjs' or 'native'
 */
export function chooseAdamWKernel(requested: AdamWKernelName | 'auto' = 'auto'): AdamWKernel {
  if (requested === 'tfjs') return tfjsAdamWKernel;
  if (requested === 'auto' && tf.getBackend() !== 'native') return tfjsAdamWKernel;
  try {
    return nativeAdamWKernel(loadNative());
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new Error(`AdamW: the native kernel was requested but @bmae/tfjs-backend-native cannot load: ${reason}`);
  }
}
