/**
 * ViT classifier for fine-tuning and linear probing, as MAE's models_vit.py (timm VisionTransformer):
 * the un-masked encoder, then either the CLS token after `norm` or the mean of the patch tokens
 * after `fc_norm` (global_pool), then a linear `head`. Stochastic depth (drop path, Huang et al. 2016)
 * with rates linear in depth, 0 .. dropPathRate, as timm; masks drawn from a seeded Rng on the host.
 * Head init: normal(std headInitStd), MAE fine-tuning uses trunc_normal_(std=2e-5), whose +-2 cut-off
 * never applies at that std.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@bmae/data';
import type { EncoderConfig } from './config';
import { layerNorm, linear, type DropPathScales } from './layers';
import { forwardFeatures, type CheckpointOptions } from './mae';
import { createEncoderParams, type Params, type TensorMap } from './params';

export interface ClassifierConfig {
  numClasses: number;
  /** true: mean of patch tokens + fc_norm (MAE fine-tune default); false: CLS token after norm. */
  globalPool: boolean;
  /** Stochastic depth rate of the last block (MAE fine-tune: 0.1); 0 disables it. */
  dropPathRate: number;
}

/** MAE fine-tuning's head init std. */
export const HEAD_INIT_STD = 2e-5;

/** timm's per-block drop-path rates: linspace(0, rate, depth). */
export function dropPathRates(depth: number, rate: number): number[] {
  return Array.from({ length: depth }, (_, i) => (depth === 1 ? 0 : (rate * i) / (depth - 1)));
}

/**
 * Encoder (+ fc_norm when pooling) + head, freshly initialised; load pre-trained encoder weights into
 * it by name afterwards (the head and fc_norm stay new, as in MAE fine-tuning).
 */
export function createClassifierParams(encoder: EncoderConfig, classifier: ClassifierConfig, rng: Rng, headInitStd = HEAD_INIT_STD): Params {
  const params = createEncoderParams(encoder, rng, { finalNorm: classifier.globalPool ? 'fc_norm' : 'norm' });
  const headRng = rng.fork('head.weight');
  const weight = headRng.fillNormal(new Float32Array(encoder.width * classifier.numClasses), 0, headInitStd);
  params.set('head.weight', tf.tidy(() => tf.variable(tf.tensor2d(weight, [encoder.width, classifier.numClasses]), true)));
  params.set('head.bias', tf.tidy(() => tf.variable(tf.zeros([classifier.numClasses]), true)));
  return params;
}

/**
 * Draws one batch's stochastic-depth scales: per block and branch, per sample, 0 with probability
 * rate or 1 / (1 - rate) otherwise (timm drop_path, scale_by_keep). Blocks with rate 0 get ones.
 * @returns per block { attn, mlp } each [N, 1, 1]; caller disposes (or calls inside tidy)
 */
export function sampleDropPath(rng: Rng, batch: number, rates: number[]): DropPathScales[] {
  const draw = (rate: number) => {
    const values = new Float32Array(batch);
    const keep = 1 - rate;
    for (let i = 0; i < batch; i++) values[i] = rate > 0 && rng.uniform() < rate ? 0 : 1 / keep;
    return tf.tensor3d(values, [batch, 1, 1]);
  };
  return rates.map((rate) => ({ attn: draw(rate), mlp: draw(rate) }));
}

/**
 * The classifier's pooled representation (what the head sees).
 * @param imgs [N, H, W, C] normalised images
 * @param dropPath per-block scales from sampleDropPath (training) or undefined (evaluation)
 * @returns [N, D]
 */
export function forwardPooled(
  params: TensorMap,
  encoder: EncoderConfig,
  globalPool: boolean,
  imgs: tf.Tensor4D,
  dropPath?: DropPathScales[],
  options: CheckpointOptions = {},
): tf.Tensor2D {
  return tf.tidy(() => {
    if (globalPool) {
      const tokens = forwardFeatures(params, encoder, imgs, { beforeNorm: true, dropPath, checkpoint: options.checkpoint });
      const pooled = tf.mean(tf.slice(tokens, [0, 1, 0], [-1, -1, -1]), 1); // [N, D], CLS excluded
      return layerNorm(params, 'fc_norm', pooled, encoder.layerNormEps) as tf.Tensor2D;
    }
    const tokens = forwardFeatures(params, encoder, imgs, { dropPath, checkpoint: options.checkpoint });
    return tf.reshape(tf.slice(tokens, [0, 0, 0], [-1, 1, -1]), [tokens.shape[0], tokens.shape[2]]) as tf.Tensor2D;
  });
}

/**
 * Class logits. With `training.rng`, stochastic depth is drawn from it at config.dropPathRate.
 * @param imgs [N, H, W, C] normalised images
 * @returns logits [N, numClasses]
 */
export function forwardClassifier(
  params: TensorMap,
  encoder: EncoderConfig,
  classifier: ClassifierConfig,
  imgs: tf.Tensor4D,
  training?: { rng: Rng },
  options: CheckpointOptions = {},
): tf.Tensor2D {
  return tf.tidy(() => {
    const dropPath =
      training && classifier.dropPathRate > 0
        ? sampleDropPath(training.rng, imgs.shape[0], dropPathRates(encoder.depth, classifier.dropPathRate))
        : undefined;
    const pooled = forwardPooled(params, encoder, classifier.globalPool, imgs, dropPath, options);
    return linear(params, 'head', pooled) as tf.Tensor2D;
  });
}
