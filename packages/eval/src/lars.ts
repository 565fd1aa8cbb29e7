/**
 * LARS (You et al. 2017), exactly as MAE's util/lars.py used by its linear probe: for parameters
 * with more than one dimension, the update g + wd * p is scaled by the trust ratio
 * trust_coefficient * ||p|| / ||g + wd * p|| (1 when either norm is 0); biases and norms are not
 * scaled and get no decay. Then heavy-ball momentum: mu = momentum * mu + update; p -= lr * mu.
 * The momentum buffers are non-trainable variables updated with `assign` inside `tf.tidy`.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface LarsOptions {
  momentum?: number;
  weightDecay?: number;
  trustCoefficient?: number;
}

export class Lars {
  private readonly mu = new Map<string, tf.Variable>();
  readonly momentum: number;
  readonly weightDecay: number;
  readonly trustCoefficient: number;

  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    { momentum = 0.9, weightDecay = 0, trustCoefficient = 0.001 }: LarsOptions = {},
  ) {
    this.momentum = momentum;
    this.weightDecay = weightDecay;
    this.trustCoefficient = trustCoefficient;
    for (const [name, p] of params) this.mu.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  }

  applyGradients(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g = grads.get(name);
        if (!g) continue;
        let dp: tf.Tensor = g;
        if (p.rank > 1) {
          dp = tf.add(dp, tf.mul(p, this.weightDecay));
          const paramNorm = tf.norm(p);
          const updateNorm = tf.norm(dp);
          const ratio = tf.div(tf.mul(paramNorm, this.trustCoefficient), updateNorm);
          const q = tf.where(tf.logicalAnd(tf.greater(paramNorm, 0), tf.greater(updateNorm, 0)), ratio, tf.onesLike(ratio));
          dp = tf.mul(dp, q);
        }
        const mu = this.mu.get(name)!;
        const newMu = tf.add(tf.mul(mu, this.momentum), dp);
        mu.assign(newMu);
        p.assign(tf.sub(p, tf.mul(newMu, lr)));
      }
    });
  }

  dispose(): void {
    for (const v of this.mu.values()) v.dispose();
    this.mu.clear();
  }
}
