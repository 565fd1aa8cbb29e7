/**
 * The masked autoencoder's forward pass in the paper's vocabulary (models_mae.py of He et al., 2022,
 * "Masked Autoencoders Are Scalable Vision Learners"): forwardEncoder, forwardDecoder, forwardLoss,
 * plus forwardFeatures, the un-masked encoder used by target encoders, classifiers and embeddings.
 * Every function is tidy: it returns new tensors the caller owns and leaves nothing else behind.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EncoderConfig, MaeConfig } from './config';
import { block, checkpointedBlock, layerNorm, linear, normaliseLastAxis, type DropPathScales } from './layers';
import { maskTensor, scatterMatrix, selectionMatrix, type Masking } from './masking';
import { param, predictionHeadName, type TensorMap } from './params';
import { patchify } from './patchify';

/** Eps of MAE's norm_pix_loss: target = (target - mean) / (var + 1e-6) ** 0.5. */
export const NORM_PIX_EPS = 1e-6;

function checkImages(imgs: tf.Tensor4D, encoder: EncoderConfig, where: string): void {
  const [, h, w, c] = imgs.shape;
  if (imgs.rank !== 4 || h !== encoder.imageSize || w !== encoder.imageSize || c !== encoder.channels) {
    throw new Error(
      `${where}: expected NHWC images [N, ${encoder.imageSize}, ${encoder.imageSize}, ${encoder.channels}], got [${imgs.shape}]`,
    );
  }
}

/** Patch embedding + position embedding of all patches. @returns [N, L, D] */
function embedPatches(params: TensorMap, encoder: EncoderConfig, imgs: tf.Tensor4D): tf.Tensor3D {
  const patches = patchify(imgs, encoder.patchSize);
  const posEmbed = param(params, 'pos_embed'); // [1, L+1, D]
  const patchPos = tf.slice(posEmbed, [0, 1, 0], [1, -1, -1]);
  return tf.add(linear(params, 'patch_embed.proj', patches), patchPos) as tf.Tensor3D;
}

/** Prepends cls_token + pos_embed[:, 0] to each sample. @param x [N, T, D] @returns [N, 1+T, D] */
function prependClsToken(params: TensorMap, x: tf.Tensor3D): tf.Tensor3D {
  const [n, , d] = x.shape;
  const clsPos = tf.slice(param(params, 'pos_embed'), [0, 0, 0], [1, 1, -1]);
  const cls = tf.broadcastTo(tf.add(param(params, 'cls_token'), clsPos), [n, 1, d]);
  return tf.concat([cls, x], 1) as tf.Tensor3D;
}

/** Options of every forward that may be differentiated. */
export interface CheckpointOptions {
  /**
   * Recompute each transformer block in the backward pass instead of keeping its intermediates
   * (activation checkpointing): same values and gradients, about a third more compute, and a training
   * step's memory no longer grows with depth x batch. For large batches (the wasm heap stops at 4 GiB).
   */
  checkpoint?: boolean;
}

export interface EncoderRunOptions extends CheckpointOptions {
  /** Per-block stochastic-depth scales (classifier training); index = block. */
  dropPath?: DropPathScales[];
  /** Return tokens before the final LayerNorm `norm` (default: after it, as MAE). */
  beforeNorm?: boolean;
}

function runBlocks(params: TensorMap, encoder: EncoderConfig, x: tf.Tensor3D, options: EncoderRunOptions): tf.Tensor3D {
  const runBlock = options.checkpoint ? checkpointedBlock : block;
  let tokens = x;
  for (let i = 0; i < encoder.depth; i++) {
    tokens = runBlock(params, `blocks.${i}`, tokens, encoder.heads, encoder.layerNormEps, options.dropPath?.[i]);
  }
  if (options.beforeNorm) return tokens;
  return layerNorm(params, 'norm', tokens, encoder.layerNormEps) as tf.Tensor3D;
}

