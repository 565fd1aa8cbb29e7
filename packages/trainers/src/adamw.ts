/**
 * AdamW (Loshchilov & Hutter 2019, decoupled weight decay), step for step as torch.optim.AdamW
 * (single-tensor path, amsgrad off):
 *   p <- p * (1 - lr * wd)
 *   m <- beta1 m + (1 - beta1) g;  v <- beta2 v + (1 - beta2) g^2
 *   p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * with MAE's pre-training betas (0.9, 0.95). Each parameter has its own weight decay and lr scale
 * (param-groups.ts). The moments are keyed like PyTorch's state (`exp_avg/<name>`,
 * `exp_avg_sq/<name>`) so a checkpoint stores and restores them exactly. The per-parameter
 * arithmetic runs in an AdamWKernel (adamw-kernels.ts): tfjs ops, or one native call per
 * parameter on the 'native' backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { chooseAdamWKernel, type AdamWKernelName, type ParamMoments } from './adamw-kernels';
import type { ParamGroup } from './param-groups';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** 'auto' (default): native on the 'native' backend, tfjs ops elsewhere */
  kernel?: AdamWKernelName | 'auto';
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
  /** which kernel computes the updates */
  readonly kernel: AdamWKernelName;
  private stepCount = 0;
  private readonly slots = new Map<string, ParamMoments>();

  /**
   * @param params the trainable parameters, by PyTorch name
   * @param groups weight decay and lr scale per parameter (every name in `params`)
   */
  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    private readonly groups: ReadonlyMap<string, ParamGroup>,
    { beta1 = 0.9, beta2 = 0.95, eps = 1e-8, kernel = 'auto' }: AdamWOptions = {},
  ) {
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    for (const name of params.keys()) if (!groups.has(name)) throw new Error(`AdamW: no parameter group for "${name}"`);
    const chosen = chooseAdamWKernel(kernel);
    this.kernel = chosen.name;
    for (const [name, param] of params) this.slots.set(name, chosen.createMoments(param));
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
    const { beta1, beta2, eps, stepCount: step } = this;
    for (const [name, param] of this.params) {
      const grad = grads.get(name);
      if (!grad) continue;
      const { weightDecay, lrScale } = this.groups.get(name)!;
      this.slots.get(name)!.update(param, grad, { lr: lr * lrScale, weightDecay, beta1, beta2, eps, step });
    }
  }

  state(): AdamWState {
    return { step: this.stepCount, beta1: this.beta1, beta2: this.beta2, eps: this.eps };
  }

  /**
   * A snapshot of the moments, keyed `exp_avg/<name>` and `exp_avg_sq/<name>` (for checkpoints):
   * fresh tensors that later steps do not change; the caller disposes them.
   */
  moments(): Map<string, tf.Tensor> {
    const m = new Map<string, tf.Tensor>();
    const v = new Map<string, tf.Tensor>();
    for (const [name, slot] of this.slots) {
      const snapshot = slot.snapshot();
      m.set(`exp_avg/${name}`, snapshot.m);
      v.set(`exp_avg_sq/${name}`, snapshot.v);
    }
    return new Map([...m, ...v]);
  }

  /** Restores what `state()` and `moments()` saved; every moment must be present with its shape. */
  restore(state: AdamWState, moments: ReadonlyMap<string, tf.Tensor>): void {
    if (state.beta1 !== this.beta1 || state.beta2 !== this.beta2 || state.eps !== this.eps) {
      throw new Error(`AdamW: saved betas/eps (${state.beta1}, ${state.beta2}, ${state.eps}) differ from (${this.beta1}, ${this.beta2}, ${this.eps})`);
    }
    for (const [name, param] of this.params) {
      for (const key of [`exp_avg/${name}`, `exp_avg_sq/${name}`]) {
        const saved = moments.get(key);
        if (!saved) throw new Error(`AdamW: the checkpoint lacks optimiser moment "${key}"`);
        if (saved.shape.join(',') !== param.shape.join(',')) {
          throw new Error(`AdamW: moment "${key}" has shape [${saved.shape}], expected [${param.shape}]`);
        }
      }
    }
    for (const [name, slot] of this.slots) slot.load(moments.get(`exp_avg/${name}`)!, moments.get(`exp_avg_sq/${name}`)!);
    this.stepCount = state.step;
  }

  dispose(): void {
    this.slots.forEach((slot) => slot.dispose());
    this.slots.clear();
  }
}
