/**
 * A target encoder: a non-trainable copy of the online encoder's weights that produces per-patch
 * feature targets from full images. It changes only through `copyFrom` (MAE-K, end of EMA warm-up)
 * and `emaUpdate` (EMA-MAE: target = (1 - tau) * target + tau * online, Bootstrap-MAE report
 * section 5; the same update as BYOL's target network, Grill et al. 2020), both `assign`s inside
 * `tf.tidy` so the variables keep their identity and nothing leaks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { normaliseFeatures, type FeatureNorm } from './normalise';
import type { EncoderAccess } from './target';

export interface FeatureOptions {
  norm: FeatureNorm;
  /** 'afterNorm' = tokens after the encoder's final LayerNorm (MAE-K as specified) */
  tokens: 'afterNorm' | 'beforeNorm';
}

export class TargetEncoder {
  private constructor(private readonly params: Map<string, tf.Variable>) {}

  /** A new target encoder equal to `source` on `names` (non-trainable variables). */
  static copyOf(source: ReadonlyMap<string, tf.Tensor>, names: readonly string[]): TargetEncoder {
    const params = new Map<string, tf.Variable>();
    for (const name of names) {
      const value = source.get(name);
      if (!value) throw new Error(`cannot build a target encoder: parameter "${name}" is missing`);
      // tf.variable shares the (immutable) data of `value`; assign() later swaps it, never mutates it.
      params.set(name, tf.variable(value, false));
    }
    return new TargetEncoder(params);
  }

  get names(): string[] {
    return [...this.params.keys()];
  }

  /** The target weights (read-only use: checkpoints and monitors). */
  get variables(): ReadonlyMap<string, tf.Variable> {
    return this.params;
  }

  /** target := online, for every encoder parameter. */
  copyFrom(online: ReadonlyMap<string, tf.Tensor>): void {
    this.emaUpdate(online, 1);
  }

  /** target := (1 - tau) * target + tau * online; tau = 1 copies exactly, tau = 0 keeps. */
  emaUpdate(online: ReadonlyMap<string, tf.Tensor>, tau: number): void {
    if (!(tau >= 0 && tau <= 1)) throw new Error(`EMA tau must be in [0, 1], got ${tau}`);
    tf.tidy(() => {
      for (const [name, target] of this.params) {
        const source = online.get(name);
        if (!source) throw new Error(`EMA update: the online model has no parameter "${name}"`);
        if (tau === 1) target.assign(tf.clone(source));
        else if (tau !== 0) target.assign(tf.add(tf.mul(target, 1 - tau), tf.mul(source, tau)));
      }
    });
  }

  /**
   * Per-patch feature targets of full images (CLS dropped), in inference mode.
   * @param images [N, H, W, C] normalised
   * @returns [N, L, D] normalised as `options.norm` says
   */
  features(encoder: EncoderAccess, images: tf.Tensor4D, options: FeatureOptions): tf.Tensor3D {
    return tf.tidy(() => {
      const tokens = encoder.encode(this.params, images, { beforeNorm: options.tokens === 'beforeNorm' });
      const [n, tokenCount, width] = tokens.shape;
      const patchTokens = tf.slice(tokens, [0, 1, 0], [n, tokenCount - 1, width]);
      return normaliseFeatures(patchTokens, options.norm);
    });
  }

  dispose(): void {
    for (const variable of this.params.values()) variable.dispose();
    this.params.clear();
  }
}

/** Prefixes each parameter name with `<prefix>/` (how target weights are stored in a checkpoint). */
export function prefixed(prefix: string, params: ReadonlyMap<string, tf.Variable>): Map<string, tf.Variable> {
  return new Map([...params].map(([name, value]) => [`${prefix}/${name}`, value]));
}

/** The entries of `weights` saved under `<prefix>/`, with the prefix removed. */
export function unprefixed(prefix: string, weights: ReadonlyMap<string, tf.Tensor>): Map<string, tf.Tensor> {
  const start = `${prefix}/`;
  return new Map([...weights].filter(([name]) => name.startsWith(start)).map(([name, value]) => [name.slice(start.length), value]));
}