/**
 * MAE's forward_encoder: embeds the patches, keeps the visible ones, prepends CLS, runs the blocks.
 * @param imgs [N, H, W, C] normalised images
 * @param masking from randomMasking (batch N, L patches)
 * @returns latent [N, 1+Lk, D], after the final norm (CLS first, then visible tokens in shuffled order)
 */
export function forwardEncoder(params: TensorMap, encoder: EncoderConfig, imgs: tf.Tensor4D, masking: Masking, options: CheckpointOptions = {}): tf.Tensor3D {
  checkImages(imgs, encoder, 'forwardEncoder');
  if (masking.batch !== imgs.shape[0]) throw new Error(`forwardEncoder: masking is for ${masking.batch} images, batch has ${imgs.shape[0]}`);
  return tf.tidy(() => {
    const embedded = embedPatches(params, encoder, imgs);
    const visible = tf.matMul(selectionMatrix(masking), embedded) as tf.Tensor3D; // [N, Lk, D]
    return runBlocks(params, encoder, prependClsToken(params, visible), { checkpoint: options.checkpoint });
  });
}

/**
 * The un-masked encoder on full images (target encoders, classifiers, embeddings). Works on any Map
 * holding the encoder names, e.g. a non-trainable copy.
 * @param imgs [N, H, W, C] normalised images
 * @returns tokens [N, 1+L, D]: CLS then patches in row-major order, after the final norm unless
 *   options.beforeNorm
 */
export function forwardFeatures(params: TensorMap, encoder: EncoderConfig, imgs: tf.Tensor4D, options: EncoderRunOptions = {}): tf.Tensor3D {
  checkImages(imgs, encoder, 'forwardFeatures');
  return tf.tidy(() => runBlocks(params, encoder, prependClsToken(params, embedPatches(params, encoder, imgs)), options));
}

/**
 * MAE's forward_decoder: embeds the latent to the decoder width, fills removed positions with the mask
 * token, unshuffles, adds position embeddings, runs the decoder blocks and norm, and applies every
 * prediction head of config.heads.
 * @param latent [N, 1+Lk, D] from forwardEncoder with the same masking
 * @returns head name -> predictions [N, L, K] (CLS dropped), in config.heads order
 */
export function forwardDecoder(
  params: TensorMap,
  config: MaeConfig,
  latent: tf.Tensor3D,
  masking: Masking,
  options: CheckpointOptions = {},
): Map<string, tf.Tensor3D> {
  const { decoder, encoder } = config;
  const names = Object.keys(config.heads);
  const outputs = tf.tidy(() => {
    const x = linear(params, 'decoder_embed', latent) as tf.Tensor3D; // [N, 1+Lk, Dd]
    const [n, , dd] = x.shape;
    const cls = tf.slice(x, [0, 0, 0], [-1, 1, -1]);
    const visible = tf.slice(x, [0, 1, 0], [-1, -1, -1]); // [N, Lk, Dd], shuffled order
    const placed = tf.matMul(scatterMatrix(masking), visible); // [N, L, Dd], zeros where removed
    const removed = tf.reshape(maskTensor(masking), [n, masking.numPatches, 1]);
    const filled = tf.add(placed, tf.mul(removed, tf.reshape(param(params, 'mask_token'), [1, 1, dd])));
    let tokens = tf.add(tf.concat([cls, filled], 1), param(params, 'decoder_pos_embed')) as tf.Tensor3D;
    const runBlock = options.checkpoint ? checkpointedBlock : block;
    for (let i = 0; i < decoder.depth; i++) {
      tokens = runBlock(params, `decoder_blocks.${i}`, tokens, decoder.heads, encoder.layerNormEps);
    }
    tokens = layerNorm(params, 'decoder_norm', tokens, encoder.layerNormEps) as tf.Tensor3D;
    const patchTokens = tf.slice(tokens, [0, 1, 0], [-1, -1, -1]);
    return names.map((name) => linear(params, predictionHeadName(name), patchTokens) as tf.Tensor3D);
  });
  return new Map(names.map((name, i) => [name, outputs[i]]));
}

