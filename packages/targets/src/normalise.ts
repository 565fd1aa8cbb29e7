/**
 * Normalisations applied to a target before the loss.
 *
 * - normPixels: MAE's norm_pix_loss (He et al. 2022, models_mae.py forward_loss): per patch,
 *   (x - mean) / sqrt(var + 1e-6) with torch's default UNBIASED variance.
 * - feature 'layernorm': LayerNorm without affine over each token's D features (BootMAE, Dong et
 *   al. 2022; data2vec, Baevski et al. 2022), biased variance, eps 1e-6.
 * - feature 'instancenorm': each feature channel standardised over the L tokens of its image
 *   (data2vec's instance_norm over the time axis), biased variance, eps 1e-6.
 * - 'none': raw tokens.
 */
import * as tf from '@tensorflow/tfjs-core';

export const TARGET_NORM_EPS = 1e-6;

export type FeatureNorm = 'layernorm' | 'instancenorm' | 'none';

/** @param patches [N, L, K] -> [N, L, K] per-patch standardised (unbiased variance, as torch.var) */
export function normPixels(patches: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const k = patches.shape[2];
    if (k < 2) throw new Error(`normPixels needs at least 2 values per patch, got ${k}`);
    const mean = tf.mean(patches, -1, true);
    const centred = tf.sub(patches, mean);
    const unbiasedVar = tf.div(tf.sum(tf.square(centred), -1, true), k - 1);
    return tf.div(centred, tf.sqrt(tf.add(unbiasedVar, TARGET_NORM_EPS))) as tf.Tensor3D;
  });
}

/** @param tokens [N, L, D] -> [N, L, D] normalised as `norm` says */
export function normaliseFeatures(tokens: tf.Tensor3D, norm: FeatureNorm): tf.Tensor3D {
  if (norm === 'none') return tf.clone(tokens);
  const axis = norm === 'layernorm' ? 2 : 1;
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(tokens, axis, true);
    return tf.div(tf.sub(tokens, mean), tf.sqrt(tf.add(variance, TARGET_NORM_EPS))) as tf.Tensor3D;
  });
}
