/**
 * AdamW (Loshchilov & Hutter 2019, decoupled weight decay), step for step as torch.optim.AdamW
 * (single-tensor path, amsgrad off):
 *   p <- p * (1 - lr * wd)
 *   m <- beta1 m + (1 - beta1) g;  v <- beta2 v + (1 - beta2) g^2
 *   p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * with MAE's pre-training betas (0.9, 0.95). Each parameter has its own weight decay and lr scale
 * (param-groups.ts). The moments are non-trainable tf.Variables keyed like PyTorch's state
 * (`exp_avg/<name>`, `exp_avg_sq/<name>`) so a checkpoint stores and restores them exactly; every
 * update is an `assign` inside `tf.tidy`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParamGroup } from './param-groups';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export interface AdamWState {
  /** optimiser steps taken (t in the bias corrections) */
  step: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private stepCount = 0;
  private readonly expAvg = new Map<string, tf.Variable>();
  private readonly expAvgSq = new Map<string, tf.Variable>();

  /**
   * @param params the trainable parameters, by PyTorch name
   * @param groups weight decay and lr scale per parameter (every name in `params`)
   */
  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    private readonly groups: ReadonlyMap<string, ParamGroup>,
    { beta1 = 0.9, beta2 = 0.95, eps = 1e-8 }: AdamWOptions = {},
  ) {
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    for (const [name, param] of params) {
      if (!groups.has(name)) throw new Error(`AdamW: no parameter group for "${name}"`);
      // tidy frees the zeros tensor; the variable keeps its data alive.
      this.expAvg.set(name, tf.tidy(() => tf.variable(tf.zerosLike(param), false)));
      this.expAvgSq.set(name, tf.tidy(() => tf.variable(tf.zerosLike(param), false)));
    }
  }

  get step(): number {
    return this.stepCount;
  }

  /**
   * One update. Parameters without a gradient are left alone (as PyTorch skips p.grad is None).
   * @param grads gradient per parameter name, same shapes as the parameters
   * @param lr the base lr of this step (each parameter uses lr * lrScale)
   */
  applyGradients(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    for (const name of grads.keys()) if (!this.params.has(name)) throw new Error(`AdamW: gradient for unknown parameter "${name}"`);
    this.stepCount++;
    const t = this.stepCount;
    const { beta1, beta2, eps } = this;
    const biasCorrection1 = 1 - beta1 ** t;
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** t);
    tf.tidy(() => {
      for (const [name, param] of this.params) {
        const grad = grads.get(name);
        if (!grad) continue;
        const { weightDecay, lrScale } = this.groups.get(name)!;
        const groupLr = lr * lrScale;
        const m = this.expAvg.get(name)!;
        const v = this.expAvgSq.get(name)!;
        const newM = tf.add(tf.mul(m, beta1), tf.mul(grad, 1 - beta1));
        const newV = tf.add(tf.mul(v, beta2), tf.mul(tf.square(grad), 1 - beta2));
        m.assign(newM);
        v.assign(newV);
        const decayed = weightDecay === 0 ? param : tf.mul(param, 1 - groupLr * weightDecay);
        const denom = tf.add(tf.div(tf.sqrt(newV), biasCorrection2Sqrt), eps);
        param.assign(tf.sub(decayed, tf.mul(tf.div(newM, denom), groupLr / biasCorrection1)));
      }
    });
  }

  state(): AdamWState {
    return { step: this.stepCount, beta1: this.beta1, beta2: this.beta2, eps: this.eps };
  }

  /** The moments, keyed `exp_avg/<name>` and `exp_avg_sq/<name>` (for checkpoints). */
  moments(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [name, m] of this.expAvg) out.set(`exp_avg/${name}`, m);
    for (const [name, v] of this.expAvgSq) out.set(`exp_avg_sq/${name}`, v);
    return out;
  }

  /** Restores what `state()` and `moments()` saved; every moment must be present with its shape. */
  restore(state: AdamWState, moments: ReadonlyMap<string, tf.Tensor>): void {
    if (state.beta1 !== this.beta1 || state.beta2 !== this.beta2 || state.eps !== this.eps) {
      throw new Error(`AdamW: saved betas/eps (${state.beta1}, ${state.beta2}, ${state.eps}) differ from (${this.beta1}, ${this.beta2}, ${this.eps})`);
    }
    for (const [key, variable] of this.moments()) {
      const saved = moments.get(key);
      if (!saved) throw new Error(`AdamW: the checkpoint lacks optimiser moment "${key}"`);
      if (saved.shape.join(',') !== variable.shape.join(',')) {
        throw new Error(`AdamW: moment "${key}" has shape [${saved.shape}], expected [${variable.shape}]`);
      }
    }
    tf.tidy(() => {
      for (const [key, variable] of this.moments()) variable.assign(tf.clone(moments.get(key)!));
    });
    this.stepCount = state.step;
  }

  dispose(): void {
    for (const variable of this.moments().values()) variable.dispose();
    this.expAvg.clear();
    this.expAvgSq.clear();
  }
}