/**
 * MAE's norm_pix_loss target normalisation: per patch, (t - mean) / sqrt(var + 1e-6), with the
 * unbiased variance (torch.var's default, as MAE).
 * @param target [N, L, K] @returns [N, L, K]
 */
export function normalisePixelTarget(target: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const k = target.shape[2];
    const mean = tf.mean(target, -1, true);
    const centred = tf.sub(target, mean);
    const variance = tf.div(tf.sum(tf.square(centred), -1, true), k - 1);
    return tf.div(centred, tf.sqrt(tf.add(variance, NORM_PIX_EPS))) as tf.Tensor3D;
  });
}

/**
 * MAE's forward_loss: per-patch mean squared error, averaged over the removed patches only.
 * @param pred [N, L, K]
 * @param target [N, L, K] (e.g. patchify(imgs) or target-encoder tokens)
 * @param mask [N, L], 1 = removed
 * @param options.normPix normalise each target patch first (pixel targets with normPixLoss)
 * @returns scalar loss
 */
export function forwardLoss(pred: tf.Tensor3D, target: tf.Tensor3D, mask: tf.Tensor2D, options: { normPix?: boolean } = {}): tf.Scalar {
  if (pred.shape.join() !== target.shape.join()) throw new Error(`forwardLoss: pred [${pred.shape}] and target [${target.shape}] differ`);
  if (mask.shape[0] !== pred.shape[0] || mask.shape[1] !== pred.shape[1]) {
    throw new Error(`forwardLoss: mask [${mask.shape}] does not match pred [${pred.shape}] (need [N, L])`);
  }
  return tf.tidy(() => {
    const t = options.normPix ? normalisePixelTarget(target) : target;
    const perPatch = tf.mean(tf.squaredDifference(pred, t), -1); // [N, L]
    return tf.div(tf.sum(tf.mul(perPatch, mask)), tf.sum(mask)) as tf.Scalar;
  });
}

/**
 * LayerNorm without affine over each target token (feature targets, as BootMAE / data2vec).
 * @param tokens [N, L, D] @returns [N, L, D]
 */
export function normaliseFeatureTarget(tokens: tf.Tensor3D, eps = 1e-6): tf.Tensor3D {
  return normaliseLastAxis(tokens, eps) as tf.Tensor3D;
}

/**
 * forwardEncoder then forwardDecoder: what a pre-training step needs from the model.
 * @returns predictions per head [N, L, K] and the mask [N, L] (1 = removed)
 */
export function forwardMae(
  params: TensorMap,
  config: MaeConfig,
  imgs: tf.Tensor4D,
  masking: Masking,
  options: CheckpointOptions = {},
): { predictions: Map<string, tf.Tensor3D>; mask: tf.Tensor2D } {
  const latent = forwardEncoder(params, config.encoder, imgs, masking, options);
  const predictions = forwardDecoder(params, config, latent, masking, options);
  latent.dispose();
  return { predictions, mask: maskTensor(masking) };
}

/**
 * The plain MAE objective on one batch (pixel target, config.normPixLoss): the loss of the 'pixels'
 * head. Bootstrap targets build their loss from forwardMae's predictions instead.
 * @returns scalar loss
 */
export function pixelLoss(params: TensorMap, config: MaeConfig, imgs: tf.Tensor4D, masking: Masking, options: CheckpointOptions = {}): tf.Scalar {
  return tf.tidy(() => {
    const { predictions, mask } = forwardMae(params, config, imgs, masking, options);
    const pred = predictions.get('pixels');
    if (!pred) throw new Error(`pixelLoss: the model has no 'pixels' head (heads: ${[...predictions.keys()].join(', ')})`);
    return forwardLoss(pred, patchify(imgs, config.encoder.patchSize), mask, { normPix: config.normPixLoss });
  });
}
